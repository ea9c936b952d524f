"""`template [--out PATH] [--refresh] [--workbook PATH]`: build the mapping workbook, or refresh the
lists of HR's workbook from the live masters and the ledger (every value HR entered is kept)."""
from __future__ import annotations

from etl.app.context import Context
from etl.app.options import TemplateOptions
from etl.errors import Problem, UsageError, WorkbookError
from etl.fileio import from_cwd
from etl.workbook.refresh import refresh
from etl.workbook.template import build_template


def template_command(ctx: Context, opts: TemplateOptions) -> int:
    if opts.refresh:
        return _refresh_command(ctx, opts)
    if opts.workbook:
        raise UsageError("--workbook は --refresh と一緒に使います。新しいテンプレートの出力先は --out で指定してください。")
    if opts.out:
        path = from_cwd(opts.out)
    else:
        path = ctx.settings.path("workbook")
        if path.exists():
            raise UsageError(f"{path} は既にあります。上書きしないように止めました。入力済みのブックの一覧を更新するなら "
                             "`template --refresh`、新しく作るなら `template --out 別のパス` を使ってください。")
    build_template(path)
    ctx.out(f"テンプレートを作成しました: {path}")
    return 0


def _refresh_command(ctx: Context, opts: TemplateOptions) -> int:
    settings = ctx.settings
    path = ctx.workbook_path(opts.workbook)
    if not path.exists():
        p = Problem.of("workbook-not-found", path=path)
        raise WorkbookError(p.message, [p])
    dest = from_cwd(opts.out) if opts.out else None
    masters = ctx.client().masters()
    ledger = ctx.ledger()
    # the backup goes under the reports folder: never an untracked file beside the workbook
    result = refresh(path, masters, ledger.departments(), ledger.employee_classes(), settings.clock.now(), dest=dest,
                     backup_dir=settings.path("reports") / "backups")
    ctx.out(f"ブックを更新しました: {result.path}")
    ctx.out(f"  勤怠所属 {len(masters.divisions)} 件・勤怠雇用区分 {len(masters.working_types)} 件の一覧を反映")
    if result.added_departments or result.added_classes:
        automatic = len(result.auto_departments) + len(result.auto_classes)
        to_fill = len(result.added_departments) + len(result.added_classes) - automatic
        ctx.out(f"  未設定の行を追加: 部署 {len(result.added_departments)} 件・社員区分 {len(result.added_classes)} 件")
        if to_fill:
            ctx.out(f"    水色の {to_fill} 行: 勤怠側のコードをドロップダウンから選んでください")
        if automatic:
            ctx.out(f"    緑の {automatic} 行: 入力しなくても同じコードか同じ名前の勤怠の所属・雇用区分に連携されます"
                    " (連携先は備考に。変える場合だけ選んでください)")
    if result.backup:
        ctx.out(f"  元のブックのバックアップ: {result.backup}")
    return 0

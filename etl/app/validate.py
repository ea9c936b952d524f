"""`validate [--workbook PATH]`: read the workbook, check it against the live masters and the
ledger, write reports/<run>/ (result.json, errors.csv, report.html, the annotated copy).

Exit 0 when there is no error (warnings allowed), 3 otherwise. A file that cannot be opened at
all is one stderr line and exit 3 (the report folder still records it).
"""
from __future__ import annotations

from etl.app.context import Context
from etl.app.options import ValidateOptions
from etl.app.runner import mail_rule, run_job
from etl.errors import ERROR, WARNING, ExitCode, WorkbookError
from etl.report.labels import names_section
from etl.report.result import RunResult
from etl.sync import code_change, twins
from etl.workbook.validate import validate_book

CODE_CHANGE_FIELDS = ("birthDate", "hiredDate")  # what a probable code change is matched on (with the name)


def validate_command(ctx: Context, opts: ValidateOptions) -> int:
    path = ctx.workbook_path(opts.workbook)
    try:
        book = ctx.book(path)
    except WorkbookError as e:
        broken = e  # the except name is unbound after the block; keep it for the closure

        def fail(result: RunResult) -> None:
            result.meta["workbook"] = str(path)
            raise broken

        return run_job(ctx, "validate", fail)  # no annotated copy of a file that cannot be opened

    def body(result: RunResult) -> None:
        result.meta["workbook"] = str(path)
        client = ctx.client()
        masters = client.masters()
        result.sections["names"] = names_section(masters.divisions, masters.working_types)
        ledger = ctx.ledger()
        employees = ledger.employees()
        problems = validate_book(book, masters, employees, ctx.settings.clock.today())
        # code changes: 旧従業員番号 that cannot apply, and probable ones not yet confirmed (warnings)
        remote = client.employees(include_resigned=True, fields=CODE_CHANGE_FIELDS)
        problems += code_change.detect(employees, book, remote, ledger.links(), ctx.settings.clock.today()).problems
        # 123 and 00123 both in the ledger, neither declared another person: the sync registers neither
        problems += twins.twin_problems((e.code for e in employees), book, {str(r.get("code")) for r in remote},
                                        severity=WARNING)
        result.problems.extend(problems)
        errors = [p for p in problems if p.severity == ERROR]
        if errors:
            result.exit_code = ExitCode.INVALID_INPUT
            ctx.err(f"エラー: {path.name} に {len(errors)} 件のエラーがあります。最初のエラー: {errors[0].line()}"
                    " (セルに印を付けたコピーをレポートフォルダーに出力しました)")
        else:
            result.exit_code = ExitCode.SUCCESS
            ctx.out(f"{path.name}: エラーはありません (警告 {len(problems)} 件)。")

    return run_job(ctx, "validate", body, annotate_from=path, notify=mail_rule(ctx, path, asked=opts.mail))

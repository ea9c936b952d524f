"""`ledger load FILE` and `ledger export FILE`: the thin command shell over load / store / export.

load: the whole file is checked first (any error → exit 3, nothing written), then upserted by
code in one transaction. Employees missing from the file stay in the ledger; columns missing
from the file keep their ledger values. export: every employee, CSV or XLSX by extension.
"""
from __future__ import annotations

import dataclasses
from collections import Counter

from etl.app.context import Context
from etl.app.options import LedgerExportOptions, LedgerLoadOptions
from etl.app.runner import run_job
from etl.errors import UsageError
from etl.fileio import from_cwd
from etl.ledger.changes import complete, plan_rows
from etl.ledger.export import CSV_ENCODINGS, write_ledger_file
from etl.ledger.load import Limits, position, read_ledger
from etl.report.result import RunResult


def load_command(ctx: Context, opts: LedgerLoadOptions) -> int:
    path = from_cwd(opts.file)
    dry_run = opts.dry_run

    def body(result: RunResult) -> None:
        result.meta["file"] = str(path)
        ledger = ctx.ledger()
        current = {e.code: e for e in ledger.employees()}
        limits = Limits(max_rows=ctx.settings.ledger.max_rows)
        # a code equal to a ledger code up to leading zeros is one person twice unless --new-people says so
        parsed = read_ledger(path, existing=current, new_people=opts.new_people, limits=limits)
        result.problems.extend(parsed.problems)  # warnings only (errors raise)
        for p in parsed.problems:
            ctx.err(f"警告: {path.name} {position(p)}: {p.message}")
        departments = ledger.departments()
        employees = [complete(e, current.get(e.code), parsed.fields, departments) for e in parsed.employees]
        result.rows = plan_rows(employees, current, dry_run=True)  # "ok" only once the database confirms
        c = Counter(r.action for r in result.rows)
        figures = f"追加 {c['create']} 件・更新 {c['update']} 件・変更なし {c['unchanged']} 件"
        if dry_run:
            ctx.out(f"検証のみ (--dry-run): {path.name} の {len(employees)} 名に問題はありません。"
                    f"{figures} の予定です (台帳は変更していません)")
            return
        ledger.upsert_employees(employees)  # one transaction: all or nothing
        result.rows = [dataclasses.replace(r, result="ok") for r in result.rows]
        ctx.out(f"従業員台帳に取り込みました ({path.name}): {figures}")

    return run_job(ctx, "ledger-load", body, dry_run=dry_run)


def export_command(ctx: Context, opts: LedgerExportOptions) -> int:
    path = from_cwd(opts.file)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"出力ファイル {path.name} の拡張子は .csv か .xlsx にしてください")
    encoding = opts.encoding or "utf-8-sig"
    if encoding not in CSV_ENCODINGS:
        raise UsageError(f"--encoding は {' / '.join(CSV_ENCODINGS)} のどれかにしてください")
    if path.is_dir():
        raise UsageError(f"{path} はフォルダです。出力するファイル名を指定してください")
    label = "XLSX" if suffix == ".xlsx" else f"CSV ({'UTF-8 BOM 付き' if encoding == 'utf-8-sig' else 'Shift_JIS / cp932'})"

    def body(result: RunResult) -> None:
        employees = ctx.ledger().employees()
        write_ledger_file(path, employees, encoding)
        result.outputs.append(str(path))
        result.meta.update(file=str(path), employees=len(employees), format=label)
        ctx.out(f"従業員台帳の {len(employees)} 名を {label} で書き出しました: {path}")

    return run_job(ctx, "ledger-export", body)

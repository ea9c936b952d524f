"""`ledger load FILE` and `ledger export FILE`: the thin command shell over load / store / export.

load: the whole file is checked first (any error → exit 3, nothing written), then upserted by
code in one transaction. Employees missing from the file stay in the ledger; columns missing
from the file keep their ledger values. export: every employee, CSV or XLSX by extension.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from etl.errors import UsageError
from etl.jobs import ledger_for, run_job
from etl.records import EMPLOYEE_FIELDS, Employee, RowResult
from etl.report.result import RunResult


def ledger_command(ctx) -> int:
    action = ctx.args.ledger_command
    if action == "load":
        return load_command(ctx)
    if action == "export":
        return export_command(ctx)
    raise UsageError(f"ledger {action} というサブコマンドはありません (load / export)")


def _path(arg: str) -> Path:
    p = Path(arg).expanduser()
    return p if p.is_absolute() else Path.cwd() / p


def complete(new: Employee, old: Employee | None, fields: tuple[str, ...],
             departments: dict[str, str]) -> Employee:
    """Fields the file has no column for keep their ledger value (a new employee gets blanks);
    a missing 部署名 column takes the name the ledger knows for the 部署コード."""
    keep = {f: getattr(old, f) for f in EMPLOYEE_FIELDS if f not in fields} if old is not None else {}
    if "department_name" not in fields and "department_code" in fields:
        code = new.department_code
        same = old is not None and old.department_code == code
        keep["department_name"] = (departments.get(code) or (old.department_name if same else "")) if code else ""
    return dataclasses.replace(new, **keep) if keep else new


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def diff(old: Employee, new: Employee) -> dict[str, list]:
    return {f: [_plain(getattr(old, f)), _plain(getattr(new, f))]
            for f in EMPLOYEE_FIELDS if getattr(old, f) != getattr(new, f)}


def plan_rows(employees: list[Employee], current: dict[str, Employee], *, dry_run: bool) -> list[RowResult]:
    outcome = "planned" if dry_run else "ok"
    rows = []
    for e in employees:
        old = current.get(e.code)
        if old is None:
            rows.append(RowResult(e.code, "create", outcome))
        elif old != e:
            rows.append(RowResult(e.code, "update", outcome, changes=diff(old, e)))
        else:
            rows.append(RowResult(e.code, "unchanged", outcome))
    return rows


def load_command(ctx) -> int:
    from etl.ledger.load import position, read_ledger

    path = _path(ctx.args.file)
    dry_run = bool(getattr(ctx.args, "dry_run", False))

    def body(result: RunResult) -> None:
        result.meta["file"] = str(path)
        parsed = read_ledger(path)
        result.problems.extend(parsed.problems)  # warnings only (errors raise)
        for p in parsed.problems:
            ctx.err(f"警告: {path.name} {position(p)}: {p.message}")
        ledger = ledger_for(ctx.settings)
        current = {e.code: e for e in ledger.employees()}
        departments = ledger.departments()
        employees = [complete(e, current.get(e.code), parsed.fields, departments) for e in parsed.employees]
        result.rows = plan_rows(employees, current, dry_run=dry_run)
        c = result.counts()
        figures = f"追加 {c['created']} 件・更新 {c['updated']} 件・変更なし {c['unchanged']} 件"
        if dry_run:
            ctx.out(f"検証のみ (--dry-run): {path.name} の {len(employees)} 名に問題はありません。"
                    f"{figures} の予定です (台帳は変更していません)")
            return
        ledger.upsert_employees(employees)
        ctx.out(f"従業員台帳に取り込みました ({path.name}): {figures}")

    return run_job(ctx, "ledger-load", body, dry_run=dry_run)


def export_command(ctx) -> int:
    from etl.ledger.export import CSV_ENCODINGS, write_ledger_file

    path = _path(ctx.args.file)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"出力ファイル {path.name} の拡張子は .csv か .xlsx にしてください")
    encoding = getattr(ctx.args, "encoding", None) or "utf-8-sig"
    if encoding not in CSV_ENCODINGS:
        raise UsageError(f"--encoding は {' / '.join(CSV_ENCODINGS)} のどれかにしてください")
    if path.is_dir():
        raise UsageError(f"{path} はフォルダです。出力するファイル名を指定してください")
    label = "XLSX" if suffix == ".xlsx" else f"CSV ({'UTF-8 BOM 付き' if encoding == 'utf-8-sig' else 'Shift_JIS / cp932'})"

    def body(result: RunResult) -> None:
        employees = ledger_for(ctx.settings).employees()
        write_ledger_file(path, employees, encoding)
        result.outputs.append(str(path))
        result.meta.update(file=str(path), employees=len(employees), format=label)
        ctx.out(f"従業員台帳の {len(employees)} 名を {label} で書き出しました: {path}")

    return run_job(ctx, "ledger-export", body)

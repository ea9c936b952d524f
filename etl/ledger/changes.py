"""What a ledger load changes: the file's rows completed from the ledger, compared with it (pure)."""
from __future__ import annotations

import dataclasses
import datetime as dt

from etl.records import EMPLOYEE_FIELDS, Employee, RowResult


def complete(new: Employee, old: Employee | None, fields: tuple[str, ...],
             departments: dict[str, str]) -> Employee:
    """Fields the file has no column for keep their ledger value (a new employee gets blanks);
    a missing 部署名 column takes the name the ledger knows for the 部署コード."""
    keep = {f: getattr(old, f) for f in EMPLOYEE_FIELDS if f not in fields} if old is not None else {}
    if "department_name" not in fields and "department_code" in fields:
        code = new.department_code
        known = old.department_name if old is not None and old.department_code == code else ""
        keep["department_name"] = (departments.get(code) or known) if code else ""
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
        name = f"{e.last_name} {e.first_name}".strip()  # the report shows who, not only the code
        if old is None:
            rows.append(RowResult(e.code, "create", outcome, name=name))
        elif old != e:
            rows.append(RowResult(e.code, "update", outcome, changes=diff(old, e), name=name))
        else:
            rows.append(RowResult(e.code, "unchanged", outcome, name=name))
    return rows

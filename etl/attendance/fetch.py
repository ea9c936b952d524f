"""The attendance side's input to an import: the month's figures and who each key is (I/O).

One ``/monthly-workings/{YYYY-MM}`` request, or one per division when
``[attendance_api] split_by_division`` is on (very large tenants); an employee who shows up
under two divisions is kept once. Keys become codes through ``/employees`` (resigned included)
and, for keys that list lacks, the ledger's links.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from etl.attendance.transform import Person, directory

log = logging.getLogger(__name__)


def division_codes(divisions: Iterable[Any] | Mapping[str, Any]) -> list[str]:
    """Codes from ``client.divisions()`` (a list of {code, name}) or a code → name mapping."""
    if isinstance(divisions, Mapping):
        return [str(c) for c in divisions]
    return [str(d["code"]) for d in divisions if isinstance(d, Mapping) and d.get("code")]


def fetch_month(client, month: str, *, split_by_division: bool = False) -> list[dict]:
    """Every employee's /monthly-workings entry for ``month``."""
    if not split_by_division:
        return list(client.monthly_workings(month) or [])
    seen: set[str] = set()
    out: list[dict] = []
    for code in division_codes(client.divisions()):
        entries = client.monthly_workings(month, division=code) or []
        log.info("monthly-workings %s division %s: %d", month, code, len(entries))
        for entry in entries:
            key = entry.get("employeeKey")
            if key in seen:
                continue
            seen.add(key)
            out.append(entry)
    return out


def people(client, ledger) -> tuple[dict[str, Person], list]:
    """employeeKey → Person, and the ledger's employees (for names and the roster check)."""
    employees = ledger.employees()
    remote = client.employees(include_resigned=True) or []
    return directory(remote, ledger.links(), employees), employees

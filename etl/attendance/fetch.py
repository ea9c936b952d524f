"""The attendance side's input to an import: the month's figures and who each key is (I/O).

One ``/monthly-workings/{YYYY-MM}`` request (asking for ``weeklyWork`` through additionalFields),
or one per division when ``[attendance_api] split_by_division`` is on (very large tenants); an
employee who shows up under two divisions is kept once. The answer is decoded straight into the
typed entries the transform reads (``entries.decode_month``). Keys become codes through
``/employees`` (resigned included) and, for keys that list lacks, the ledger's links.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from etl.attendance import leave
from etl.attendance.entries import decode_month, entry_key
from etl.attendance.items import MONTHLY_ADDITIONAL_FIELDS
from etl.attendance.transform import Person, directory
from etl.errors import Problem, RowFailed

log = logging.getLogger(__name__)


def division_codes(divisions: Iterable[Any] | Mapping[str, Any]) -> list[str]:
    """Codes from ``client.divisions()`` (a list of {code, name}) or a code → name mapping."""
    if isinstance(divisions, Mapping):
        return [str(c) for c in divisions]
    return [str(d["code"]) for d in divisions if isinstance(d, Mapping) and d.get("code")]


def _month(client, month: str, division: str | None = None) -> list[Any]:
    return list(client.monthly_workings(month, division=division, fields=MONTHLY_ADDITIONAL_FIELDS,
                                        decode=decode_month) or [])


def fetch_month(client, month: str, *, split_by_division: bool = False) -> list[Any]:
    """Every employee's /monthly-workings entry for ``month`` (``Entry`` structs, or dicts when an
    answer did not fit the types; the transform takes both)."""
    if not split_by_division:
        return _month(client, month)
    seen: set[Any] = set()
    out: list[Any] = []
    for code in division_codes(client.divisions()):
        entries = _month(client, month, code)
        log.info("monthly-workings %s division %s: %d", month, code, len(entries))
        for entry in entries:
            key = entry_key(entry)
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



def fetch_leave(client, today: dt.date, paid_leave_codes: Iterable[str], *, start_month: int = 4,
                type_codes: Iterable[str] | None = None) -> tuple[leave.LeaveBook | None, list[Problem]]:
    """The paid leave every relevant grant needs (KOT_API.md §2.6): every employment type × the
    年度s of the last two years, then any 年度 a grant's year touches (leave.years_needed).

    ``start_month`` only guesses the first 年度s; the answers' own startDate/endDate decide the rest.
    An answer the API refuses (the token lacks the right, the feature is off), or one of a shape
    that cannot be read (leave.shape_problem), stops the check: (None, [a problem naming the
    request and the reason]), so that partial data never reports a shortfall that is not there
    (nor hides one).
    """
    codes = [str(c) for c in paid_leave_codes]
    types = [str(t) for t in type_codes] if type_codes is not None else \
        [str(t["code"]) for t in client.working_types() or [] if isinstance(t, Mapping) and t.get("code")]
    answers: list[dict] = []
    asked: set[int] = set()
    years = leave.first_years(today, start_month)
    book = leave.read_answers(answers, codes)
    while years:
        for year in years:
            asked.add(year)
            for type_code in types:
                try:
                    answer = client.yearly_holidays(type_code, year)
                except RowFailed as e:
                    return None, [Problem.of("paid-leave-check-unavailable",
                                             value=f"雇用区分 {type_code} の {year}年度", reason=str(e))]
                wrong = leave.shape_problem(answer)
                if wrong is not None:  # never read in part: the check says it could not run
                    return None, [Problem.of("paid-leave-check-unavailable",
                                             value=f"雇用区分 {type_code} の {year}年度", reason=wrong)]
                answers.append(dict(answer))
        book = leave.read_answers(answers, codes)
        years = [y for y in leave.years_needed(book, today) if y not in asked]
    log.info("yearly-workings/holidays: %d 件 (雇用区分 %d × 年度 %s)", len(answers), len(types), sorted(asked))
    return book, []


def paid_leave_check(client, people: Mapping[str, Person], employees: Iterable[Any], today: dt.date, *,
                     paid_leave_codes: Iterable[str], start_month: int = 4) -> tuple[list[Problem], dict]:
    """The 年5日 check of an import or a `run`: its problems and the report's part
    (sections["attendance"]["paid_leave"]); when the API refuses the leave data, one problem
    that says so and a part that names it (the check is never silently skipped)."""
    book, problems = fetch_leave(client, today, paid_leave_codes, start_month=start_month)
    if book is None:
        return problems, {"checked": None, "rows": [], "unavailable": [p.message for p in problems]}
    resigned = {e.code: e.resignation_date for e in employees if getattr(e, "resignation_date", None)}
    found, part = leave.findings(book, {k: (p.code, p.name) for k, p in people.items()}, today, resigned)
    divisions = {p.code: f"{p.division_code} {p.division_name}".strip() for p in people.values()}
    for row in part["rows"]:  # the labour-law section shows each employee's 所属 (「1000 本社」)
        row.setdefault("division", divisions.get(str(row.get("employee_code")), ""))
    return found, part

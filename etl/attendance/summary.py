"""The attendance section of the report (pure): totals by division, employees over a 36協定
threshold, and the closed-month corrections. Hours are numbers (2 decimals) for the charts;
the messages carry the H:MM figures."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from etl.attendance.checks import DEFAULT_LIMITS, Figures, Limits
from etl.attendance.transform import MonthTable
from etl.errors import CATALOGUE, ERROR, Problem

NO_DIVISION = "(所属なし)"


def hours(minutes: float) -> float:
    return round(minutes / 60, 2)


def by_division(divisions: list[str], names: list[str], overtime: Iterable[Any]) -> list[dict]:
    """Per division: total 時間外 (H:MM) and the number of employees, sorted by division."""
    totals: dict[tuple[str, str], list[int]] = {}
    for code, name, minutes in zip(divisions, names, overtime, strict=True):
        entry = totals.setdefault((code or "", name or ""), [0, 0])
        entry[0] += int(minutes)
        entry[1] += 1
    return [{"division": f"{c} {n}".strip() or NO_DIVISION, "overtime_hours": hours(m), "employees": count}
            for (c, n), (m, count) in sorted(totals.items())]


def over_threshold(problems: Iterable[Problem], current: Mapping[str, Figures],
                   people: Mapping[str, tuple[str, str]]) -> list[dict]:
    """Employees with a 36協定 finding: errors first, then by 時間外 + 休日 descending; ``findings``
    names the limits each one is over (a yearly or an average limit can be over in a light month)."""
    level: dict[str, str] = {}
    titles: dict[str, list[str]] = {}
    for p in problems:
        if p.employee_code and p.code.startswith("overtime-"):
            if p.severity == ERROR or p.employee_code not in level:
                level[p.employee_code] = p.severity
            title = CATALOGUE[p.code].title if p.code in CATALOGUE else p.code
            if title not in titles.setdefault(p.employee_code, []):
                titles[p.employee_code].append(title)
    rows = []
    for code, severity in level.items():
        f = current.get(code, Figures(0, 0))
        name, division = people.get(code, ("", ""))
        rows.append({"employee_code": code, "name": name, "division": division,
                     "overtime_hours": hours(f.overtime), "overtime_plus_holiday_hours": hours(f.overtime_plus_holiday),
                     "level": severity, "findings": titles.get(code, []),
                     "_sort": (severity != ERROR, -f.overtime_plus_holiday, code)})
    rows.sort(key=lambda r: r["_sort"])  # type: ignore[arg-type,return-value]  # a tuple, built just above
    for r in rows:
        del r["_sort"]
    return rows


def attendance_section(month: str, is_closed: bool, table: MonthTable, law: list[Problem],
                       current: Mapping[str, Figures], corrections: list[dict], limits: Limits = DEFAULT_LIMITS,
                       *, missing: Iterable[tuple[str, str]] = (), paid_leave: dict | None = None) -> dict:
    """result.sections["attendance"] for the HTML report: the month's totals and its labour-law
    findings; ``missing`` the months the history lacks (checks.missing_months), ``paid_leave``
    the 年5日 part (fetch.paid_leave_check)."""
    codes = table.column("employee_code")
    division_codes = table.column("division_code")
    division_names = table.column("division_name")
    flagged = {p.employee_code for p in law}
    people = {c: (n, f"{dc} {dn}".strip())
              for c, n, dc, dn in zip(codes, table.column("name"), division_codes, division_names, strict=True)
              if c in flagged}
    return {
        "month": month,
        "is_closed": is_closed,
        "employees": len(table),
        "by_division": by_division(division_codes, division_names, table.column("overtime_minutes")),
        "over_threshold": over_threshold(law, current, people),
        "corrections": corrections,
        "overtime_month_hours": hours(limits.month_minutes),  # the charts' reference lines
        "overtime_single_month_limit_hours": hours(limits.single_month_minutes),
        "history_missing": [{"month": m, "what": what} for m, what in missing],
        **({"paid_leave": paid_leave} if paid_leave is not None else {}),
    }


def leave_only_section(paid_leave: dict) -> dict:
    """sections["attendance"] of a job that checked the 年5日 rule without importing a month."""
    return {"paid_leave": paid_leave}

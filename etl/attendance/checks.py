"""Checks on a month of attendance (pure): closing, roster, 36協定 and closed-month corrections.

Thresholds come from ``Limits`` (settings [attendance]); totals follow items.LAW_OVERTIME and
items.LAW_OVERTIME_PLUS_HOLIDAY. Comparisons are in whole minutes:

* 時間外労働 over the month limit (45:00 is not over, 45:01 is)              → warning
* 時間外 + 休日労働 at or above the single-month limit (100:00 is a breach)  → error
* the 2–6-month averages of 時間外 + 休日 over the limit (exactly 80:00 is not) → error
* more months over the month limit in the fiscal year than allowed (6)      → error
* fiscal-year 時間外 over 720 h → error; else over 360 h → warning
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from etl.attendance.items import BY_KEY, LAW_OVERTIME, LAW_OVERTIME_PLUS_HOLIDAY, MINUTES
from etl.errors import ERROR, WARNING, Problem


@dataclass(frozen=True)
class Limits:
    month_minutes: int = 45 * 60
    year_minutes: int = 360 * 60
    year_special_minutes: int = 720 * 60
    single_month_minutes: int = 100 * 60
    average_minutes: int = 80 * 60
    months_over_per_year: int = 6
    fiscal_year_start_month: int = 4

    @classmethod
    def from_settings(cls, section: Any) -> Limits:
        """From settings.attendance (hours, possibly fractional) to whole minutes."""
        def minutes(hours: float) -> int:
            return round(float(hours) * 60)
        return cls(month_minutes=minutes(section.overtime_month_hours),
                   year_minutes=minutes(section.overtime_year_hours),
                   year_special_minutes=minutes(section.overtime_year_special_hours),
                   single_month_minutes=minutes(section.overtime_single_month_limit_hours),
                   average_minutes=minutes(section.overtime_average_limit_hours),
                   months_over_per_year=int(section.months_over_limit_per_year),
                   fiscal_year_start_month=int(section.fiscal_year_start_month))


def hm(minutes: float) -> str:
    """Minutes as H:MM: 2701 → '45:01' (the figures in messages and the report)."""
    m = int(minutes)
    sign, m = ("-", -m) if m < 0 else ("", m)
    return f"{sign}{m // 60}:{m % 60:02d}"


DEFAULT_LIMITS = Limits()


def hours(minutes: int) -> str:
    """A limit in hours as written in settings: 2700 → '45', 2550 → '42.5'."""
    return f"{minutes / 60:g}"


# --- months ----------------------------------------------------------------------------------

def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    index = y * 12 + (m - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    first = dt.date(int(month[:4]), int(month[5:7]), 1)
    nxt = dt.date.fromisoformat(add_months(month, 1) + "-01")
    return first, nxt - dt.timedelta(days=1)


def fiscal_months(month: str, start_month: int) -> list[str]:
    """The months of the fiscal year (36協定の対象期間) from its first month up to ``month``."""
    m = int(month[5:7])
    back = (m - start_month) % 12
    return [add_months(month, -k) for k in range(back, -1, -1)]


def history_months(month: str, limits: Limits) -> list[str]:
    """The months before ``month`` whose figures the checks need from the ledger: the previous
    five (for the 2–6-month averages) and the fiscal year so far."""
    wanted = {add_months(month, -k) for k in range(1, 6)}
    wanted.update(fiscal_months(month, limits.fiscal_year_start_month)[:-1])
    return sorted(wanted)


def missing_months(month: str, limits: Limits, held: Iterable[str]) -> list[tuple[str, str]]:
    """The months the checks of ``month`` need that the ledger does not hold, with what they
    stop: the 2–6-month averages (the five months before) and the fiscal year so far (360 / 720 h,
    months over 45 h). An average is not computed past a missing month; the year sums the months held."""
    have = set(held)
    averaged = {add_months(month, -k) for k in range(1, 6)}
    yearly = set(fiscal_months(month, limits.fiscal_year_start_month)[:-1])
    out = []
    for m in sorted((averaged | yearly) - have):
        out.append((m, "平均と年度の合計" if m in averaged and m in yearly else ("平均" if m in averaged else "年度の合計")))
    return out


def missing_history(month: str, limits: Limits, held: Iterable[str]) -> list[Problem]:
    """Each missing month by name (history-month-missing): said, never skipped."""
    return [Problem.of("history-month-missing", value=m, what=what) for m, what in missing_months(month, limits, held)]


# --- closing and roster ----------------------------------------------------------------------

def is_closed(closing: Sequence[Any]) -> bool:
    """A month is closed when every employee's figures are closed (and there are some)."""
    return len(closing) > 0 and all(bool(c) for c in closing)


def closing_problems(month: str, closing: Sequence[Any], *, require_closed: bool = False) -> list[Problem]:
    if is_closed(closing):
        return []
    return [Problem.of("month-not-closed", value=month, severity=ERROR if require_closed else WARNING)]


def roster_problems(month: str, codes: Iterable[str], employees: Iterable[Any], unknown_keys: Iterable[str] = (),
                    names_by_code: Mapping[str, str] | None = None, *, excluded: Iterable[str] = (),
                    hired_only: bool = False) -> list[Problem]:
    """Active ledger employees with no attendance, and attendance the ledger does not know.

    An employee counts as active in the month when hired on or before its last day (or with
    no hired date, unless only employees with a hired date are synced) and not resigned before
    its first day; employees excluded from the sync (個別設定 連携除外) are expected to be absent.
    """
    first, last = month_bounds(month)
    present = set(codes)
    skip = set(excluded)
    problems = []
    ledger_codes = set()
    for e in employees:
        ledger_codes.add(e.code)
        if e.code in present or e.code in skip:
            continue
        if e.hired_date is None and hired_only:
            continue
        if (e.hired_date is None or e.hired_date <= last) and (e.resignation_date is None or e.resignation_date >= first):
            name = f"{e.last_name} {e.first_name}".strip()
            problems.append(Problem.of("no-attendance", employee_code=e.code, value=month,
                                       name=f" ({name})" if name else ""))
    names_by_code = names_by_code or {}
    for code in sorted(present - ledger_codes):  # HR knows people by code and name, never by the API's key
        problems.append(Problem.of("unknown-attendance-employee", employee_code=code, name=names_by_code.get(code, "")))
    for key in unknown_keys:  # no code anywhere: a short form of the key is all there is to show
        problems.append(Problem.of("attendance-employee-unidentified", value=f"{key[:8]}…" if len(key) > 8 else key))
    return problems


# --- 36協定 ------------------------------------------------------------------------------------

class Figures(NamedTuple):
    """One employee's month for the 36協定 checks, in minutes."""

    overtime: int  # 時間外労働
    overtime_plus_holiday: int  # 時間外 + 法定休日労働


def figures(record: Mapping[str, Any]) -> Figures:
    return Figures(int(sum(record.get(k) or 0 for k in LAW_OVERTIME)),
                   int(sum(record.get(k) or 0 for k in LAW_OVERTIME_PLUS_HOLIDAY)))


def history_index(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Figures]]:
    """Ledger rows (monthly_history) → employee code → month → Figures."""
    out: dict[str, dict[str, Figures]] = {}
    for r in rows:
        out.setdefault(str(r["employee_code"]), {})[str(r["month"])] = figures(r)
    return out


def labour_law_problems(month: str, current: Mapping[str, Figures], history: Mapping[str, Mapping[str, Figures]],
                        limits: Limits = DEFAULT_LIMITS) -> list[Problem]:
    """Every 36協定 finding for ``month``: ``current`` is this month's figures by employee code,
    ``history`` the ledger's earlier months (the current month in it is ignored)."""
    problems: list[Problem] = []
    fy = fiscal_months(month, limits.fiscal_year_start_month)
    windows = [add_months(month, 1 - span) for span in range(1, 7)]  # this month, the one before…
    for code, now in current.items():
        past = history.get(code, {})

        def at(m: str, now: Figures = now, past: Mapping[str, Figures] = past) -> Figures | None:
            return now if m == month else past.get(m)

        if now.overtime > limits.month_minutes:
            problems.append(Problem.of("overtime-month-45h", employee_code=code, value=month, figure=hm(now.overtime),
                                       limit=hours(limits.month_minutes)))
        if now.overtime_plus_holiday >= limits.single_month_minutes:
            problems.append(Problem.of("overtime-month-100h", employee_code=code, value=month,
                                       figure=hm(now.overtime_plus_holiday), limit=hours(limits.single_month_minutes)))
        worst = _worst_average(windows, at, limits)
        if worst is not None:
            span, average = worst
            window = f"{add_months(month, 1 - span)}〜{month} ({span}か月)"
            problems.append(Problem.of("overtime-average-80h", employee_code=code, value=window, figure=hm(average),
                                       limit=hours(limits.average_minutes)))
        year = [f for m in fy if (f := at(m)) is not None]
        over = sum(f.overtime > limits.month_minutes for f in year)
        if over > limits.months_over_per_year:
            problems.append(Problem.of("overtime-months-over-45h", employee_code=code, value=month, figure=str(over),
                                       limit=hours(limits.month_minutes), count=limits.months_over_per_year))
        total = sum(f.overtime for f in year)
        if total > limits.year_special_minutes:
            problems.append(Problem.of("overtime-year-720h", employee_code=code, value=month, figure=hm(total),
                                       limit=hours(limits.year_special_minutes)))
        elif total > limits.year_minutes:
            problems.append(Problem.of("overtime-year-360h", employee_code=code, value=month, figure=hm(total),
                                       limit=hours(limits.year_minutes)))
    return problems


def _worst_average(windows: list[str], at, limits: Limits) -> tuple[int, int] | None:
    """The 2–6-month window (ending with ``windows[0]``, every month known) with the highest
    average of 時間外 + 休日 above the limit: (months, average rounded up to the minute), else None."""
    worst: tuple[int, int] | None = None
    total = 0
    for span, m in enumerate(windows, start=1):
        f = at(m)
        if f is None:
            break
        total += f.overtime_plus_holiday
        if span >= 2 and total > limits.average_minutes * span:
            average = math.ceil(total / span)
            if worst is None or average > worst[1]:
                worst = (span, average)
    return worst


# --- closed-month corrections ---------------------------------------------------------------

COMPARED = ("period_start", "period_end", "working_days", "absent_days", "paid_leave_days", "late_count",
            "late_minutes", "early_leave_count", "early_leave_minutes", "total_work_minutes", "assigned_minutes",
            "unassigned_minutes", "overtime_minutes", "night_minutes", "holiday_work_minutes",
            "legal_holiday_work_minutes", "is_closing")


def _comparable(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in ("period_start", "period_end"):
        return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
    if key == "is_closing":
        return bool(value)
    return round(float(value), 4)


def _shown(key: str, value: Any) -> str:
    if value is None:
        return ""
    if BY_KEY[key].kind == MINUTES:
        return hm(value)
    if key == "is_closing":
        return "締め済み" if value else "未締め"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def corrections(month: str, new: Iterable[Mapping[str, Any]], old: Iterable[Mapping[str, Any]]
                ) -> tuple[list[Problem], list[dict[str, str]]]:
    """Closed months that came back different: 「締め後の修正」 problems and the changed fields
    ({employee_code, field, old, new}, the field by its 勤怠データ項目 label)."""
    before = {str(r["employee_code"]): r for r in old if r.get("is_closing")}
    problems: list[Problem] = []
    changes: list[dict[str, str]] = []
    if not before:
        return problems, changes
    for r in new:
        code = str(r["employee_code"])
        was = before.get(code)
        if was is None:
            continue
        diffs = [(k, was.get(k), r.get(k)) for k in COMPARED if _comparable(k, was.get(k)) != _comparable(k, r.get(k))]
        if not diffs:
            continue
        rows = [{"employee_code": code, "field": BY_KEY[k].label, "old": _shown(k, a), "new": _shown(k, b)}
                for k, a, b in diffs]
        changes.extend(rows)
        figure = "、".join(f"{c['field']} {c['old']} → {c['new']}" for c in rows)
        problems.append(Problem.of("closed-month-corrected", employee_code=code, value=month, figure=figure))
    return problems, changes

"""年5日の年次有給休暇 (労基法39条7項): the 5-day paid-leave check (pure).

Data: the answers of ``GET /yearly-workings/holidays/{employeeTypeCode}/{year}`` (KOT_API.md §2.6),
one per employment type and 年度. For every grant of at least 10 days (carried-over days are not
a grant), the days taken within one year of the grant date (基準日) must reach 5:

* only the paid-leave codes (``[attendance] paid_leave_codes``) count;
* ``days`` counts as given, so a half day is 0.5 (fractional numbers accepted);
* hour-based leave (``days`` 0 with ``minutes``: 時間単位年休) does not count toward the 5 days;
* the year runs from the grant date to the day before its anniversary (the deadline), and may
  span two 年度: every 年度 it touches is read (``years_needed``).

Findings, on ``today``: fewer than 5 days with the deadline within 3 months → a warning with the
days still needed; the deadline passed with fewer than 5 → an error (for deadlines in the last
12 months). An employee who resigned before the deadline is not held to it.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from etl.errors import ERROR, WARNING, Problem

MIN_GRANT_DAYS = 10
REQUIRED_DAYS = 5
WARN_MONTHS = 3  # the warning starts when the deadline is this close
LOOKBACK_MONTHS = 12  # missed deadlines reported for this long


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months; the 31st becomes the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def deadline(granted: dt.date) -> dt.date:
    """The last day of the year that starts on the grant date (2026-04-01 → 2027-03-31); with no
    corresponding day a year on (29 February), the month's last day (民法143条2項)."""
    anniversary = add_months(granted, 12)
    return anniversary if anniversary.day != granted.day else anniversary - dt.timedelta(days=1)


@dataclass(frozen=True)
class Grant:
    employee_key: str
    date: dt.date
    days: float
    code: str  # leave code


@dataclass(frozen=True)
class Use:
    date: dt.date
    days: float
    minutes: int
    code: str


@dataclass
class LeaveBook:
    """Every paid-leave grant and use read from the yearly answers, by employee key; the 年度s
    read ({year: (first day, last day)})."""

    grants: dict[str, list[Grant]]
    uses: dict[str, list[Use]]
    years: dict[int, tuple[dt.date, dt.date]]


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shape_problem(answer: object) -> str | None:
    """Why a yearly leave answer cannot be read (KOT_API.md §2.6), or None: an object whose
    ``year`` is a number, ``employees`` objects with ``holidays`` objects, and ``granted`` /
    ``obtained`` entries with a date and numeric ``days`` / ``minutes`` (absent = null). The
    check does not run on an answer it would have to guess at."""
    if not isinstance(answer, Mapping):
        return f"オブジェクトではない答え ({type(answer).__name__})"
    if not re.fullmatch(r"\d{4}", str(answer.get("year"))):
        return f"year が年度の数ではありません ({str(answer.get('year'))[:20]})"
    employees = answer.get("employees")
    if not isinstance(employees, list | None):
        return "employees が配列ではありません"
    for employee in employees or ():
        if not isinstance(employee, Mapping) or not isinstance(employee.get("holidays"), list | None):
            return "employees の要素が employeeKey と holidays (配列) を持つオブジェクトではありません"
        for holiday in employee.get("holidays") or ():
            if not isinstance(holiday, Mapping):
                return "holidays の要素がオブジェクトではありません"
            for name in ("granted", "obtained"):
                entries = holiday.get(name)
                if not isinstance(entries, list | None):
                    return f"holidays.{name} が配列ではありません"
                for entry in entries or ():
                    if not isinstance(entry, Mapping) or _date(entry.get("date")) is None:
                        return f"holidays.{name} に日付 (date) の読めない要素があります"
                    if any(entry.get(k) is not None and not _is_number(entry.get(k)) for k in ("days", "minutes")):
                        return f"holidays.{name} の days / minutes が数ではありません ({entry.get('date')})"
    return None


def read_answers(answers: Iterable[Mapping], paid_leave_codes: Iterable[str]) -> LeaveBook:
    """The yearly answers → a LeaveBook of the paid-leave codes. An employee listed by two
    answers for the same 年度 (two employment types) is read once."""
    codes = {str(c) for c in paid_leave_codes}
    grants: dict[str, list[Grant]] = {}
    uses: dict[str, list[Use]] = {}
    years: dict[int, tuple[dt.date, dt.date]] = {}
    seen: set[tuple[str, int]] = set()
    for answer in answers:
        year = int(answer.get("year") or 0)
        start, end = _date(answer.get("startDate")), _date(answer.get("endDate"))
        if start and end:
            years[year] = (start, end)
        for employee in answer.get("employees") or ():
            key = str(employee.get("employeeKey") or "")
            if not key or (key, year) in seen:
                continue
            seen.add((key, year))
            for holiday in employee.get("holidays") or ():
                code = str(holiday.get("code"))
                if code not in codes:
                    continue
                for g in holiday.get("granted") or ():
                    day = _date(g.get("date"))
                    if day is not None:
                        grants.setdefault(key, []).append(Grant(key, day, _number(g.get("days")), code))
                for o in holiday.get("obtained") or ():
                    day = _date(o.get("date"))
                    if day is not None:
                        uses.setdefault(key, []).append(Use(day, _number(o.get("days")),
                                                            int(_number(o.get("minutes"))), code))
    return LeaveBook(grants, uses, years)


# --- which 年度 to read ------------------------------------------------------------------------

def year_of(day: dt.date, known: tuple[int, dt.date]) -> int:
    """The 年度 of ``day``, from one known 年度 (number, first day): every 年度 starts on the same
    month and day."""
    number, first = known
    year = number + (day.year - first.year)
    if day < add_months(first, 12 * (year - number)):
        year -= 1
    return year


def first_years(today: dt.date, start_month: int) -> list[int]:
    """A first guess of the 年度s to read before any answer says where a 年度 starts: those that
    hold a grant whose deadline may still matter (grants of the last 24 months)."""
    def guess(day: dt.date) -> int:
        return day.year if day.month >= start_month else day.year - 1
    return list(range(guess(add_months(today, -(12 + LOOKBACK_MONTHS))), guess(today) + 1))


def years_needed(book: LeaveBook, today: dt.date) -> list[int]:
    """年度s not read yet (and that have begun): every 年度 that may hold a relevant grant, by the
    answers' own boundaries (the first guess may have assumed another start month), and every
    年度 a relevant grant's year touches."""
    if not book.years:
        return []
    number, (first, _) = next(iter(sorted(book.years.items())))
    earliest = add_months(today, -(12 + LOOKBACK_MONTHS))  # no relevant grant is older
    wanted: set[int] = set(range(year_of(earliest, (number, first)), year_of(today, (number, first)) + 1))
    for grants in book.grants.values():
        for g in grants:
            if not _relevant(g, today):
                continue
            last = min(deadline(g.date), today)
            wanted.update(range(year_of(g.date, (number, first)), year_of(last, (number, first)) + 1))
    return sorted(wanted - set(book.years))


def _relevant(g: Grant, today: dt.date) -> bool:
    return g.days >= MIN_GRANT_DAYS and g.date <= today and deadline(g.date) >= add_months(today, -LOOKBACK_MONTHS)


# --- the rule ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Status:
    """One grant of 10 days or more and the days taken in its year."""

    employee_key: str
    employee_code: str
    granted_on: dt.date
    granted_days: float
    taken_days: float
    deadline: dt.date
    severity: str  # "" (on track or not yet due), warning, error

    @property
    def needed(self) -> float:
        return max(0.0, REQUIRED_DAYS - self.taken_days)

    def row(self, name: str = "") -> dict:
        """The report's row (sections["attendance"]["paid_leave"])."""
        return {"employee_code": self.employee_code, "name": name, "granted_on": self.granted_on.isoformat(),
                "granted_days": days_text(self.granted_days), "taken_days": days_text(self.taken_days),
                "needed_days": days_text(self.needed), "deadline": self.deadline.isoformat(), "level": self.severity}


def days_text(days: float) -> str:
    """4.5 → '4.5', 5.0 → '5'."""
    return f"{days:g}"


def taken_in_year(uses: Iterable[Use], granted_on: dt.date) -> float:
    """Days of paid leave taken from the grant date to its deadline; hour-based leave is left out."""
    last = deadline(granted_on)
    return sum(u.days for u in uses if granted_on <= u.date <= last and u.days > 0)


def five_day_statuses(book: LeaveBook, codes: Mapping[str, str], today: dt.date,
                      resigned: Mapping[str, dt.date | None] | None = None) -> list[Status]:
    """Every relevant grant of 10 days or more (by employee code, then grant date)."""
    resigned = resigned or {}
    out: list[Status] = []
    for key, grants in book.grants.items():
        code = codes.get(key, "")
        uses = book.uses.get(key, [])
        for g in sorted(set(grants), key=lambda x: (x.date, x.days)):
            if not _relevant(g, today):
                continue
            last = deadline(g.date)
            left = resigned.get(code)
            if left is not None and left < last:
                continue  # resigned before the deadline: the obligation ended with the employment
            taken = taken_in_year(uses, g.date)
            severity = ""
            if taken < REQUIRED_DAYS:
                if last < today:
                    severity = ERROR
                elif last <= add_months(today, WARN_MONTHS):
                    severity = WARNING
            out.append(Status(key, code, g.date, g.days, taken, last, severity))
    out.sort(key=lambda s: (s.employee_code or "\uffff" + s.employee_key, s.granted_on))
    return out


def five_day_problems(statuses: Iterable[Status]) -> list[Problem]:
    """A warning or an error for each grant that is short of 5 days (see the module docstring)."""
    problems = []
    for s in statuses:
        if not s.severity:
            continue
        who = s.employee_code or f"(キー {s.employee_key})"
        code = "paid-leave-5days-missed" if s.severity == ERROR else "paid-leave-5days-short"
        problems.append(Problem.of(code, employee_code=s.employee_code, value=s.granted_on.isoformat(),
                                   who=who, granted=days_text(s.granted_days), taken=days_text(s.taken_days),
                                   needed=days_text(s.needed), deadline=s.deadline.isoformat()))
    return problems


def findings(book: LeaveBook, people: Mapping[str, tuple[str, str]], today: dt.date,
             resigned: Mapping[str, dt.date | None] | None = None) -> tuple[list[Problem], dict]:
    """The problems and the report's part (sections["attendance"]["paid_leave"]): ``people`` is
    employeeKey → (code, name). The part counts the grants checked and lists the short ones."""
    codes = {key: code for key, (code, _name) in people.items()}
    names = {code: name for code, name in people.values()}
    statuses = five_day_statuses(book, codes, today, resigned)
    rows = [s.row(names.get(s.employee_code, "")) for s in statuses if s.severity]
    rows.sort(key=lambda r: (r["level"] != ERROR, r["deadline"], r["employee_code"]))
    return five_day_problems(statuses), {"checked": len(statuses), "rows": rows, "as_of": today.isoformat()}

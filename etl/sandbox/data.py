"""Deterministic demo data for the sandbox: a company (``generate_state``) and its attendance.

Everything is a pure function of its inputs: the same (n, seed, today) gives the same company,
and the same (seed, employee key, month) gives the same monthly figures, on any machine (the
random streams are seeded from SHA-256, not from ``hash()``). Good for demos and benchmarks.

Working days are the weekdays of the period (public holidays are not modelled). A few employees
a month work over 45 h (about 6 %) and 100 h or more of overtime + holiday work (about 1.5 %).
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import hashlib
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from etl.sandbox.state import SandboxState

DIVISIONS = [("1000", "本社"), ("1100", "総務部"), ("1200", "人事部"), ("1300", "経理部"),
             ("2000", "営業本部"), ("2100", "東京営業所"), ("2200", "大阪営業所"), ("2300", "名古屋営業所"),
             ("3000", "開発部"), ("3100", "品質管理部"), ("4000", "製造部"), ("5000", "物流センター")]
WORKING_TYPES = [("1", "正社員"), ("2", "契約社員"), ("3", "パート"), ("4", "アルバイト"), ("5", "嘱託")]
TYPE_WEIGHTS = [60, 15, 15, 7, 3]
PART_TIME_TYPES = {"3", "4"}

SURNAMES = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
            ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
            ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
            ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
            ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
            ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"), ("小川", "オガワ"),
            ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"),
            ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
            ("髙橋", "タカハシ"), ("齋藤", "サイトウ"), ("渡邉", "ワタナベ")]
MALE_NAMES = [("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("健太", "ケンタ"), ("拓也", "タクヤ"), ("直樹", "ナオキ"),
              ("誠", "マコト"), ("浩二", "コウジ"), ("隆", "タカシ"), ("亮", "リョウ"), ("和也", "カズヤ"),
              ("大輝", "ダイキ"), ("悠斗", "ユウト"), ("陽翔", "ハルト"), ("蓮", "レン"), ("湊", "ミナト"),
              ("健一", "ケンイチ"), ("修", "オサム"), ("剛", "ツヨシ"), ("哲也", "テツヤ"), ("達也", "タツヤ"),
              ("一郎", "イチロウ"), ("太郎", "タロウ"), ("翼", "ツバサ"), ("康介", "コウスケ"), ("雄一", "ユウイチ")]
FEMALE_NAMES = [("陽子", "ヨウコ"), ("美咲", "ミサキ"), ("愛", "アイ"), ("恵", "メグミ"), ("由美", "ユミ"),
                ("真由美", "マユミ"), ("明美", "アケミ"), ("直美", "ナオミ"), ("結衣", "ユイ"), ("葵", "アオイ"),
                ("陽菜", "ヒナ"), ("さくら", "サクラ"), ("優子", "ユウコ"), ("彩", "アヤ"), ("麻衣", "マイ"),
                ("千尋", "チヒロ"), ("智子", "トモコ"), ("裕子", "ユウコ"), ("久美子", "クミコ"), ("奈々", "ナナ"),
                ("花子", "ハナコ"), ("舞", "マイ"), ("杏", "アン"), ("凛", "リン"), ("芽依", "メイ")]
PAID_LEAVE = {"code": 1, "name": "有休"}


_UNPACK = struct.Struct(">32H").unpack


class Draws:
    """Uniform draws that depend only on ``parts`` (SHA-512: stable across runs and machines,
    and much cheaper than seeding a ``random.Random`` per employee and month)."""

    __slots__ = ("_values", "_next")
    SIZE = 32

    def __init__(self, *parts: object):
        text = f"{parts[0]}:{parts[1]}:{parts[2]}" if len(parts) == 3 else ":".join(map(str, parts))
        self._values = _UNPACK(hashlib.sha512(text.encode()).digest())
        self._next = 0

    def random(self) -> float:
        value = self._values[self._next % self.SIZE]
        self._next += 1
        return value / 65536

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def normal(self, mean: float, sd: float) -> float:
        """Irwin–Hall approximation (three draws)."""
        return mean + sd * 2 * (self.random() + self.random() + self.random() - 1.5)


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def generate_employees(n: int, seed: int, today: dt.date) -> Iterator[tuple[dict, list[dict]]]:
    """(employee, history) for a demo company of ``n``: codes 00001…, Japanese names, a few
    transfers (past-dated history), future hires, resigned and leaving employees."""
    rng = random.Random(seed)
    width = max(5, len(str(n)))
    division_codes = [c for c, _ in DIVISIONS]
    type_codes = [c for c, _ in WORKING_TYPES]
    for i in range(1, n + 1):
        code = f"{i:0{width}d}"
        gender = "female" if rng.random() < 0.45 else "male"
        last, last_kana = rng.choice(SURNAMES)
        first, first_kana = rng.choice(FEMALE_NAMES if gender == "female" else MALE_NAMES)
        type_code = rng.choices(type_codes, TYPE_WEIGHTS)[0]
        division = rng.choice(division_codes)
        roll = rng.random()
        if roll < 0.02:  # joins soon
            hired = today + dt.timedelta(days=rng.randint(1, 60))
        else:
            hired = _day(rng, today - dt.timedelta(days=35 * 365), today - dt.timedelta(days=1))
        birth = hired - dt.timedelta(days=rng.randint(18 * 365, 55 * 365))
        emp: dict[str, Any] = {"code": code, "lastName": last, "firstName": first, "lastNamePhonetics": last_kana,
               "firstNamePhonetics": first_kana, "gender": gender, "divisionCode": division,
               "typeCode": type_code, "birthDate": birth.isoformat(), "hiredDate": hired.isoformat()}
        if rng.random() < 0.8:
            emp["emailAddresses"] = [f"e{code}@example.co.jp"]
        if type_code not in PART_TIME_TYPES:
            emp["allDayRegardingWorkInMinute"] = 480
        if 0.02 <= roll < 0.05 and hired < today - dt.timedelta(days=30):  # already left
            emp["resignationDate"] = _day(rng, hired + dt.timedelta(days=1), today - dt.timedelta(days=1)).isoformat()
        elif 0.05 <= roll < 0.07:  # leaving soon
            emp["resignationDate"] = (today + dt.timedelta(days=rng.randint(1, 90))).isoformat()
        history = []
        if rng.random() < 0.12 and hired < today - dt.timedelta(days=60):  # transferred in the past
            moved = _day(rng, max(hired, today - dt.timedelta(days=3 * 365)), today - dt.timedelta(days=1))
            new_division = rng.choice([c for c in division_codes if c != division])
            history.append({"date": moved.isoformat(), "divisionCode": new_division,
                            "typeCode": "1" if rng.random() < 0.25 else type_code})
        yield emp, history


def generate_state(n_employees: int, seed: int, today: dt.date) -> SandboxState:
    """A demo company: 12 divisions, 5 employment types, ``n_employees`` employees."""
    state = SandboxState([{"code": c, "name": n, "dayBorderTime": "05:00"} for c, n in DIVISIONS],
                         [{"code": c, "name": n} for c, n in WORKING_TYPES], seed=seed)
    for emp, history in generate_employees(n_employees, seed, today):
        state.add(emp, history)
    state.attendance.generated_leave = True  # /yearly-workings/holidays computed for every employee
    return state


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    year, mon = int(month[:4]), int(month[5:7])
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def weekdays(start: dt.date, end: dt.date) -> int:
    """Mondays to Fridays in [start, end]."""
    if end < start:
        return 0
    days = (end - start).days + 1
    full, rest = divmod(days, 7)
    count = full * 5
    for k in range(rest):
        if (start.weekday() + k) % 7 < 5:
            count += 1
    return count


def monthly_defaults(month: str) -> dict:
    """Every documented field of a /monthly-workings entry at zero (a state file's entries are
    served as given, over these)."""
    start, end = month_bounds(month)
    return {"year": start.year, "month": start.month, "startDate": start.isoformat(), "endDate": end.isoformat(),
            **dict.fromkeys(("workingCount", "weekdayWorkingCount", "workingDayCount", "weekdayWorkingdayCount",
                             "absentdayCount", "lateCount", "earlyLeaveCount", "late", "earlyLeave", "assigned",
                             "unassigned", "overtime", "night", "nightUnassigned", "nightOvertime", "breakSum",
                             "bind", "regarding", "intervalShortageCount"), 0),
            "holidaysObtained": [], "holidayWork": _holiday_block(), "legalHolidayWork": _holiday_block(0, 0),
            "generalHolidayWork": _holiday_block(0, 0), "premiumWork": _premium(0, 0), "customMonthlyWorkings": []}


def _holiday_block(normal: int = 0, days: int | None = None) -> dict:
    block = {"normal": normal, "night": 0, "overtime": 0, "nightOvertime": 0, "extra": 0, "nightExtra": 0}
    if days is not None:
        block["count"] = block["dayCount"] = days
    return block


@dataclass(frozen=True)
class Month:
    """What every employee's entry of one month shares (computed once per answer)."""

    name: str
    start: dt.date
    end: dt.date
    last: dt.date  # the last day counted: the month's end, or yesterday in the current month
    closing: bool
    full_days: int  # weekdays counted for someone employed the whole month

    @classmethod
    def of(cls, month: str, today: dt.date, *, closing: bool = False) -> Month:
        """``closing``: whether the month is closed (the state decides: SandboxState.is_closed)."""
        start, end = month_bounds(month)
        last = min(end, today - dt.timedelta(days=1))  # today is not over yet
        return cls(month, start, end, last, closing, weekdays(start, last))


def monthly_working(seed: int, key: str, month: str | Month, today: dt.date | None = None, *,
                    part_time: bool = False, hired: str | None = None,
                    resigned: str | None = None) -> dict | None:
    """One employee's /monthly-workings entry, or None when not employed during the month."""
    m = month if isinstance(month, Month) else Month.of(month, today or dt.date.today())
    start, end = m.start, m.end
    if (hired and hired > end.isoformat()) or (resigned and resigned < start.isoformat()):
        return None
    if (hired and hired > start.isoformat()) or (resigned and resigned < m.last.isoformat()):
        first = max(start, dt.date.fromisoformat(hired)) if hired else start
        last = min(m.last, dt.date.fromisoformat(resigned)) if resigned else m.last
        scheduled = weekdays(first, last)
    else:
        scheduled = m.full_days
    rng = Draws(seed, key, m.name)
    scale = scheduled / 21 if scheduled else 0.0
    absences = rng.randint(1, 3) if scheduled > 5 and rng.random() < 0.08 else 0
    paid = min(rng.randint(1, 3), scheduled - absences) if scheduled > 3 and rng.random() < 0.35 else 0
    worked = max(0, scheduled - absences - paid)
    per_day = 300 if part_time else 480
    late_count = rng.randint(1, 3) if worked and rng.random() < 0.15 else 0
    early_count = rng.randint(1, 2) if worked and rng.random() < 0.08 else 0
    late = late_count * rng.randint(5, 45)
    early = early_count * rng.randint(10, 60)
    u = rng.random()
    legal_days = general_days = 0
    if part_time:
        overtime = int(rng.randint(0, 6 * 60) * scale)
    elif u < 0.015 and scale > 0.7:  # ≥100 h of overtime + holiday work
        overtime = rng.randint(95 * 60, 110 * 60)
        legal_days = rng.randint(1, 2)
    elif u < 0.075 and scale > 0.5:  # over 45 h
        overtime = rng.randint(46 * 60, 79 * 60)
    else:
        overtime = int(max(0.0, rng.normal(14 * 60, 8 * 60)) * scale)
    if not part_time and legal_days == 0 and scale > 0.5 and rng.random() < 0.05:
        legal_days = 1
    if not part_time and scale > 0.5 and rng.random() < 0.1:
        general_days = rng.randint(1, 2)
    legal = legal_days * rng.randint(420, 540)
    general = general_days * rng.randint(360, 480)
    night = rng.randint(60, 20 * 60) if worked and rng.random() < 0.15 else 0
    night_overtime = min(night, overtime // 4)
    days = worked + legal_days + general_days
    short_intervals = rng.randint(1, 2) if overtime > 45 * 60 and rng.random() < 0.3 else 0
    breaks = days * 60
    entry = {
        "year": start.year, "month": start.month, "employeeKey": key,
        "startDate": start.isoformat(), "endDate": end.isoformat(),
        "workingCount": days, "weekdayWorkingCount": worked, "workingDayCount": days,
        "weekdayWorkingdayCount": worked, "absentdayCount": absences,
        "lateCount": late_count, "earlyLeaveCount": early_count, "late": late, "earlyLeave": early,
        "holidaysObtained": [{**PAID_LEAVE, "dayCount": paid, "minutes": 0}] if paid else [],
        "assigned": max(0, worked * per_day - late - early), "unassigned": overtime, "overtime": overtime,
        "night": night, "nightUnassigned": night_overtime, "nightOvertime": night_overtime,
        "breakSum": breaks,
        "holidayWork": _holiday_block(legal + general),
        "legalHolidayWork": _holiday_block(legal, legal_days),
        "generalHolidayWork": _holiday_block(general, general_days),
        "premiumWork": _premium(overtime, night_overtime),
        "bind": max(0, worked * per_day - late - early) + overtime + legal + general + breaks,
        "regarding": paid * per_day,
        "isClosing": m.closing,
        "intervalShortageCount": short_intervals,
        "customMonthlyWorkings": [],
    }
    return entry


PREMIUM_MINUTES = 60 * 60  # overtime beyond 60 h a month is paid at 50 % (KOT_API.md §5.1)


def _premium(overtime: int, night_overtime: int) -> dict:
    """割増残業 split at 60 h (the sandbox's company setting; real thresholds are per company)."""
    night_over = max(0, min(night_overtime, overtime - PREMIUM_MINUTES))
    return {"overtime1": min(overtime, PREMIUM_MINUTES), "nightOvertime1": night_overtime - night_over,
            "overtime2": max(0, overtime - PREMIUM_MINUTES), "nightOvertime2": night_over}


def weekly_work(entry: dict) -> dict:
    """``weeklyWork`` (asked through additionalFields): the 週40時間超 hours. The sandbox's weeks
    are Monday–Friday of 8 h, so only work on a non-statutory holiday goes beyond 40 h."""
    general = entry.get("generalHolidayWork") or {}
    return {"overtime": 0, "nightOvertime": 0, "generalHolidayOvertime": int(general.get("normal") or 0),
            "generalHolidayNightOvertime": int(general.get("night") or 0)}


def variational_work(_entry: dict) -> dict:
    """``variationalWork`` (asked through additionalFields): no variable-hours scheme in the sandbox.
    The names follow KOT_API.md §2.4 ("yearly/monthly/weekly…Overtime…"; the exact list is not
    published)."""
    return {"yearlyOvertime": 0, "monthlyOvertime": 0, "weeklyOvertime": 0}


def daily_working(seed: int, key: str, day: dt.date, today: dt.date, *, part_time: bool = False,
                  division: tuple[str, str] = ("", ""), closing: bool = False) -> dict:
    """One employee's day of /daily-workings (zeros on weekends and from today on); ``closing``:
    whether the day's month is closed."""
    rng = Draws(seed, key, day.isoformat())
    kind = ("平日", "平日", "平日", "平日", "平日", "法定外休日", "法定休日")[day.weekday()]
    works = kind == "平日" and day < today
    leave = works and rng.random() < 0.03
    works = works and not leave
    per_day = 300 if part_time else 480
    overtime = (0, 0, 0, 15, 30, 60, 90, 120)[rng.randint(0, 7)] if works and not part_time else 0
    late = rng.randint(5, 40) if works and rng.random() < 0.05 else 0
    held: dict[str, object] = {"halfdayHolidays": [], "hourHolidays": []}
    if leave:
        held["fulltimeHoliday"] = dict(PAID_LEAVE)
    entry = {"date": day.isoformat(), "employeeKey": key, "workPlaceDivisionCode": division[0],
             "workPlaceDivisionName": division[1], "isClosing": closing,
             "isHelp": False, "isError": False, "workdayTypeName": kind,
             "assigned": per_day - late if works else 0, "unassigned": overtime, "overtime": overtime,
             "lateNight": 0, "lateNightUnassigned": 0, "lateNightOvertime": 0,
             "breakTime": 60 if works else 0, "late": late, "earlyLeave": 0,
             "totalWork": per_day - late + overtime if works else 0,
             "holidaysObtained": held,
             "discretionaryVacation": per_day if leave else 0, "customDailyWorkings": []}
    return {k: v for k, v in entry.items() if v not in ("", None)}


# --- yearly leave (generated worlds) ----------------------------------------------------------

GRANT_DAYS = (10, 11, 12, 14, 16, 18, 20)  # after 0.5, 1.5, … 6.5 years of service (KOT_API.md §5.2)
PART_TIME_GRANT_DAYS = (7, 8, 9, 10, 12, 13, 15)  # 4 days a week (比例付与)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def leave_grants(hired: dt.date, start: dt.date, end: dt.date, *, part_time: bool = False) -> list[dict]:
    """The paid-leave grants dated in [start, end]: 6 months after hiring, then every year."""
    table = PART_TIME_GRANT_DAYS if part_time else GRANT_DAYS
    out = []
    for n in range(0, 60):
        granted = _add_months(hired, 6 + 12 * n)
        if granted > end:
            break
        if granted >= start:
            out.append({"date": granted.isoformat(), "days": table[min(n, len(table) - 1)], "minutes": 0,
                        "effectivePeriod": (_add_months(granted, 24) - dt.timedelta(days=1)).isoformat()})
    return out


@functools.lru_cache(maxsize=64)
def _leave_months(start: dt.date, end: dt.date, today: dt.date) -> tuple[tuple[Month, tuple[str, ...]], ...]:
    """The months of [start, end] up to today, each with its weekdays (ISO) in [start, end] before today."""
    out = []
    month = start.replace(day=1)
    while month <= min(end, today):
        m = Month.of(f"{month:%Y-%m}", today)
        days = tuple(d.isoformat() for d in (m.start + dt.timedelta(days=i) for i in range((m.end - m.start).days + 1))
                     if d.weekday() < 5 and start <= d <= end and d < today)
        out.append((m, days))
        month = _add_months(month, 1)
    return tuple(out)


def leave_taken(seed: int, key: str, start: dt.date, end: dt.date, today: dt.date, *, part_time: bool = False,
                hired: str | None = None, resigned: str | None = None) -> list[dict]:
    """The paid leave taken in [start, end] up to yesterday: the same days the monthly figures
    count (monthly_working's 有休), each on a weekday of its month drawn per employee and month."""
    out: list[dict] = []
    for m, days in _leave_months(start, end, today):
        entry = monthly_working(seed, key, m, part_time=part_time, hired=hired, resigned=resigned)
        paid = min(len(days), int(sum(h["dayCount"] for h in entry["holidaysObtained"]
                                      if h["code"] == PAID_LEAVE["code"]))) if entry else 0
        if paid:
            draws, pool = Draws(seed, key, m.name + ":leave"), list(days)
            for i in range(paid):  # the first ``paid`` of a partial Fisher–Yates shuffle
                j = i + draws.randint(0, len(pool) - 1 - i)
                pool[i], pool[j] = pool[j], pool[i]
            out.extend({"date": d, "days": 1, "minutes": 0} for d in sorted(pool[:paid]))
    return out

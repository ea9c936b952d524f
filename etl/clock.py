"""The injectable clock, JST helpers and the restricted-hours windows (利用制限時間帯).

Everything that asks "what time is it" or waits goes through a ``Clock`` so tests and replays
control time: ``ManualClock.sleep`` advances time instead of sleeping.
"""
from __future__ import annotations

import datetime as dt
import time as _time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
DEFAULT_RESTRICTED_HOURS = ("08:30-10:00", "17:30-18:30")


def parse_iso(text: str) -> dt.datetime:
    """ISO 8601 → aware datetime in JST (a naive value is taken as JST); ValueError if unreadable."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    try:
        return value.astimezone(JST)
    except OverflowError:  # 9999-12-31T23:00-05:00 has no JST time
        raise ValueError(f"範囲外の日時です: {text.strip()}") from None


# the years a replayed "now" (ETL_NOW) may fall in: dates around it (last month, three years back,
# next year's schedule) must stay representable
NOW_YEARS = (2000, 2199)


def parse_now(text: str) -> dt.datetime:
    """``ETL_NOW``: ISO 8601 within NOW_YEARS; ValueError otherwise."""
    value = parse_iso(text)
    if not NOW_YEARS[0] <= value.year <= NOW_YEARS[1]:
        raise ValueError(f"{NOW_YEARS[0]}〜{NOW_YEARS[1]} 年の日時にしてください")
    return value


class Clock:
    """Real time in JST."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(JST)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds)

    def today(self) -> dt.date:
        return self.now().date()


class OffsetClock(Clock):
    """Real time shifted so that it started at ``start`` (``ETL_NOW``): replays tick on."""

    def __init__(self, start: dt.datetime):
        self._offset = start - dt.datetime.now(JST)

    def now(self) -> dt.datetime:
        return dt.datetime.now(JST) + self._offset


class ManualClock(Clock):
    """A clock for tests: time stands still until ``sleep`` or ``advance`` moves it."""

    def __init__(self, start: dt.datetime | str):
        self._now = parse_iso(start) if isinstance(start, str) else start.astimezone(JST)
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=max(0.0, seconds))


def clock_from_env(env: dict[str, str]) -> Clock:
    """``ETL_NOW`` (ISO 8601) replaces the clock; otherwise real JST time."""
    text = env.get("ETL_NOW", "").strip()
    return OffsetClock(parse_now(text)) if text else Clock()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(day: dt.date) -> str:
    """'YYYY-MM' of the month before ``day``."""
    first = month_start(day) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


# --- the dates the attendance API serves (KOT_API.md §1.5) --------------------------------------
# /monthly-workings/{YYYY-MM}, /daily-workings and /employees?date= serve 3 years back and 1 year
# ahead of today. Checked before any request, so a run never asks for what the API cannot answer.
API_YEARS_BACK = 3
API_YEARS_AHEAD = 1


def shift_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved by whole years (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def api_date_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """(earliest, latest) date the API serves, both included."""
    return shift_years(today, -API_YEARS_BACK), shift_years(today, API_YEARS_AHEAD)


def date_refusal(day: dt.date, today: dt.date, what: str = "日付") -> str | None:
    """Why the API cannot serve ``day`` (one Japanese line), or None."""
    earliest, latest = api_date_window(today)
    if day < earliest:
        return (f"{what} {day.isoformat()} は勤怠APIが扱える範囲 (3年前の {earliest.isoformat()} から) より前です。"
                f"{earliest.isoformat()} 以降の日付を指定してください")
    if day > latest:
        return (f"{what} {day.isoformat()} は勤怠APIが扱える範囲 (1年後の {latest.isoformat()} まで) より先です。"
                f"{latest.isoformat()} 以前の日付を指定してください")
    return None


def month_refusal(month: str, today: dt.date) -> str | None:
    """Why ``month`` ('YYYY-MM') cannot be imported (one Japanese line), or None.

    Refused: a malformed month, a month that has not begun, and a month before the one 3 years
    back (today 2026-11-26: 2023-11 is the earliest month served)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = dt.date(year, number, 1)
        if len(month) != 7:
            raise ValueError(month)
    except ValueError:
        return f"月「{month}」は YYYY-MM の形 (例 2026-10) で指定してください"
    if first > today:
        return f"{month} はまだ始まっていない月です。今月 ({today.isoformat()[:7]}) 以前の月を指定してください"
    earliest = month_start(api_date_window(today)[0])
    if first < earliest:
        return (f"{month} は勤怠APIが扱える範囲 (3年前の {earliest.isoformat()[:7]} から) より前です。"
                f"{earliest.isoformat()[:7]} 以降の月を指定してください")
    return None


@dataclass(frozen=True)
class Window:
    start: dt.time
    end: dt.time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str) -> Window:
    """'08:30-10:00' → Window; raises ValueError with a readable message."""
    try:
        a, b = (part.strip() for part in text.replace("~", "-").replace("〜", "-").split("-"))
        start, end = dt.time.fromisoformat(a), dt.time.fromisoformat(b)
    except ValueError:
        raise ValueError(f"'{text}' は HH:MM-HH:MM の形ではありません") from None
    if not start < end:
        raise ValueError(f"'{text}' の開始が終了より後です")
    return Window(start, end)


@dataclass(frozen=True)
class RestrictedHours:
    """Daily JST windows in which the API refuses all but the token endpoint."""

    windows: tuple[Window, ...]

    @classmethod
    def parse(cls, texts: list[str] | tuple[str, ...] = DEFAULT_RESTRICTED_HOURS) -> RestrictedHours:
        return cls(tuple(sorted((parse_window(t) for t in texts), key=lambda w: w.start)))

    def current(self, now: dt.datetime) -> Window | None:
        t = now.astimezone(JST).time()
        return next((w for w in self.windows if w.start <= t < w.end), None)

    def is_restricted(self, now: dt.datetime) -> bool:
        return self.current(now) is not None

    def reopens_at(self, now: dt.datetime) -> dt.datetime | None:
        """When the window containing ``now`` ends (None when not restricted)."""
        window = self.current(now)
        if window is None:
            return None
        local = now.astimezone(JST)
        reopen = dt.datetime.combine(local.date(), window.end, tzinfo=JST)
        # adjacent windows chain: keep going until a free moment
        nxt = self.reopens_at(reopen)
        return nxt or reopen

    def next_start(self, now: dt.datetime) -> dt.datetime | None:
        """The start of the next window at or after ``now`` (None when no window is set)."""
        local = now.astimezone(JST)
        for day in (local.date(), local.date() + dt.timedelta(days=1)):
            for w in self.windows:
                start = dt.datetime.combine(day, w.start, tzinfo=JST)
                if start >= local:
                    return start
        return None

    def __str__(self) -> str:
        return ", ".join(str(w) for w in self.windows)


# the windows KOT publishes (08:30-10:00, 17:30-18:30 JST): the client's guard and the sandbox's rule
PUBLISHED_HOURS = RestrictedHours.parse(DEFAULT_RESTRICTED_HOURS)

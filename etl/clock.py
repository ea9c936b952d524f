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
    """ISO 8601 → aware datetime in JST (a naive value is taken as JST)."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(JST)


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
    return OffsetClock(parse_iso(text)) if text else Clock()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(day: dt.date) -> str:
    """'YYYY-MM' of the month before ``day``."""
    first = month_start(day) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


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

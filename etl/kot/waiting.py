"""Restricted hours, waited out: the one place that decides how long to sleep for a code-104 refusal."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

from etl.clock import Clock
from etl.errors import RestrictedHoursError

log = logging.getLogger(__name__)
T = TypeVar("T")

FALLBACK = dt.timedelta(minutes=1)  # when the refusal does not say when the window ends


def reopens(e: RestrictedHoursError, clock: Clock) -> dt.datetime:
    """When to try again after ``e``."""
    return e.reopens_at or clock.now() + FALLBACK


def sleep_until(clock: Clock, moment: dt.datetime) -> float:
    """Sleep on ``clock`` until ``moment``; returns the seconds slept."""
    seconds = max(0.0, (moment - clock.now()).total_seconds())
    log.warning("勤怠APIの利用制限時間帯です。%s まで待機します", f"{moment:%H:%M}")
    clock.sleep(seconds)
    return seconds


def call_waiting(clock: Clock, wait: bool, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``fn(...)``; in restricted hours either stop (exit 5) or, with ``wait``, sleep until the
    window ends and call again."""
    while True:
        try:
            return fn(*args, **kwargs)
        except RestrictedHoursError as e:
            if not wait:
                raise
            sleep_until(clock, reopens(e, clock))

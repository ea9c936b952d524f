"""The clock, ETL_NOW and restricted-hours edges."""
from __future__ import annotations

import datetime as dt

import pytest

from etl.clock import (
    JST,
    ManualClock,
    RestrictedHours,
    api_date_window,
    clock_from_env,
    date_refusal,
    month_refusal,
    parse_iso,
    previous_month,
)

HOURS = RestrictedHours.parse()


@pytest.mark.parametrize("time, restricted, reopens", [
    ("08:29:59", False, None),
    ("08:30:00", True, "10:00"),
    ("09:59:59", True, "10:00"),
    ("10:00:00", False, None),
    ("17:29:59", False, None),
    ("17:30:00", True, "18:30"),
    ("18:30:00", False, None),
    ("02:00:00", False, None),
], ids=lambda v: str(v))
def test_restricted_hours_edges(time, restricted, reopens):
    now = parse_iso(f"2026-11-26T{time}+09:00")
    assert HOURS.is_restricted(now) is restricted
    got = HOURS.reopens_at(now)
    assert (got.strftime("%H:%M") if got else None) == reopens


def test_utc_input_is_judged_in_jst():
    # 23:45 UTC is 08:45 JST the next morning
    assert HOURS.is_restricted(dt.datetime(2026, 11, 25, 23, 45, tzinfo=dt.UTC))


def test_adjacent_windows_chain():
    hours = RestrictedHours.parse(["08:00-09:00", "09:00-09:30"])
    assert hours.reopens_at(parse_iso("2026-11-26T08:10:00+09:00")).strftime("%H:%M") == "09:30"


def test_next_start_rolls_to_tomorrow():
    assert HOURS.next_start(parse_iso("2026-11-26T19:00:00+09:00")) == parse_iso("2026-11-27T08:30:00+09:00")


def test_etl_now_replaces_the_clock():
    clock = clock_from_env({"ETL_NOW": "2026-11-26T08:45:00+09:00"})
    now = clock.now()
    assert now.tzinfo is not None and now.astimezone(JST).date() == dt.date(2026, 11, 26)
    assert HOURS.is_restricted(now)
    assert previous_month(now.date()) == "2026-10"


def test_manual_clock_sleep_advances_without_waiting():
    c = ManualClock("2026-11-26T09:59:00+09:00")
    c.sleep(61)
    assert c.now() == parse_iso("2026-11-26T10:00:01+09:00") and c.slept == [61]


def test_naive_iso_is_taken_as_jst():
    assert parse_iso("2026-01-01T00:00:00").utcoffset() == dt.timedelta(hours=9)
    assert previous_month(dt.date(2026, 1, 15)) == "2025-12"


# --- the dates the attendance API serves -------------------------------------------------------

API_TODAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize("month, refused", [
    ("2026-11", None), ("2026-10", None), ("2023-11", None),
    ("2023-10", "3年前の 2023-11 から"), ("2023-06", "より前です"),
    ("2026-12", "まだ始まっていない月"), ("2027-11", "まだ始まっていない月"),
    ("2026-13", "YYYY-MM"), ("2026-1", "YYYY-MM"), ("latest", "YYYY-MM"),
], ids=lambda v: str(v))
def test_month_refusal(month, refused):
    reason = month_refusal(month, API_TODAY)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason and "\n" not in reason


@pytest.mark.parametrize("day, refused", [
    (dt.date(2023, 11, 26), None), (dt.date(2027, 11, 26), None),
    (dt.date(2023, 11, 25), "2023-11-26 以降"), (dt.date(2027, 11, 27), "2027-11-26 以前"),
], ids=str)
def test_date_refusal(day, refused):
    reason = date_refusal(day, API_TODAY, "異動日")
    assert (reason is None) if refused is None else (refused in reason and reason.startswith("異動日"))


@pytest.mark.parametrize("day", [dt.date(1, 1, 1), dt.date(999, 12, 31), dt.date(9999, 12, 31)], ids=str)
def test_date_refusal_shows_a_four_digit_year(day):
    """strftime's %Y gives '1' for the year 1 on Linux: the refusal must show 0001-01-01."""
    reason = date_refusal(day, API_TODAY, "異動日")
    assert reason is not None and reason.startswith(f"異動日 {day.isoformat()} は")


def test_window_of_29_february():
    assert api_date_window(dt.date(2028, 2, 29)) == (dt.date(2025, 2, 28), dt.date(2029, 2, 28))

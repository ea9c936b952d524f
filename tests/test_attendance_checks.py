"""Closing, roster, 36協定 and closed-month corrections (pure), at and around every threshold."""
from __future__ import annotations

import datetime as dt

import pytest

from etl.attendance.checks import (
    DEFAULT_LIMITS,
    Figures,
    Limits,
    add_months,
    closing_problems,
    corrections,
    fiscal_months,
    history_index,
    history_months,
    hm,
    labour_law_problems,
    roster_problems,
)
from etl.records import Employee

H = 60  # minutes in an hour
MONTH = "2026-10"


def law(overtime: int, plus: int | None = None, history: dict | None = None, limits: Limits = DEFAULT_LIMITS):
    current = {"0001": Figures(overtime, overtime if plus is None else plus)}
    return [(p.code, p.severity, p.message) for p in labour_law_problems(MONTH, current, {"0001": history or {}},
                                                                        limits)]


def codes(found) -> list[str]:
    return [c for c, _, _ in found]


def test_hm():
    assert [hm(m) for m in (0, 5, 2699, 2701, 6000, -61)] == ["0:00", "0:05", "44:59", "45:01", "100:00", "-1:01"]


def test_months():
    assert add_months("2026-01", -1) == "2025-12" and add_months("2026-12", 1) == "2027-01"
    assert fiscal_months("2026-10", 4) == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert fiscal_months("2027-03", 4)[0] == "2026-04" and fiscal_months("2026-04", 4) == ["2026-04"]
    assert fiscal_months("2026-01", 1) == ["2026-01"]
    assert history_months("2026-05", Limits()) == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    assert history_months("2026-12", Limits())[0] == "2026-04"


@pytest.mark.parametrize("overtime, expected", [
    (45 * H - 1, []), (45 * H, []), (45 * H + 1, ["overtime-month-45h"]), (46 * H, ["overtime-month-45h"]),
], ids=["44:59", "45:00", "45:01", "46:00"])
def test_month_45h_is_a_warning_strictly_above(overtime, expected):
    found = law(overtime)
    assert codes(found) == expected
    if expected:
        assert found[0][1] == "warning" and hm(overtime) in found[0][2] and "月45時間" in found[0][2]


@pytest.mark.parametrize("plus, expected", [
    (100 * H - 1, []), (100 * H, ["overtime-month-100h"]), (101 * H, ["overtime-month-100h"]),
], ids=["99:59", "100:00", "101:00"])
def test_single_month_100h_is_an_error_from_100(plus, expected):
    found = law(40 * H, plus)
    assert codes(found) == expected
    if expected:
        assert found[0][1] == "error" and hm(plus) in found[0][2]


def test_101h_of_overtime_is_an_error_and_a_warning():
    assert codes(law(101 * H)) == ["overtime-month-45h", "overtime-month-100h"]


@pytest.mark.parametrize("previous, now, expected", [
    (85 * H, 75 * H, []),  # exactly 80:00 on average: not over
    (85 * H, 75 * H + 1, ["overtime-average-80h"]),  # 80:00.5
    (79 * H, 79 * H, []),
], ids=["exactly-80", "just-over", "under"])
def test_two_month_average(previous, now, expected):
    found = law(40 * H, now, {"2026-09": Figures(40 * H, previous)})
    assert codes(found) == expected
    if expected:
        assert "2026-09〜2026-10 (2か月)" in found[0][2] and "80:01" in found[0][2]


def test_six_month_average_uses_every_month_and_reports_the_worst_window():
    history = {add_months(MONTH, -k): Figures(30 * H, 90 * H) for k in range(1, 6)}  # 90 h each
    found = law(30 * H, 31 * H, history)  # 2-month average 60:30, 6-month (450 + 31) / 6 = 80:10
    assert codes(found) == ["overtime-average-80h"]
    assert "(6か月)" in found[0][2] and "80:10" in found[0][2]


def test_a_missing_month_ends_the_windows():
    history = {"2026-09": Figures(0, 90 * H), "2026-07": Figures(0, 200 * H)}  # 2026-08 unknown
    assert law(0, 60 * H, history) == []  # only the 2-month window: 75:00


@pytest.mark.parametrize("months_over, expected", [(6, []), (7, ["overtime-months-over-45h"])])
def test_more_than_six_months_over_45h_in_the_fiscal_year(months_over, expected):
    fy = fiscal_months(MONTH, 4)[:-1]  # 2026-04 .. 2026-09
    history = {m: Figures(46 * H if i < months_over - 1 else 10 * H, 0) for i, m in enumerate(fy)}
    history["2026-03"] = Figures(50 * H, 0)  # previous fiscal year: not counted
    found = law(46 * H, 46 * H, history)
    assert [c for c in codes(found) if c != "overtime-month-45h"] == expected
    if expected:
        assert found[-1][1] == "error" and "7 回" in found[-1][2]


@pytest.mark.parametrize("year_total, expected", [
    (360 * H, []), (360 * H + 1, ["overtime-year-360h"]), (720 * H, ["overtime-year-360h"]),
    (720 * H + 1, ["overtime-year-720h"]),
], ids=["360:00", "360:01", "720:00", "720:01"])
def test_fiscal_year_totals(year_total, expected):
    history = {"2026-04": Figures(year_total - 10 * H, 0), "2025-10": Figures(500 * H, 0)}
    found = law(10 * H, 10 * H, history)
    assert codes(found) == expected
    if expected:
        assert hm(year_total) in found[0][2]


def test_thresholds_are_configurable():
    limits = Limits(month_minutes=42 * H, year_minutes=320 * H)
    found = law(43 * H, limits=limits)
    assert codes(found) == ["overtime-month-45h"] and "月42時間" in found[0][2]
    assert Limits.from_settings(type("S", (), {
        "overtime_month_hours": 42.5, "overtime_year_hours": 320, "overtime_year_special_hours": 720,
        "overtime_single_month_limit_hours": 100, "overtime_average_limit_hours": 80,
        "months_over_limit_per_year": 6, "fiscal_year_start_month": 1})()).month_minutes == 2550


def test_history_index_sums_the_ledger_columns():
    rows = [{"employee_code": "0001", "month": "2026-09", "overtime_minutes": 100, "legal_holiday_work_minutes": 30}]
    assert history_index(rows) == {"0001": {"2026-09": Figures(100, 130)}}


# --- closing and roster ----------------------------------------------------------------------

def test_an_open_month_is_a_warning_or_an_error_when_closing_is_required():
    assert closing_problems(MONTH, [True, True]) == []
    (warn,) = closing_problems(MONTH, [True, False])
    assert warn.code == "month-not-closed" and warn.severity == "warning" and MONTH in warn.message
    assert closing_problems(MONTH, [True, False], require_closed=True)[0].severity == "error"
    assert closing_problems(MONTH, [])[0].code == "month-not-closed"


def test_roster():
    d = dt.date
    employees = [
        Employee("0001", hired_date=d(2020, 4, 1)),  # present
        Employee("0002", last_name="佐藤", first_name="一郎", hired_date=d(2020, 4, 1)),  # missing → problem
        Employee("0003", hired_date=d(2026, 11, 1)),  # hired after the month
        Employee("0004", hired_date=d(2020, 4, 1), resignation_date=d(2026, 9, 30)),  # resigned before
        Employee("0005", hired_date=d(2020, 4, 1), resignation_date=d(2026, 10, 1)),  # resigned during → problem
        Employee("0006"),  # no hired date: skipped when only hired employees are synced
        Employee("0007", hired_date=d(2020, 4, 1)),  # 連携除外
    ]
    key = "c77a" + "0" * 56 + "52c4"
    found = roster_problems(MONTH, ["0001", "0099"], employees, [key], {"0099": "山田 花子"}, excluded=["0007"],
                            hired_only=True)
    assert [(p.code, p.employee_code, p.value) for p in found] == [
        ("no-attendance", "0002", MONTH), ("no-attendance", "0005", MONTH),
        ("unknown-attendance-employee", "0099", ""), ("attendance-employee-unidentified", "", "c77a0000…")]
    assert "0099 山田 花子" in found[2].message  # HR's words: code and name, never the 64-hex key
    assert "0002 (佐藤 一郎) の" in found[0].message and "「従業員の同期」" in found[0].message
    assert "sync-employees" not in found[0].message and "0005 の" in found[1].message  # no name known: none shown
    assert key not in found[3].message
    found = roster_problems(MONTH, [], employees[5:6], hired_only=False)
    assert [p.employee_code for p in found] == ["0006"]


# --- corrections -----------------------------------------------------------------------------

def row(**over):
    base = {"employee_code": "0001", "month": MONTH, "period_start": dt.date(2026, 10, 1),
            "period_end": dt.date(2026, 10, 31), "working_days": 20.0, "absent_days": 0.0, "paid_leave_days": 1.0,
            "late_count": 0, "late_minutes": 0, "early_leave_count": 0, "early_leave_minutes": 0,
            "total_work_minutes": 10000, "assigned_minutes": 9600, "unassigned_minutes": 400,
            "overtime_minutes": 600, "night_minutes": 0, "holiday_work_minutes": 0,
            "legal_holiday_work_minutes": 0, "is_closing": True, "imported_at": "2026-11-01T00:00:00+09:00"}
    return base | over


def test_a_closed_month_that_comes_back_different_is_a_correction():
    old = [row(), row(employee_code="0002")]
    new = [row(overtime_minutes=720, working_days=21, imported_at="later"), row(employee_code="0002"),
           row(employee_code="0003")]
    problems, changes = corrections(MONTH, new, old)
    assert [(p.code, p.employee_code) for p in problems] == [("closed-month-corrected", "0001")]
    assert "出勤日数 20 → 21" in problems[0].message and "残業時間 10:00 → 12:00" in problems[0].message
    assert changes == [{"employee_code": "0001", "field": "出勤日数", "old": "20", "new": "21"},
                       {"employee_code": "0001", "field": "残業時間", "old": "10:00", "new": "12:00"}]


def test_an_open_month_that_changes_is_not_a_correction():
    problems, changes = corrections(MONTH, [row(overtime_minutes=900)], [row(is_closing=False)])
    assert problems == [] and changes == []


def test_dates_read_back_as_text_compare_equal():
    problems, _ = corrections(MONTH, [row()], [row(period_start="2026-10-01", working_days=20)])
    assert problems == []

"""KOT /monthly-workings entries → monthly records (pure)."""
from __future__ import annotations

import datetime as dt

from etl.attendance.items import ITEMS, LEDGER_KEYS
from etl.attendance.transform import MonthTable, Person, directory, paid_leave_days, transform_month
from etl.records import Employee, Link


def entry(key: str = "k1", **over) -> dict:
    base = {
        "employeeKey": key, "startDate": "2026-10-01", "endDate": "2026-10-31",
        "workingDayCount": 20, "absentdayCount": 1, "lateCount": 2, "earlyLeaveCount": 1,
        "late": 25, "earlyLeave": 40, "assigned": 9600, "unassigned": 1500, "overtime": 1200,
        "night": 90, "nightOvertime": 30,
        "holidayWork": {"normal": 480, "night": 60, "overtime": 0, "nightOvertime": 0, "extra": 120, "nightExtra": 0},
        "legalHolidayWork": {"normal": 300, "night": 0, "overtime": 0, "nightOvertime": 0, "extra": 60,
                             "nightExtra": 0, "count": 1, "dayCount": 1},
        "generalHolidayWork": {"normal": 180, "night": 60, "overtime": 45, "nightOvertime": 0, "extra": 60,
                               "nightExtra": 0, "count": 1, "dayCount": 1},
        "holidaysObtained": [{"code": 1, "name": "有休", "dayCount": 1.5, "minutes": 0},
                             {"code": 2, "name": "特別休暇", "dayCount": 1, "minutes": 0},
                             {"code": 1, "name": "有休", "dayCount": 0, "minutes": 120}],
        "isClosing": True,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}  # KOT omits nulls


PEOPLE = {"k1": Person("0001", "山田 太郎", "1000", "本社"), "k2": Person("0002", "髙橋 花子", "2000", "営業")}


def test_every_total_follows_the_catalogue():
    table = transform_month([entry()], "2026-10", PEOPLE, imported_at="2026-11-26T12:00:00+09:00")
    (row,) = table.rows()
    assert row == {
        "employee_code": "0001", "name": "山田 太郎", "division_code": "1000", "division_name": "本社",
        "month": "2026-10", "period_start": dt.date(2026, 10, 1), "period_end": dt.date(2026, 10, 31),
        "working_days": 20, "absent_days": 1, "paid_leave_days": 1.5, "late_count": 2, "late_minutes": 25,
        "early_leave_count": 1, "early_leave_minutes": 40,
        "total_work_minutes": 9600 + 1500 + 480 + 120, "assigned_minutes": 9600, "unassigned_minutes": 1500,
        "overtime_minutes": 1200 + 45, "night_minutes": 90 + 60, "holiday_work_minutes": 480 + 120,
        "legal_holiday_work_minutes": 300 + 60, "is_closing": True,
        "imported_at": "2026-11-26T12:00:00+09:00", "employee_key": "k1",
    }
    assert list(table.records()[0]) == list(LEDGER_KEYS)
    assert all(type(v) in (int, float, str, bool, dt.date) for v in row.values())


def test_omitted_fields_count_as_zero():
    bare = {"employeeKey": "k1"}
    (row,) = transform_month([bare], "2026-10", PEOPLE).rows()
    assert row["overtime_minutes"] == 0 and row["holiday_work_minutes"] == 0 and row["paid_leave_days"] == 0
    assert row["period_start"] is None and row["is_closing"] is False


def test_paid_leave_codes_are_configurable():
    leave = entry()["holidaysObtained"]
    assert paid_leave_days(leave, ["1"]) == 1.5
    assert paid_leave_days(leave, ["1", "2"]) == 2.5
    assert paid_leave_days(leave, [2]) == 1
    (row,) = transform_month([entry()], "2026-10", PEOPLE, paid_leave_codes=["1", "2"]).rows()
    assert row["paid_leave_days"] == 2.5


def test_unknown_keys_are_set_aside_and_rows_sorted_by_code():
    table = transform_month([entry("k2"), entry("zz"), entry("k1")], "2026-10", PEOPLE)
    assert table.column("employee_code") == ["0001", "0002"]
    assert table.column("name") == ["山田 太郎", "髙橋 花子"]
    assert table.unknown_keys == ["zz"]
    assert len(table) == 2


def test_an_empty_month():
    table = transform_month([], "2026-10", PEOPLE)
    assert len(table) == 0 and table.rows() == [] and table.unknown_keys == []


def test_directory_prefers_the_attendance_list_then_links_with_ledger_names():
    remote = [{"key": "k1", "code": "0001", "lastName": "山田", "firstName": "太郎", "divisionCode": "1000",
               "divisionName": "本社"},
              {"key": "k3", "code": "0003", "lastName": "佐藤", "firstName": "一郎"}]
    links = {"0001": Link("0001", "old-key"), "0002": Link("0002", "k2")}
    ledger = [Employee("0001", "山﨑", "太郎"), Employee("0002", "髙橋", "花子")]
    people = directory(remote, links, ledger)
    assert people["k1"] == Person("0001", "山﨑 太郎", "1000", "本社")
    assert people["k2"] == Person("0002", "髙橋 花子")
    assert people["k3"] == Person("0003", "佐藤 一郎")
    assert people["old-key"].code == "0001"


def test_from_rows_round_trip():
    table = transform_month([entry("k1"), entry("k2")], "2026-10", PEOPLE)
    again = MonthTable.from_rows("2026-10", table.rows())
    assert again.rows() == table.rows()
    assert {i.key for i in ITEMS} <= set(again.columns)

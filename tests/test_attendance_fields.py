"""Which KOT fields an import reads, and what it says when one is missing: the typed decoder of the
monthly answer (raw JSON bytes), both spellings of 出勤日数, weeklyWork in 残業時間, and the
attendance-field-missing warning — pure on raw JSON, then end to end against the sandbox."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import cli_env, make_config

from etl.attendance.entries import Entry, decode_month
from etl.attendance.fetch import fetch_month
from etl.attendance.items import MONTHLY_ADDITIONAL_FIELDS
from etl.attendance.transform import Person, transform_month
from etl.cli import main
from etl.ledger.store import close_ledger, open_ledger
from etl.records import Employee
from etl.sandbox.state import load_state
from etl.workbook.template import build_template

MONTH = "2026-10"
PEOPLE = {"k1": Person("0001", "山田 太郎"), "k2": Person("0002", "髙橋 花子")}
WORK = {"normal": 0, "night": 0, "overtime": 0, "nightOvertime": 0, "extra": 0, "nightExtra": 0}


def answer(*entries: dict) -> bytes:
    """A /monthly-workings answer as KOT sends it: fields the items do not use included, nulls left out."""
    base = {"year": 2026, "month": 10, "startDate": "2026-10-01", "endDate": "2026-10-31", "workingCount": 20,
            "absentdayCount": 0, "lateCount": 0, "earlyLeaveCount": 0, "late": 0, "earlyLeave": 0,
            "assigned": 9600, "unassigned": 600, "overtime": 600, "night": 0, "breakSum": 1200,
            "holidaysObtained": [], "holidayWork": WORK, "legalHolidayWork": {**WORK, "count": 0, "dayCount": 0},
            "generalHolidayWork": {**WORK, "count": 0, "dayCount": 0},
            "premiumWork": {"overtime1": 0, "nightOvertime1": 0}, "customMonthlyWorkings": [], "isClosing": True}
    out = []
    for e in entries:
        merged = {**base, **e}
        out.append({k: v for k, v in merged.items() if v is not None})
    return json.dumps(out).encode("utf-8")


def table_of(data: bytes):
    return transform_month(decode_month(data), MONTH, PEOPLE)


def test_the_answer_decodes_to_typed_entries_with_only_the_fields_used():
    (entry,) = decode_month(answer({"employeeKey": "k1", "workingDayCount": 20}))
    assert type(entry) is Entry
    assert not hasattr(entry, "premiumWork") and not hasattr(entry, "breakSum")
    assert entry.employeeKey == "k1" and entry.workingDayCount == 20


def test_both_spellings_of_the_working_day_count_are_read():
    table = table_of(answer({"employeeKey": "k1", "workingdayCount": 19},
                            {"employeeKey": "k2", "workingDayCount": 21.5}))
    assert table.column("working_days") == [19, 21.5]
    assert table.problems == []


def test_a_field_no_entry_has_is_a_warning_naming_it_and_the_item():
    table = table_of(answer({"employeeKey": "k1", "legalHolidayWork": None},
                            {"employeeKey": "k2", "legalHolidayWork": None}))
    codes = [(p.code, p.severity, p.value) for p in table.problems]
    assert codes == [("attendance-field-missing", "warning", "workingdayCount / workingDayCount"),
                     ("attendance-field-missing", "warning", "legalHolidayWork.normal"),
                     ("attendance-field-missing", "warning", "legalHolidayWork.extra")]
    assert "出勤日数" in table.problems[0].message and MONTH in table.problems[0].message
    assert "法定休日労働時間" in table.problems[1].message and "0 として計算" in table.problems[1].message
    assert table.column("working_days") == [0, 0] and table.column("legal_holiday_work_minutes") == [0, 0]


def test_a_field_some_entries_have_is_no_warning_and_its_absence_counts_as_zero():
    table = table_of(answer({"employeeKey": "k1", "workingDayCount": 20, "overtime": None},
                            {"employeeKey": "k2", "workingDayCount": 20, "overtime": 120}))
    assert table.problems == []
    assert table.column("overtime_minutes") == [0, 120]


def test_weekly_overtime_counts_toward_overtime_when_present():
    weekly = {"overtime": 90, "nightOvertime": 30, "generalHolidayOvertime": 15, "generalHolidayNightOvertime": 0}
    table = table_of(answer({"employeeKey": "k1", "workingDayCount": 20, "weeklyWork": weekly},
                            {"employeeKey": "k2", "workingDayCount": 20,
                             "generalHolidayWork": {**WORK, "overtime": 45}}))
    assert table.column("overtime_minutes") == [600 + 90 + 15, 600 + 45]
    assert table.problems == []  # weeklyWork is optional: no warning when a month lacks it
    assert MONTHLY_ADDITIONAL_FIELDS == ("weeklyWork",)


def test_values_of_the_wrong_type_are_read_leniently():
    table = table_of(answer({"employeeKey": "k1", "workingDayCount": 20, "overtime": "12", "holidayWork": None},
                            {"employeeKey": "k2", "workingDayCount": 20, "late": 10.0}))
    assert table.column("overtime_minutes") == [0, 600]
    assert table.column("late_minutes") == [0, 10]


def test_an_error_body_and_bytes_that_are_not_json():
    assert decode_month(b'{"code":"303","message":"Too Many Requests"}') == {"code": "303",
                                                                          "message": "Too Many Requests"}
    with pytest.raises(ValueError):
        decode_month(b'[{"employeeKey": "k1", "overtime": 1')


# --- end to end: the sandbox serves the month from its state, the import reads it ---------------

FIXTURES = Path(__file__).parent / "fixtures" / "attendance"


@pytest.fixture
def world(tmp_path, make_sandbox):
    sandbox = make_sandbox(load_state(FIXTURES / "state.json"))
    config = make_config(tmp_path, sandbox)
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    ledger = open_ledger(url)
    ledger.upsert_employees([Employee(c, "山田", "太郎") for c in ("E0001", "E0002", "E0003", "E0004", "E0005")])
    build_template(tmp_path / "mapping.xlsx")
    yield sandbox, config, ledger
    close_ledger(url)


def run_import(sandbox, config) -> dict:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), "import-attendance", "--month", MONTH, "--to", "ledger"],
                env=cli_env(sandbox), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    report = Path(out.getvalue().strip().splitlines()[-1][len("report: "):])
    return json.loads((report.parent / "result.json").read_text(encoding="utf-8"))


def test_end_to_end_spelling_weekly_overtime_and_a_missing_field(world):
    sandbox, config, ledger = world
    entries = [dict(e) for e in sandbox.state.monthly[MONTH]]
    for e in entries:
        e["workingdayCount"] = e["workingDayCount"] + 1  # the spelling real tenants send ...
        e["workingDayCount"] = None  # ... instead of the documented one (the sandbox leaves out a null)
        e["legalHolidayWork"] = None  # absent from every entry
    entries[0]["weeklyWork"] = {"overtime": 120, "nightOvertime": 0, "generalHolidayOvertime": 0,
                                "generalHolidayNightOvertime": 0}
    first = entries[0]["overtime"] + entries[0]["generalHolidayWork"]["overtime"]
    sandbox.state.set_monthly(MONTH, entries)

    result = run_import(sandbox, config)
    rows = {r["employee_code"]: r for r in ledger.monthly(MONTH)}
    assert rows["E0001"]["working_days"] == 22  # 21 in the fixture, + 1 above, read as workingdayCount
    assert rows["E0001"]["overtime_minutes"] == first + 120
    missing = [p for p in result["problems"] if p["code"] == "attendance-field-missing"]
    assert len(missing) == 2
    assert "legalHolidayWork.normal" in missing[0]["message"] and "legalHolidayWork.extra" in missing[1]["message"]
    assert all(p["severity"] == "warning" and "法定休日労働時間" in p["message"] for p in missing)
    assert result["status"] == "success"


def test_the_month_is_fetched_as_typed_entries_whole_or_by_division(kot_client):
    whole = fetch_month(kot_client, "2026-10")
    assert whole and all(type(e) is Entry for e in whole)
    split = fetch_month(kot_client, "2026-10", split_by_division=True)
    assert sorted(e.employeeKey for e in split) == sorted(e.employeeKey for e in whole)
    raw = kot_client.monthly_workings("2026-10", fields=MONTHLY_ADDITIONAL_FIELDS, decode=bytes)
    assert isinstance(raw, bytes) and decode_month(raw) == whole


def test_a_month_without_weekly_overtime_says_so_in_the_report(world):
    """weeklyWork is asked for; a tenant that sends it for no one leaves 週40時間超 out of 残業時間:
    not a warning, but the report names the fields and the item they would have fed."""
    sandbox, config, ledger = world
    entries = [{**e, "weeklyWork": None} for e in sandbox.state.monthly[MONTH]]  # the sandbox leaves out a null
    sandbox.state.set_monthly(MONTH, entries)
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), "import-attendance", "--month", MONTH, "--to", "ledger"],
                env=cli_env(sandbox), stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    html = Path(out.getvalue().strip().splitlines()[-1][len("report: "):]).read_text(encoding="utf-8")
    assert "勤怠APIの答えになかった任意の項目" in html
    assert "weeklyWork.overtime (「残業時間」に 0 として計算)" in html
    assert "weeklyWork.generalHolidayOvertime" in html

    sandbox.state.set_monthly(MONTH, [{k: v for k, v in e.items() if k != "weeklyWork"} for e in entries])
    out = io.StringIO()
    assert main(["--config", str(config), "import-attendance", "--month", MONTH, "--to", "ledger"],
                env=cli_env(sandbox), stdout=out, stderr=io.StringIO()) == 0
    html = Path(out.getvalue().strip().splitlines()[-1][len("report: "):]).read_text(encoding="utf-8")
    assert "勤怠APIの答えになかった任意の項目" not in html  # served (the sandbox's default) when asked


def test_end_to_end_a_month_without_either_spelling_of_the_working_day_count_is_said(world):
    """出勤日数 is never a silent 0: no entry has workingDayCount nor workingdayCount → a warning naming both."""
    sandbox, config, ledger = world
    entries = [dict(e) for e in sandbox.state.monthly[MONTH]]
    for e in entries:
        e["workingDayCount"] = None  # the sandbox leaves a null out: absent, as on a tenant that omits it
    sandbox.state.set_monthly(MONTH, entries)

    result = run_import(sandbox, config)
    missing = [p for p in result["problems"] if p["code"] == "attendance-field-missing"]
    assert len(missing) == 1 and missing[0]["severity"] == "warning"
    assert "workingdayCount / workingDayCount" in missing[0]["message"] and "出勤日数" in missing[0]["message"]
    assert MONTH in missing[0]["message"]
    assert {r["working_days"] for r in ledger.monthly(MONTH)} == {0}

"""The ledger's monthly history: kept by every import, missing months said by name, backfill."""
from __future__ import annotations

import datetime as dt

import pytest
from conftest import client_for_sandbox
from test_ledger_store import monthly_row

from etl.attendance import checks
from etl.attendance.fetch import fetch_month
from etl.attendance.frame import build_frame
from etl.attendance.history import backfill, earliest_month, keep, plan_backfill
from etl.attendance.items import default_columns
from etl.attendance.transform import Person, transform_month
from etl.attendance.write import write_csv
from etl.ledger.store import open_ledger
from etl.sandbox.state import state_from_dict

H = 60
LIMITS = checks.Limits()


# --- missing months (pure) ----------------------------------------------------------------------

def test_a_missing_month_of_the_averages_is_named():
    limits = checks.Limits(fiscal_year_start_month=10)  # the fiscal year begins with the month itself
    held = ["2026-05", "2026-06", "2026-07", "2026-09"]
    problems = checks.missing_history("2026-10", limits, held)
    assert [(p.code, p.severity, p.value) for p in problems] == [("history-month-missing", "warning", "2026-08")]
    assert problems[0].message.startswith("2026-08 が未取込のため平均を計算できません")


def test_missing_months_of_the_fiscal_year_and_of_both():
    problems = checks.missing_history("2026-10", LIMITS, ["2026-06", "2026-07", "2026-08", "2026-09"])
    assert [(p.value, p.message.split("。")[0]) for p in problems] == [
        ("2026-04", "2026-04 が未取込のため年度の合計を計算できません"),
        ("2026-05", "2026-05 が未取込のため平均と年度の合計を計算できません")]
    assert checks.missing_history("2026-04", LIMITS, ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]) == []


def test_the_ledger_says_which_months_it_holds_and_whether_closed(ledger_url):
    ledger = open_ledger(ledger_url)
    ledger.upsert_monthly("2026-09", [monthly_row("001"), monthly_row("002")])
    ledger.upsert_monthly("2026-10", [monthly_row("001"), monthly_row("002", is_closing=False)])
    assert ledger.monthly_months(["2026-08", "2026-09", "2026-10"]) == {"2026-09": True, "2026-10": False}
    assert ledger.monthly_months([]) == {}


# --- backfill -----------------------------------------------------------------------------------

def test_the_api_window_is_three_years():
    assert earliest_month(dt.date(2026, 11, 26)) == "2023-11"  # the month holding 2023-11-26 is served
    assert earliest_month(dt.date(2026, 12, 1)) == "2023-12"


def test_the_backfill_plan():
    plan = plan_backfill("2026-10", 4, dt.date(2026, 11, 26), {"2026-08": True, "2026-09": False})
    assert plan.fetch == ["2026-06", "2026-07", "2026-09"] and plan.held_closed == ["2026-08"]
    old = plan_backfill("2024-01", 4, dt.date(2026, 11, 26), {})
    assert old.fetch == ["2023-11", "2023-12"]
    assert [(p.code, p.value) for p in old.problems] == [("backfill-out-of-window", "2023-09"),
                                                         ("backfill-out-of-window", "2023-10")]
    assert "2023-11 以降" in old.problems[0].message


# --- with the sandbox and a real ledger ----------------------------------------------------------

def world(months: dict[str, int]) -> dict:
    base = {"employeeCode": "E0001", "workingDayCount": 20, "assigned": 9600}
    return {"divisions": [{"code": "1000", "name": "本社"}], "workingTypes": [{"code": "1", "name": "正社員"}],
            "employees": [{"key": "key-e0001", "code": "E0001", "lastName": "山田", "firstName": "太郎",
                           "divisionCode": "1000", "typeCode": "1", "gender": "male"}],
            "closedMonths": sorted(months),
            "monthlyWorkings": {m: [{**base, "overtime": o, "unassigned": o}] for m, o in months.items()}}


PEOPLE = {"key-e0001": Person("E0001", "山田 太郎")}


def import_to_csv(client, ledger, month: str, folder) -> list:
    """What an import with the CSV target does with the history: the CSV, and the month kept."""
    table = transform_month(fetch_month(client, month), month, PEOPLE, imported_at="2026-11-26T12:00:00+09:00")
    write_csv(build_frame(table, default_columns()), folder / f"attendance_{month}.csv")
    keep(ledger, table)
    current = {c: checks.Figures(int(o), int(o) + int(h)) for c, o, h in zip(
        table.column("employee_code"), table.column("overtime_minutes"),
        table.column("legal_holiday_work_minutes"), strict=True)}
    history = checks.history_index(ledger.monthly_history(checks.history_months(month, LIMITS)))
    return checks.labour_law_problems(month, current, history, LIMITS)


def test_three_months_of_85_hours_with_the_csv_target_fire_the_80_hour_average(tmp_path, make_sandbox, ledger_url):
    months = {"2026-08": 85 * H, "2026-09": 85 * H, "2026-10": 85 * H}
    sandbox = make_sandbox(state_from_dict(world(months)))
    ledger = open_ledger(ledger_url)
    with client_for_sandbox(sandbox) as client:
        found = [import_to_csv(client, ledger, m, tmp_path) for m in months]
    assert [p.code for p in found[0]] == ["overtime-month-45h"]  # one month: no average yet
    assert [p.code for p in found[1]] == ["overtime-month-45h", "overtime-average-80h"]
    averages = [p for p in found[2] if p.code == "overtime-average-80h"]
    assert [p.employee_code for p in averages] == ["E0001"]  # the highest average; ties: the shortest window
    assert averages[0].value == "2026-09〜2026-10 (2か月)" and "85:00" in averages[0].message
    assert (tmp_path / "attendance_2026-10.csv").exists()
    assert ledger.monthly_months(list(months)) == dict.fromkeys(months, True)


def test_backfill_fetches_the_earlier_months_into_the_ledger(make_sandbox, ledger_url):
    months = {"2026-07": 90 * H, "2026-08": 90 * H, "2026-09": 70 * H, "2026-10": 85 * H}
    sandbox = make_sandbox(state_from_dict(world(months)))
    ledger = open_ledger(ledger_url)
    with client_for_sandbox(sandbox) as client:
        keep(ledger, transform_month(fetch_month(client, "2026-08"), "2026-08", PEOPLE))
        plan = plan_backfill("2026-10", 3, sandbox.clock.today(), ledger.monthly_months(["2026-07", "2026-08",
                                                                                          "2026-09"]))
        assert (plan.fetch, plan.held_closed) == (["2026-07", "2026-09"], ["2026-08"])
        sandbox.reset_counts()
        kept = list(backfill(client, ledger, plan, PEOPLE, paid_leave_codes=["1"], imported_at=""))
    assert kept == [("2026-07", 1), ("2026-09", 1)] and sandbox.counts["GET"] == 2
    assert [r["overtime_minutes"] for r in ledger.monthly_history(["2026-07", "2026-08", "2026-09"])] == \
        [90 * H, 90 * H, 70 * H]
    held = ledger.monthly_months(["2026-05", "2026-06", "2026-07", "2026-08", "2026-09"])
    assert [p.value for p in checks.missing_history("2026-10", checks.Limits(fiscal_year_start_month=7), held)] == \
        ["2026-05", "2026-06"]  # the averages still lack two months; the fiscal year (from July) is whole


@pytest.mark.parametrize("count", [1, 36])
def test_backfill_stays_within_the_window(count):
    plan = plan_backfill("2024-02", count, dt.date(2026, 11, 26), {})
    assert all(m >= "2023-11" for m in plan.fetch)
    assert len(plan.fetch) + len(plan.problems) == count

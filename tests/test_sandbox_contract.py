"""The sandbox answers with the documented fields of KOT_API.md (§2.1–2.6), no more and no fewer.

The field lists are transcribed once in fixtures/kot_api/fields.json (each list names its section).
Both worlds are checked: a generated one (``--employees``) and a state file's, whose month entries
are served as given over defaults for every missing field.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import requests

from etl.sandbox.state import state_from_dict

FIELDS = json.loads((Path(__file__).parent / "fixtures" / "kot_api" / "fields.json").read_text(encoding="utf-8"))
MONTHLY, DAILY, YEARLY = FIELDS["monthly"], FIELDS["daily"], FIELDS["yearly"]


def get(sandbox, path: str, **params) -> requests.Response:
    return requests.get(sandbox.url + path, params=params, timeout=10,
                        headers={"Authorization": f"Bearer {sandbox.token}"})


def ok(sandbox, path: str, **params):
    r = get(sandbox, path, **params)
    assert r.status_code == 200, r.text
    return r.json()


def assert_fields(item: dict, spec: dict, *, asked: tuple[str, ...] = (), where: str = "") -> None:
    """Every required field, the asked additional ones, nullable ones at most: nothing else."""
    keys = set(item)
    missing = set(spec["required"]) - keys
    assert not missing, f"{where}: missing {sorted(missing)} (KOT_API.md §{spec['section']})"
    allowed = set(spec["required"]) | set(spec.get("nullable", ())) | set(asked)
    extra = keys - allowed
    assert not extra, f"{where}: undocumented or not asked {sorted(extra)} (KOT_API.md §{spec['section']})"
    assert set(asked) <= keys, f"{where}: asked {sorted(set(asked) - keys)} not served"


def assert_keys(item: dict, names: list[str], where: str, *, exact: bool = True) -> None:
    if exact:
        assert set(item) == set(names), f"{where}: {sorted(item)} != {sorted(names)}"
    else:
        assert set(item) <= set(names), f"{where}: {sorted(set(item) - set(names))} undocumented"


def check_monthly(entries: list[dict], asked: tuple[str, ...] = ()) -> None:
    assert entries
    for e in entries:
        assert_fields(e, MONTHLY, asked=asked, where=f"monthly {e.get('employeeKey')}")
        for block in ("holidayWork", "legalHolidayWork", "generalHolidayWork", "premiumWork"):
            assert_keys(e[block], MONTHLY[block], f"monthly.{block}")
        for h in e["holidaysObtained"]:
            assert_keys(h, MONTHLY["holidaysObtained"], "monthly.holidaysObtained")
        for c in e["customMonthlyWorkings"]:
            assert_keys(c, MONTHLY["customMonthlyWorkings"], "monthly.customMonthlyWorkings")
        if "weeklyWork" in asked:
            assert_keys(e["weeklyWork"], MONTHLY["weeklyWork"], "monthly.weeklyWork")
        if "currentDateEmployee" in e:
            assert_fields(e["currentDateEmployee"], FIELDS["employee"], where="monthly.currentDateEmployee")


# --- a generated world ------------------------------------------------------------------------

@pytest.mark.parametrize("asked", [(), ("weeklyWork",), tuple(MONTHLY["additional"])],
                         ids=["plain", "weeklyWork", "every-additional-field"])
def test_monthly_entries_carry_every_documented_field(sandbox, asked):
    params = {"additionalFields": ",".join(asked)} if asked else {}
    check_monthly(ok(sandbox, "/monthly-workings/2026-10", **params), asked)


def test_daily_entries_carry_every_documented_field(sandbox):
    for asked in ((), ("currentDateEmployee",)):
        params = {"additionalFields": ",".join(asked)} if asked else {}
        days = ok(sandbox, "/daily-workings", start="2026-10-01", end="2026-10-31", **params)
        leave = 0
        for day in days:
            assert_keys(day, DAILY["outer"], "daily")
            for item in day["dailyWorkings"]:
                assert_fields(item, DAILY, asked=asked, where=f"daily {item['date']}")
                held = item["holidaysObtained"]
                assert_keys(held, DAILY["holidaysObtained"], "daily.holidaysObtained", exact=False)
                assert {"halfdayHolidays", "hourHolidays"} <= set(held)
                if "fulltimeHoliday" in held:
                    leave += 1
                    assert_keys(held["fulltimeHoliday"], DAILY["fulltimeHoliday"], "daily.fulltimeHoliday")
        assert leave  # somebody took a day off in October


def test_unknown_additional_fields_are_400(sandbox):
    for path, params in (("/monthly-workings/2026-10", {"additionalFields": "hiredDate"}),
                         ("/daily-workings", {"start": "2026-10-01", "end": "2026-10-02", "additionalFields": "weeklyWork"})):
        r = get(sandbox, path, **params)
        assert r.status_code == 400 and set(r.json()) == {"errors"}


def test_divisions_and_employees(sandbox):
    for d in ok(sandbox, "/divisions"):
        assert_keys(d, FIELDS["divisions"]["required"], "division")
    for e in ok(sandbox, "/employees", additionalFields=",".join(FIELDS["employee"]["additional"])):
        assert set(FIELDS["employee"]["required"]) <= set(e)
        assert set(e) <= set(FIELDS["employee"]["required"]) | set(FIELDS["employee"]["additional"])
        assert e["employeeGroups"] == []


@pytest.mark.parametrize("path,params", [
    ("/monthly-workings/2023-10", {}),  # more than 3 years before 2026-11-26
    ("/monthly-workings/2027-12", {}),  # more than 1 year ahead
    ("/daily-workings", {"start": "2023-11-01", "end": "2023-11-30"}),
    ("/daily-workings", {"start": "2027-11-01", "end": "2027-11-30"}),
], ids=["month-too-old", "month-too-far", "days-too-old", "days-too-far"])
def test_outside_the_date_windows_is_400_with_the_error_body(sandbox, path, params):
    r = get(sandbox, path, **params)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert list(r.json()) == ["errors"] and all(set(e) == {"message", "code"} and isinstance(e["code"], int)
                                                for e in errors)
    assert "3年前" in errors[0]["message"]


def test_edges_of_the_date_windows_are_served(sandbox):
    assert ok(sandbox, "/monthly-workings/2023-11") is not None  # it holds 2023-11-26, 3 years back
    assert ok(sandbox, "/monthly-workings/2027-11") is not None  # it begins within a year
    assert ok(sandbox, "/daily-workings", start="2023-11-26", end="2023-12-01")


def test_yearly_leave_of_a_generated_world(sandbox):
    answer = ok(sandbox, "/yearly-workings/holidays/1/2026", additionalFields="currentDateEmployee")
    assert_keys(answer, YEARLY["required"], "yearly")
    assert (answer["year"], answer["startDate"], answer["endDate"]) == (2026, "2026-04-01", "2027-03-31")
    assert answer["employees"]
    granted = 0
    for e in answer["employees"]:
        assert_keys(e, YEARLY["employee"] + YEARLY["employee_additional"], "yearly.employee")
        assert e["currentDateEmployee"]["typeCode"] == "1"
        for h in e["holidays"]:
            assert_keys(h, YEARLY["holiday"], "yearly.holiday")
            for name in ("granted", "obtained", "remained"):
                for x in h[name]:
                    assert_keys(x, YEARLY[name], f"yearly.{name}")
                    assert "2026-04-01" <= x["date"] <= "2027-03-31"
            granted += len(h["granted"])
    assert granted
    assert ok(sandbox, "/yearly-workings/holidays/1/26")["startDate"] == "0026-04-01"  # any integer (§2.6)
    for year in ("abc", "2026.5", "-1"):
        assert get(sandbox, f"/yearly-workings/holidays/1/{year}").status_code == 400
    assert get(sandbox, "/yearly-workings/holidays/99/2026").status_code == 400


def test_monthly_leave_and_yearly_leave_agree(sandbox):
    """The days a generated employee took in October are the same in both answers."""
    monthly = {e["employeeKey"]: sum(h["dayCount"] for h in e["holidaysObtained"] if h["code"] == 1)
               for e in ok(sandbox, "/monthly-workings/2026-10")}
    yearly: dict[str, float] = {}
    for type_code in ("1", "2", "3", "4", "5"):
        for e in ok(sandbox, f"/yearly-workings/holidays/{type_code}/2026")["employees"]:
            for h in e["holidays"]:
                yearly[e["employeeKey"]] = yearly.get(e["employeeKey"], 0) + sum(
                    o["days"] for o in h["obtained"] if o["date"].startswith("2026-10"))
    assert any(monthly.values())
    for key, days in monthly.items():
        assert yearly.get(key, 0) == days, key


# --- a state file's world ---------------------------------------------------------------------

STATE = {
    "divisions": [{"code": "1000", "name": "本社"}, {"code": "2000", "name": "支店", "dayBorderTime": "05:00"}],
    "workingTypes": [{"code": "1", "name": "正社員"}],
    "employees": [{"code": "E001", "lastName": "山田", "firstName": "花子", "divisionCode": "1000", "typeCode": "1",
                   "gender": "female", "employeeGroups": [{"code": "G1", "name": "管理職"}]},
                  {"code": "E002", "lastName": "佐藤", "firstName": "一郎", "divisionCode": "2000", "typeCode": "1",
                   "gender": "male"}],
    "employeeGroups": [{"code": "G1", "name": "管理職"}],
    "closedMonths": ["2026-09"],
    "monthlyWorkings": {
        "2026-09": [{"employeeCode": "E001", "overtime": 600}],
        "2026-10": [{"employeeCode": "E001", "overtime": 2760, "isClosing": True,
                     "weeklyWork": {"overtime": 120, "nightOvertime": 0, "generalHolidayOvertime": 0,
                                    "generalHolidayNightOvertime": 0}},
                    {"employeeCode": "E002", "legalHolidayWork": {"normal": 480, "dayCount": 1},
                     "premiumWork": {"overtime1": 0}}],
    },
    "yearlyHolidays": {"2026": [{"employeeCode": "E001", "holidays": [
        {"code": 1, "name": "有休", "granted": [{"date": "2026-04-01", "days": 10, "minutes": 0,
                                                "effectivePeriod": "2028-03-31"}],
         "obtained": [{"date": "2026-05-01", "days": 0.5, "minutes": 0}]}]}]},
}


@pytest.fixture
def world(make_sandbox):
    return make_sandbox(state_from_dict(STATE))


def test_state_file_months_are_served_as_given_with_defaults(world):
    check_monthly(ok(world, "/monthly-workings/2026-10"))
    check_monthly(ok(world, "/monthly-workings/2026-10", additionalFields="weeklyWork,isConfirmation"),
                  ("weeklyWork", "isConfirmation"))
    by_overtime = {e["overtime"]: e for e in ok(world, "/monthly-workings/2026-10", additionalFields="weeklyWork")}
    assert by_overtime[2760]["weeklyWork"]["overtime"] == 120  # as given
    assert by_overtime[0]["weeklyWork"] == dict.fromkeys(MONTHLY["weeklyWork"], 0)  # the default
    assert "weeklyWork" not in ok(world, "/monthly-workings/2026-10")[0]  # only when asked
    # an object given in part: what it gives, the rest of its documented fields at their defaults
    assert by_overtime[0]["legalHolidayWork"] == {**dict.fromkeys(MONTHLY["legalHolidayWork"], 0),
                                                  "normal": 480, "dayCount": 1}
    assert by_overtime[0]["premiumWork"] == dict.fromkeys(MONTHLY["premiumWork"], 0)


def test_closing_follows_the_state(world):
    assert [e["isClosing"] for e in ok(world, "/monthly-workings/2026-09")] == [True]  # closedMonths
    assert {e["overtime"]: e["isClosing"] for e in ok(world, "/monthly-workings/2026-10")} == {2760: True, 0: False}
    assert not any(e["isClosing"] for e in ok(world, "/monthly-workings/2026-08"))  # ended, not closed
    world.state.close_month("2026-08")
    assert all(e["isClosing"] for e in ok(world, "/monthly-workings/2026-08"))
    days = ok(world, "/daily-workings", start="2026-08-30", end="2026-09-01")
    assert [all(i["isClosing"] for i in d["dailyWorkings"]) for d in days] == [True, True, True]


def test_state_file_divisions_and_groups(world):
    assert {d["code"]: d["dayBorderTime"] for d in ok(world, "/divisions")} == {"1000": "00:00", "2000": "05:00"}
    groups = {e["code"]: e["employeeGroups"] for e in ok(world, "/employees")}
    assert groups == {"E001": [{"code": "G1", "name": "管理職"}], "E002": []}
    assert ok(world, "/employee-groups") == [{"code": "G1", "name": "管理職"}]
    r = requests.put(world.url + "/employees/" + world.state.record_by_code("E002").key, timeout=10,
                     headers={"Authorization": f"Bearer {world.token}"}, json={"employeeGroups": []})
    assert r.status_code == 400  # returned only


def test_yearly_leave_from_the_state_file(world):
    answer = ok(world, "/yearly-workings/holidays/1/2026")
    key = world.state.record_by_code("E001").key
    assert answer["employees"] == [{"employeeKey": key, "holidays": [
        {"code": 1, "name": "有休", "granted": [{"date": "2026-04-01", "days": 10, "minutes": 0,
                                                "effectivePeriod": "2028-03-31"}],
         "obtained": [{"date": "2026-05-01", "days": 0.5, "minutes": 0}], "remained": [], "expired": []}]}]
    assert ok(world, "/yearly-workings/holidays/1/2025")["employees"] == []  # a 年度 the file does not give
    world.state.set_yearly_holidays(2025, [{"employeeCode": "E001", "holidays": [
        {"code": 1, "name": "有休", "granted": None, "obtained": [{"date": "2025-05-01", "days": 1, "minutes": 0}]}]}])
    holiday = ok(world, "/yearly-workings/holidays/1/2025")["employees"][0]["holidays"][0]
    assert holiday["granted"] == [] and set(holiday) == set(YEARLY["holiday"])  # a null given: the default


def test_state_file_round_trip_keeps_the_attendance_keys():
    state = state_from_dict(STATE)
    again = state_from_dict(json.loads(json.dumps(state.to_dict(), ensure_ascii=False)))
    assert again.to_dict() == state.to_dict()
    assert again.to_dict()["closedMonths"] == ["2026-09"] and "yearlyHolidays" in again.to_dict()


@pytest.mark.parametrize("key,value", [("closedMonths", ["2026-9"]), ("yearlyHolidays", {"2026": {}}),
                                       ("businessYearStartDate", "4/1"), ("employeeGroups", [{"name": "x"}])])
def test_bad_attendance_keys_are_named(key, value):
    with pytest.raises(ValueError) as err:
        state_from_dict({**STATE, key: value})
    assert key in str(err.value)


def test_the_sandbox_command_closes_ended_months_only_when_asked():
    from etl.app.options import SandboxOptions
    from etl.app.sandbox import sandbox_options

    plain = sandbox_options(SandboxOptions(employees=3, clock="2026-11-26T12:00:00+09:00"), {})["state"]
    closing = sandbox_options(SandboxOptions(employees=3, clock="2026-11-26T12:00:00+09:00",
                                             close_ended_months=True), {})["state"]
    today = dt.date(2026, 11, 26)
    assert not plain.is_closed("2026-10", today)
    assert closing.is_closed("2026-10", today) and not closing.is_closed("2026-11", today)
    assert plain.attendance.generated_leave  # --employees worlds answer the yearly leave endpoint

"""Deterministic demo data: the generated company, its monthly figures, state files."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from etl.sandbox.data import (
    DIVISIONS,
    Draws,
    daily_working,
    generate_state,
    monthly_working,
    weekdays,
)
from etl.sandbox.state import CODE_RE, load_state

TODAY = dt.date(2026, 11, 26)


def test_generation_is_deterministic():
    a = generate_state(200, 5, TODAY).to_dict()
    assert a == generate_state(200, 5, TODAY).to_dict()
    assert a != generate_state(200, 6, TODAY).to_dict()
    # a bigger company starts with the same people (benchmarks can grow it)
    assert generate_state(300, 5, TODAY).to_dict()["employees"][:200] == a["employees"]


def test_generated_company_looks_real():
    state = generate_state(500, 1, TODAY)
    people = state.to_dict()["employees"]
    assert len(people) == 500 and len({p["code"] for p in people}) == 500
    assert all(CODE_RE.fullmatch(p["code"]) for p in people)
    assert people[0]["code"] == "00001"  # leading zeros kept
    assert all(re.fullmatch(r"[\u3040-\u30ff\u4e00-\u9fff\uf900-\ufaff々]+", p["lastName"] + p["firstName"])
               for p in people)
    assert all(re.fullmatch(r"[ァ-ヶー]+", p["lastNamePhonetics"]) for p in people)
    assert len({p["divisionCode"] for p in people}) == len(DIVISIONS)
    assert len({p["typeCode"] for p in people}) == 5
    assert {p["gender"] for p in people} == {"male", "female"}
    today = TODAY.isoformat()
    assert any(p.get("resignationDate", "9") < today for p in people)  # already left
    assert any(p.get("resignationDate", "0") > today for p in people)  # leaving soon
    assert any(p["hiredDate"] > today for p in people)  # joining soon
    assert sum(1 for p in people if "history" in p) > 20  # transfers in the past
    assert all(len(p["key"]) == 64 for p in people)


def test_monthly_working_is_deterministic_per_employee_and_month():
    a = monthly_working(1, "k" * 64, "2026-10", TODAY)
    assert a == monthly_working(1, "k" * 64, "2026-10", TODAY)
    assert a != monthly_working(1, "k" * 64, "2026-09", TODAY)
    assert a != monthly_working(2, "k" * 64, "2026-10", TODAY)


def test_monthly_figures_have_outliers_absences_and_paid_leave():
    entries = [monthly_working(1, f"{i:064x}", "2026-10", TODAY) for i in range(2000)]
    over_45 = [e for e in entries if e["overtime"] > 45 * 60]
    over_100 = [e for e in entries if e["overtime"] + e["holidayWork"]["normal"] >= 100 * 60]
    assert 60 < len(over_45) < 250 and 10 < len(over_100) < 60
    assert any(e["absentdayCount"] for e in entries)
    assert any(e["lateCount"] and e["late"] for e in entries)
    paid = [h for e in entries for h in e["holidaysObtained"]]
    assert paid and all(h["code"] == 1 and h["name"] == "有休" and h["dayCount"] >= 1 for h in paid)
    for e in entries:
        assert e["workingDayCount"] >= e["weekdayWorkingdayCount"]
        assert e["holidayWork"]["normal"] == e["legalHolidayWork"]["normal"] + e["generalHolidayWork"]["normal"]
        assert e["weekdayWorkingdayCount"] + e["absentdayCount"] + sum(h["dayCount"] for h in e["holidaysObtained"]) \
            == weekdays(dt.date(2026, 10, 1), dt.date(2026, 10, 31))


@pytest.mark.parametrize("hired,resigned,expected", [
    ("2026-12-01", None, None), (None, "2026-09-30", None), ("2026-10-15", None, 12), (None, "2026-10-09", 7)],
    ids=["hired-later", "left-before", "hired-mid-month", "left-mid-month"])
def test_monthly_working_follows_employment(hired, resigned, expected):
    entry = monthly_working(1, "k" * 64, "2026-10", TODAY, hired=hired, resigned=resigned)
    if expected is None:
        assert entry is None
    else:
        counted = entry["weekdayWorkingdayCount"] + entry["absentdayCount"] + \
            sum(h["dayCount"] for h in entry["holidaysObtained"])
        assert counted == expected


def test_current_month_counts_only_past_days():
    entry = monthly_working(1, "k" * 64, "2026-11", TODAY)
    counted = entry["weekdayWorkingdayCount"] + entry["absentdayCount"] + \
        sum(h["dayCount"] for h in entry["holidaysObtained"])
    assert counted == weekdays(dt.date(2026, 11, 1), dt.date(2026, 11, 25)) and entry["isClosing"] is False
    assert monthly_working(1, "k" * 64, "2027-01", TODAY)["workingDayCount"] == 0


def test_daily_working_weekend_and_future_are_zero():
    saturday = daily_working(1, "k" * 64, dt.date(2026, 10, 3), TODAY)
    assert saturday["workdayTypeName"] == "法定外休日" and saturday["totalWork"] == 0
    assert daily_working(1, "k" * 64, dt.date(2026, 11, 30), TODAY)["assigned"] == 0
    monday = daily_working(1, "k" * 64, dt.date(2026, 10, 5), TODAY, closing=True)
    assert monday["workdayTypeName"] == "平日" and monday["isClosing"] is True


def test_draws_are_uniform_and_stable():
    d, again = Draws(1, "key", "2026-10"), Draws(1, "key", "2026-10")
    values = [d.random() for _ in range(32)]
    assert values == [again.random() for _ in range(32)]
    assert all(0 <= v < 1 for v in values)
    assert all(1 <= Draws(i, "k", "m").randint(1, 3) <= 3 for i in range(200))


def test_state_file_round_trip(tmp_path):
    state = generate_state(30, 2, TODAY)
    state.set_monthly("2026-10", [{"employeeCode": "00001", "overtime": 3000}])
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state.to_dict(), ensure_ascii=False), encoding="utf-8")
    loaded = load_state(path)
    assert loaded.to_dict() == state.to_dict()
    assert loaded.get("00001", dt.date(2020, 1, 1)) == state.get("00001", dt.date(2020, 1, 1))


@pytest.mark.parametrize("content,needle", [
    (None, "見つかりません"),
    ("{broken", "JSON"),
    ('["a"]', "JSON オブジェクト"),
    ('{"divisions": [], "workingTypes": "x"}', "workingTypes"),
    ('{"divisions": [{"code": "1", "name": "本社"}], "workingTypes": [{"code": "1", "name": "正社員"}],'
     ' "employees": [{"code": "E1"}]}', "employees[0]"),
    ('{"divisions": [{"code": "1", "name": "本社"}], "workingTypes": [{"code": "1", "name": "正社員"}],'
     ' "employees": [{"code": "E001", "lastName": "a", "firstName": "b", "gender": "male", "divisionCode": "9",'
     ' "typeCode": "1"}]}', "9"),
    ('{"divisions": [{"code": "1", "name": "本社"}], "workingTypes": [{"code": "1", "name": "正社員"}],'
     ' "monthlyWorkings": {"2026-10": {}}}', "monthlyWorkings"),
], ids=["missing", "not-json", "not-an-object", "bad-types", "missing-fields", "unknown-division", "bad-monthly"])
def test_bad_state_files(tmp_path, content, needle):
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_state(path)
    assert needle in str(err.value) and "state.json" in str(err.value)


def test_created_employees_get_the_same_keys_and_figures_in_any_order():
    """Concurrent syncs create employees in a different order each run: keys (and so the
    monthly figures seeded per key and month) depend on the code, not on the order."""
    def world(codes):
        state = generate_state(0, 3, TODAY)
        for code in codes:
            state.create({"code": code, "lastName": "山田", "firstName": "花子", "divisionCode": "1000",
                          "typeCode": "1", "gender": "female"}, TODAY)
        return {code: state.get(code)["key"] for code in codes}

    codes = [f"S{i:03d}" for i in range(20)]
    forward, backward = world(codes), world(list(reversed(codes)))
    assert forward == backward
    assert [monthly_working(3, forward[c], "2026-10", TODAY) for c in codes] == \
        [monthly_working(3, backward[c], "2026-10", TODAY) for c in codes]
    state = generate_state(0, 3, TODAY)
    body = {"code": "S001", "lastName": "山田", "firstName": "花子", "divisionCode": "1000", "typeCode": "1",
            "gender": "female"}
    first = state.create(body, TODAY).key
    state.delete(first)
    assert state.create(body, TODAY).key != first  # created again: a new key, as KOT gives

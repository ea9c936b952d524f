"""Sandbox conformance with plain HTTP calls: it answers as KOT does (DESIGN § The attendance API)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import requests

from etl.clock import ManualClock
from etl.sandbox.state import state_from_dict

RESTRICTED = "次の時間帯(JST)はAPIへのアクセスが禁止されています [08:30 ~ 10:00, 17:30 ~ 18:30]"


class Http:
    """requests with the sandbox's token (or another)."""

    def __init__(self, sandbox, token: str | None = None):
        self.base = sandbox.url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {token or sandbox.token}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kwargs)


@pytest.fixture
def http(sandbox):
    return Http(sandbox)


def body(code="S001", **extra):
    return {"code": code, "lastName": "山田", "firstName": "花子", "divisionCode": "1000", "typeCode": "1",
            "gender": "female", **extra}


def codes(response) -> list:
    return [e["code"] for e in response.json()["errors"]]


# --- auth, restricted hours, throttling -------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer wrong", "sandbox-token"], ids=["missing", "wrong", "no-bearer"])
def test_auth_failure_is_403_code_100(sandbox, header):
    headers = {"Authorization": header} if header else {}
    r = requests.get(sandbox.url + "/divisions", headers=headers, timeout=10)
    assert r.status_code == 403
    assert r.json() == {"errors": [{"message": "認証に失敗しました", "code": 100}]}


def test_token_endpoint(http, sandbox):
    assert http("GET", f"/tokens/{sandbox.token}/available").json() == {"available": True}
    assert http("GET", "/tokens/other-token/available").json() == {"available": False}


def test_restricted_hours_by_the_sandbox_clock(make_sandbox):
    sb = make_sandbox(clock=ManualClock("2026-11-26T08:30:00+09:00"))
    http = Http(sb)
    r = http("GET", "/employees")
    assert r.status_code == 403 and r.json() == {"errors": [{"message": RESTRICTED, "code": 104}]}
    assert http("GET", f"/tokens/{sb.token}/available").status_code == 200
    sb.clock.advance(90 * 60)  # 10:00: open again
    assert http("GET", "/employees").status_code == 200


def test_throttling_is_429_code_303(make_sandbox):
    sb = make_sandbox(rate_limit=(3, 60))
    http = Http(sb)
    assert [http("GET", "/divisions").status_code for _ in range(3)] == [200] * 3
    r = http("GET", "/divisions")
    assert r.status_code == 429 and r.json() == {"code": "303", "message": "Too Many Requests"}
    assert 1 <= int(r.headers["Retry-After"]) <= 61
    sb.clock.advance(60)
    assert http("GET", "/divisions").status_code == 200


def test_ip_allow_list_is_403_code_105(make_sandbox):
    sb = make_sandbox(allowed_ips={"198.51.100.1"})
    r = Http(sb)("GET", "/divisions")
    assert r.status_code == 403 and codes(r) == [105]


def test_unknown_path_and_method(http):
    assert http("GET", "/nothing").status_code == 404
    assert http("PATCH", "/employees").status_code in (404, 405, 501)
    assert http("POST", "/divisions", json={}).status_code == 405


# --- masters and employees --------------------------------------------------------------------

def test_masters(http):
    divisions = http("GET", "/divisions").json()
    assert {"code", "name", "dayBorderTime"} <= divisions[0].keys() and len(divisions) >= 5
    assert len(http("GET", "/working-types").json()) >= 3


def test_optional_fields_only_when_named_and_nulls_omitted(http):
    plain = http("GET", "/employees").json()
    assert set().union(*plain) <= {"code", "key", "lastName", "firstName", "divisionCode", "divisionName",
                                   "typeCode", "typeName", "gender", "employeeGroups"}
    assert all(e["employeeGroups"] == [] for e in plain)  # returned always, [] when none (KOT_API.md §2.2)
    full = http("GET", "/employees", params={"additionalFields": "hiredDate,emailAddresses,lastNamePhonetics"}).json()
    assert all("lastNamePhonetics" in e for e in full)
    assert any("emailAddresses" not in e for e in full)  # null is omitted, not sent as null
    assert all(v is not None for e in full for v in e.values())
    r = http("GET", "/employees", params={"additionalFields": "salary"})
    assert r.status_code == 400


def test_include_resigner(http, sandbox):
    http("POST", "/employees", json=body("S010", resignationDate="2026-10-31"))
    http("POST", "/employees", json=body("S011", resignationDate=sandbox.clock.today().isoformat()))
    active = [e["code"] for e in http("GET", "/employees").json()]
    assert "S010" not in active and "S011" in active  # leaving today is not resigned yet
    every = [e["code"] for e in http("GET", "/employees", params={"includeResigner": "true"}).json()]
    assert "S010" in every
    assert http("GET", "/employees", params={"date": "2026-10-15"}).json()  # as of a past day
    assert "S010" in [e["code"] for e in http("GET", "/employees", params={"date": "2026-10-31"}).json()]
    assert http("GET", "/employees/S010").status_code == 404
    assert http("GET", "/employees/S010", params={"includeResigner": "true"}).json()["code"] == "S010"
    assert http("GET", "/employees", params={"includeResigner": "yes"}).status_code == 400


def test_date_query_format_and_range(http):
    r = http("GET", "/employees", params={"date": "2026/11/01"})
    assert r.status_code == 400 and codes(r) == [2]
    assert http("GET", "/employees", params={"date": "2020-01-01"}).status_code == 400  # > 3 years back


def test_division_filter(http):
    r = http("GET", "/employees", params={"division": "1000"}).json()
    assert {e["divisionCode"] for e in r} <= {"1000"}


# --- POST validation --------------------------------------------------------------------------

def test_create_assigns_a_64_hex_key(http):
    r = http("POST", "/employees", json=body("S001", emailAddresses=["h@example.co.jp"]))
    assert r.status_code == 201
    created = r.json()
    assert re.fullmatch(r"[0-9a-f]{64}", created["key"])
    assert created["divisionName"] == "本社" and created["emailAddresses"] == ["h@example.co.jp"]
    assert http("GET", "/employees/S001").json()["key"] == created["key"]


@pytest.mark.parametrize("change,needle", [
    ({"lastName": None}, "lastName"),
    ({"gender": "other"}, "gender"),
    ({"code": "AB"}, "code"),
    ({"code": "ABCDEFGHIJK"}, "code"),
    ({"code": "ＡＢＣ１"}, "code"),
    ({"code": "A-01"}, "code"),
    ({"divisionCode": "9999"}, "9999"),
    ({"typeCode": "99"}, "99"),
    ({"birthDate": "1990/01/01"}, "birthDate"),
    ({"emailAddresses": "a@example.co.jp"}, "emailAddresses"),
    ({"key": "mine"}, "key"),
], ids=["required-missing", "gender-enum", "code-too-short", "code-too-long", "code-full-width",
        "code-symbol", "unknown-division", "unknown-type", "date-format", "emails-not-a-list", "read-only-key"])
def test_create_validation(http, change, needle):
    data = {k: v for k, v in {**body("S002"), **change}.items() if v is not None}
    r = http("POST", "/employees", json=data)
    assert r.status_code == 400
    assert any(needle in e["message"] for e in r.json()["errors"])
    assert http("GET", f"/employees/{data.get('code', 'S002')}").status_code == 404


def test_create_reports_every_missing_field(http):
    r = http("POST", "/employees", json={})
    assert r.status_code == 400 and len(r.json()["errors"]) == 6


def test_duplicate_code_is_400(http):
    assert http("POST", "/employees", json=body("S003")).status_code == 201
    r = http("POST", "/employees", json=body("S003"))
    assert r.status_code == 400 and "S003" in r.json()["errors"][0]["message"]


def test_not_json_is_400(http):
    assert http("POST", "/employees", data=b"{not json").status_code == 400


# --- PUT and DELETE ---------------------------------------------------------------------------

def test_put_blank_sets_null_and_keeps_the_rest(http):
    key = http("POST", "/employees", json=body("S004", hiredDate="2020-04-01", birthDate="1990-01-01")).json()["key"]
    r = http("PUT", f"/employees/{key}", json={"hiredDate": ""})
    assert r.status_code == 200
    after = r.json()
    assert "hiredDate" not in after and after["birthDate"] == "1990-01-01" and after["lastName"] == "山田"
    assert http("PUT", f"/employees/{key}", json={"lastName": ""}).status_code == 400  # required


def test_put_code_change_keeps_the_key(http):
    key = http("POST", "/employees", json=body("S005")).json()["key"]
    assert http("PUT", f"/employees/{key}", json={"code": "S006"}).json()["key"] == key
    assert http("GET", "/employees/S005").status_code == 404
    assert http("GET", "/employees/S006").json()["key"] == key


def test_put_update_date_is_effective_dated(http):
    key = http("POST", "/employees", json=body("S007")).json()["key"]
    r = http("PUT", f"/employees/{key}", params={"updateDate": "2027-01-01"},
             json={"divisionCode": "2000", "typeCode": "2"})
    assert r.status_code == 200
    def as_of(day):
        return http("GET", "/employees/S007", params={"date": day}).json()
    assert (as_of("2026-12-31")["divisionCode"], as_of("2026-12-31")["typeCode"]) == ("1000", "1")
    assert (as_of("2027-01-01")["divisionCode"], as_of("2027-01-01")["typeName"]) == ("2000", "契約社員")
    listed = {e["code"]: e for e in http("GET", "/employees", params={"date": "2027-01-02"}).json()}
    assert listed["S007"]["divisionName"] == "営業本部"
    assert http("GET", "/employees/S007").json()["divisionCode"] == "1000"  # today: not yet


@pytest.mark.parametrize("update_date,code", [("2026-13-01", 2), ("20261201", 2)], ids=["no-such-day", "no-dashes"])
def test_put_bad_update_date(http, update_date, code):
    key = http("POST", "/employees", json=body("S008")).json()["key"]
    r = http("PUT", f"/employees/{key}", params={"updateDate": update_date}, json={"divisionCode": "2000"})
    assert r.status_code == 400 and codes(r) == [code]


def test_a_back_dated_update_date_is_taken_as_sent(http):
    """No published rule limits updateDate: the sandbox takes a date before this month."""
    key = http("POST", "/employees", json=body("S010")).json()["key"]
    r = http("PUT", f"/employees/{key}", params={"updateDate": "2026-10-15"}, json={"divisionCode": "2000"})
    assert r.status_code == 200
    on = http("GET", "/employees/S010", params={"date": "2026-10-15"}).json()
    assert on["divisionCode"] == "2000"


def test_the_unpublished_update_date_window_only_behind_its_flag(sandbox, http):
    key = http("POST", "/employees", json=body("S011")).json()["key"]
    sandbox.api.strict_update_date = True
    r = http("PUT", f"/employees/{key}", params={"updateDate": "2026-10-31"}, json={"divisionCode": "2000"})
    assert r.status_code == 400 and codes(r) == [1]


def test_put_present_and_empty_clears_an_optional_item_and_refuses_a_required_one(http):
    key = http("POST", "/employees", json=body("S012", emailAddresses=["a@example.jp"], birthDate="1990-01-02",
                                               lastNamePhonetics="ヤマダ")).json()["key"]
    params = {"additionalFields": "emailAddresses,birthDate,lastNamePhonetics"}
    r = http("PUT", f"/employees/{key}", json={"emailAddresses": "", "birthDate": "", "lastNamePhonetics": ""})
    assert r.status_code == 200
    got = http("GET", "/employees/S012", params=params).json()
    assert not {"emailAddresses", "birthDate", "lastNamePhonetics"} & set(got)
    r = http("PUT", f"/employees/{key}", json={"lastName": ""})
    assert r.status_code == 400 and "lastName" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("day", ["2023-11-25", "2027-11-27"], ids=["over-3-years-back", "over-a-year-ahead"])
def test_employees_as_of_a_date_outside_the_window_is_400_with_the_error_body(http, day):
    for path in ("/employees", "/employees/S001"):
        r = http("GET", path, params={"date": day})
        assert r.status_code == 400 and set(r.json()) == {"errors"}
        assert day in r.json()["errors"][0]["message"]


def test_employees_as_of_the_window_edges_is_served(http):
    http("POST", "/employees", json=body("S013"))
    for day in ("2023-11-26", "2027-11-26"):
        assert http("GET", "/employees", params={"date": day}).status_code == 200


def test_put_and_delete_unknown_key_are_404(http):
    assert http("PUT", "/employees/" + "0" * 64, json={"lastName": "x"}).status_code == 404
    assert http("DELETE", "/employees/" + "0" * 64).status_code == 404


def test_delete_is_204(http):
    key = http("POST", "/employees", json=body("S009")).json()["key"]
    r = http("DELETE", f"/employees/{key}")
    assert r.status_code == 204 and r.content == b""
    assert http("GET", "/employees/S009", params={"includeResigner": "true"}).status_code == 404


# --- attendance -------------------------------------------------------------------------------

@pytest.mark.parametrize("month", ["2026-1", "2026-13", "2026-10-01", "202610", "latest"])
def test_monthly_workings_format_is_code_2(http, month):
    r = http("GET", f"/monthly-workings/{month}")
    assert r.status_code == 400 and codes(r) == [2]


def test_monthly_workings_shape(http, sandbox):
    assert all(not e["isClosing"] for e in http("GET", "/monthly-workings/2026-10").json())  # until closed
    sandbox.state.close_month("2026-10")  # the administrator closes October
    closed = http("GET", "/monthly-workings/2026-10").json()
    keys = {e["key"] for e in http("GET", "/employees", params={"includeResigner": "true"}).json()}
    assert closed and {e["employeeKey"] for e in closed} <= keys
    first = closed[0]
    for name in ("employeeKey", "startDate", "endDate", "workingDayCount", "absentdayCount", "lateCount",
                 "earlyLeaveCount", "late", "earlyLeave", "assigned", "unassigned", "overtime", "night",
                 "nightOvertime", "holidayWork", "legalHolidayWork", "generalHolidayWork", "holidaysObtained"):
        assert name in first
    assert (first["startDate"], first["endDate"], first["isClosing"]) == ("2026-10-01", "2026-10-31", True)
    assert all(not e["isClosing"] for e in http("GET", "/monthly-workings/2026-11").json())
    assert http("GET", "/monthly-workings/2026-10").json() == closed  # deterministic
    division = http("GET", "/monthly-workings/2026-10", params={"division": "1000"}).json()
    assert len(division) < len(closed)


def test_monthly_workings_from_the_state_file(make_sandbox):
    doc = {"divisions": [{"code": "1000", "name": "本社"}], "workingTypes": [{"code": "1", "name": "正社員"}],
           "employees": [body("E001"), body("E002")], "closedMonths": ["2026-10"],
           "monthlyWorkings": {"2026-10": [{"employeeCode": "E001", "overtime": 2760,
                                            "holidaysObtained": [{"code": 1, "name": "有休", "dayCount": 2}]}]}}
    sb = make_sandbox(state_from_dict(doc))
    http = Http(sb)
    entries = http("GET", "/monthly-workings/2026-10").json()
    key = http("GET", "/employees/E001").json()["key"]
    assert len(entries) == 1  # exactly the world of the file
    assert entries[0]["employeeKey"] == key and entries[0]["overtime"] == 2760
    assert entries[0]["isClosing"] is True and entries[0]["absentdayCount"] == 0
    assert len(http("GET", "/monthly-workings/2026-09").json()) == 2  # other months are generated


def test_daily_workings_range(http):
    ok = http("GET", "/daily-workings", params={"start": "2026-09-01", "end": "2026-11-01"})
    assert ok.status_code == 200 and len(ok.json()) == 62
    day = ok.json()[0]
    assert day["date"] == "2026-09-01" and day["dailyWorkings"][0]["date"] == "2026-09-01"
    assert http("GET", "/daily-workings", params={"start": "2026-09-01", "end": "2026-11-02"}).status_code == 400
    assert http("GET", "/daily-workings", params={"start": "2026-09-01"}).status_code == 400
    assert http("GET", "/daily-workings", params={"start": "2026-11-02", "end": "2026-11-01"}).status_code == 400
    r = http("GET", "/daily-workings", params={"start": "2026-9-1", "end": "2026-11-01"})
    assert r.status_code == 400 and codes(r) == [2]


# --- faults and counts ------------------------------------------------------------------------

def _statuses(sandbox, n=30) -> list:
    http = Http(sandbox)
    out = []
    for _ in range(n):
        try:
            out.append(http("GET", "/divisions").status_code)
        except requests.ConnectionError:
            out.append("dropped")
    return out


def test_random_faults_are_seeded(make_sandbox):
    first = _statuses(make_sandbox(fault_rate=0.4, seed=3))
    again = _statuses(make_sandbox(fault_rate=0.4, seed=3))
    assert first == again
    assert {500, "dropped", 200} <= set(first)


def test_drop_after_applies_the_write(http, sandbox):
    sandbox.fail_next("drop_after", method="POST")
    with pytest.raises(requests.ConnectionError):
        http("POST", "/employees", json=body("S020"))
    assert sandbox.state.get("S020") is not None


def test_500_fault_body(http, sandbox):
    sandbox.fail_next("500")
    r = http("GET", "/divisions")
    assert r.status_code == 500 and r.json() == {"errors": [{"message": "Resource Server Error.", "code": 300}]}


def test_counts(http, sandbox):
    key = http("POST", "/employees", json=body("S030")).json()["key"]
    http("PUT", f"/employees/{key}", json={"firstName": "桜"})
    http("GET", "/employees")
    assert (sandbox.counts["GET"], sandbox.counts["POST"], sandbox.counts["PUT"], sandbox.writes()) == (1, 1, 1, 2)
    sandbox.reset_counts()
    assert sandbox.writes() == 0


def test_employees_answer_reflects_writes(http):
    before = len(http("GET", "/employees").json())  # cached answer
    http("POST", "/employees", json=body("S040"))
    assert len(http("GET", "/employees").json()) == before + 1


def test_sandbox_today_follows_its_clock(make_sandbox):
    sb = make_sandbox(clock=ManualClock("2026-12-01T12:00:00+09:00"))
    sb.state.close_ended_months()  # the explicit choice: months that ended are closed
    entries = Http(sb)("GET", "/monthly-workings/2026-11").json()
    assert entries and all(e["isClosing"] for e in entries)
    assert not any(e["isClosing"] for e in Http(sb)("GET", "/monthly-workings/2026-12").json())
    assert sb.clock.today() == dt.date(2026, 12, 1)

"""The client against the real sandbox on a loopback port (ManualClock: nothing sleeps for real)."""
from __future__ import annotations

import datetime as dt
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import NOW, client_for_sandbox, make_config

from etl.clock import ManualClock
from etl.config import load_settings
from etl.errors import (
    ApiUnreachableError,
    AuthError,
    ExitCode,
    IpNotAllowedError,
    RestrictedHoursError,
    Retryable,
    RowFailed,
    Throttled,
)
from etl.kot.client import KotClient
from etl.kot.waiting import call_waiting
from etl.records import Masters

SECRET = "s3cret-token-4b1d"


def new_employee(code: str, **extra) -> dict:
    return {"code": code, "lastName": "山田", "firstName": "太郎", "divisionCode": "1000", "typeCode": "1",
            "gender": "male", **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- reads ------------------------------------------------------------------------------------

def test_reads_masters_and_employees(kot_client, sandbox):
    assert kot_client.token_available() is True
    masters = kot_client.masters()
    assert isinstance(masters, Masters)
    assert masters.divisions["1000"] == "本社" and masters.working_types["1"] == "正社員"
    employees = kot_client.employees(fields=["hiredDate"])
    assert employees and all("key" in e and "code" in e for e in employees)
    assert any("hiredDate" in e for e in employees)
    assert kot_client.employee(employees[0]["code"])["key"] == employees[0]["key"]
    assert kot_client.stats.as_dict()["reads"] == sandbox.counts["GET"] == 5


def test_unknown_employee_is_none(kot_client):
    assert kot_client.employee("ZZZ999") is None


def test_employees_filters_by_division_and_resigners(kot_client, sandbox):
    everyone = kot_client.employees(include_resigned=True, fields=["resignationDate"])
    today = sandbox.clock.today().isoformat()
    resigned = [e for e in everyone if e.get("resignationDate", "9999") < today]
    assert len(kot_client.employees()) == len(everyone) - len(resigned)
    division = everyone[0]["divisionCode"]
    assert {e["divisionCode"] for e in kot_client.employees(division=division)} == {division}


# --- writes -----------------------------------------------------------------------------------

def test_create_and_update(kot_client, sandbox):
    created = kot_client.create_employee(new_employee("A0001", emailAddresses=["a@example.co.jp"]))
    assert len(created["key"]) == 64
    updated = kot_client.update_employee(created["key"], {"lastName": "佐藤", "emailAddresses": ""})
    assert updated["lastName"] == "佐藤" and "emailAddresses" not in updated
    assert kot_client.employee("A0001")["lastName"] == "佐藤"
    assert kot_client.stats.writes == 2


def test_effective_dated_update(kot_client):
    key = kot_client.create_employee(new_employee("A0002"))["key"]
    kot_client.update_employee(key, {"divisionCode": "2000"}, effective_date=dt.date(2026, 12, 1))
    assert kot_client.employee("A0002", as_of=dt.date(2026, 11, 30))["divisionCode"] == "1000"
    assert kot_client.employee("A0002", as_of=dt.date(2026, 12, 1))["divisionCode"] == "2000"


def test_refused_row_carries_the_api_message(kot_client):
    kot_client.create_employee(new_employee("A0003"))
    with pytest.raises(RowFailed) as err:
        kot_client.create_employee(new_employee("A0003"))
    assert err.value.status == 400 and "既に登録" in str(err.value)
    with pytest.raises(RowFailed) as err:
        kot_client.create_employee(new_employee("A0004", gender="other", divisionCode="9999"))
    assert "gender" in str(err.value) and "9999" in str(err.value)


# --- errors -----------------------------------------------------------------------------------

def test_wrong_token_is_an_auth_error_without_the_token(sandbox):
    client = KotClient(sandbox.url, SECRET, clock=sandbox.clock)
    with pytest.raises(AuthError) as err:
        client.divisions()
    assert err.value.exit_code == ExitCode.API_UNAVAILABLE
    assert SECRET not in str(err.value) and "KOT_TOKEN" in str(err.value)
    assert client.stats.retries == 0
    assert SECRET not in repr(client)


def test_ip_not_on_the_allow_list(make_sandbox):
    sb = make_sandbox(allowed_ips={"203.0.113.7"})
    with pytest.raises(IpNotAllowedError) as err:
        client_for_sandbox(sb).divisions()
    assert "許可IPアドレス" in str(err.value) and "proxy" in str(err.value)


def test_unreachable_after_retries_and_token_masked(caplog):
    clock = ManualClock(NOW)
    client = KotClient(f"http://127.0.0.1:{free_port()}/v1.0", SECRET, clock=clock, max_retries=3)
    with caplog.at_level(logging.INFO, logger="etl.kot.client"), pytest.raises(ApiUnreachableError) as err:
        client.token_available()
    assert "接続が拒否されました" in str(err.value)
    assert len(clock.slept) == 3 and client.stats.retries == 3
    assert len(caplog.records) == 3  # one log line per retry
    assert "/tokens/***/available" in caplog.text
    assert SECRET not in caplog.text + str(err.value) + repr(err.value.__cause__)


def test_tls_failure_stops_at_once(sandbox):
    client = KotClient(sandbox.url.replace("http://", "https://"), sandbox.token, clock=sandbox.clock)
    with pytest.raises(ApiUnreachableError) as err:
        client.divisions()
    assert "TLS" in str(err.value)
    assert client.stats.retries == 0


# --- retries ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["500", "drop"])
def test_retry_then_success(kot_client, sandbox, fault):
    sandbox.fail_next(fault, times=2)
    assert kot_client.divisions()
    assert kot_client.stats.retries == 2 and sandbox.counts["faults"] == 2
    assert len(sandbox.clock.slept) == 2


def test_retry_after_is_honoured(kot_client, sandbox):
    sandbox.fail_next("429", retry_after=7)
    assert kot_client.working_types()
    assert sandbox.clock.slept == [7]
    assert kot_client.stats.throttled == 1


def test_exhausted_retries_raise_the_last_retryable(sandbox):
    client = client_for_sandbox(sandbox, max_retries=2)
    sandbox.fail_next("500", times=3)
    with pytest.raises(Retryable) as err:
        client.divisions()
    assert not isinstance(err.value, Throttled) and "Resource Server Error." in str(err.value)
    sandbox.fail_next("429", times=3)
    with pytest.raises(Throttled):
        client.divisions()


def test_limiter_keeps_a_burst_under_the_sandbox_limit(make_sandbox):
    sb = make_sandbox(rate_limit=(10, 60))
    client = client_for_sandbox(sb, max_requests=10, per_seconds=60)
    for _ in range(25):
        client.divisions()
    assert sb.counts["throttled"] == 0 and client.stats.throttled == 0
    assert sb.clock.now() - ManualClock(NOW).now() >= dt.timedelta(seconds=120)


def test_over_the_limit_is_throttled_then_waited_out(make_sandbox):
    sb = make_sandbox(rate_limit=(10, 60))
    client = client_for_sandbox(sb, max_requests=100, per_seconds=60, max_retries=5)
    for _ in range(15):
        client.divisions()
    assert sb.counts["throttled"] >= 1 and client.stats.throttled == sb.counts["throttled"]


def test_limiter_is_shared_by_threads(make_sandbox):
    sb = make_sandbox(rate_limit=(20, 60))
    client = client_for_sandbox(sb, max_requests=20, per_seconds=60, concurrency=4)
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda i: client.create_employee(new_employee(f"T{i:04d}")), range(40)))
    assert len({c["key"] for c in created}) == 40
    assert sb.counts["throttled"] == 0 and sb.counts["POST"] == 40


# --- no duplicates --------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["drop_after", "500_after"])
def test_lost_post_answer_makes_no_duplicate(kot_client, sandbox, fault):
    sandbox.fail_next(fault, method="POST")
    created = kot_client.create_employee(new_employee("L0001"))
    assert created["code"] == "L0001" and len(created["key"]) == 64
    assert sandbox.counts["POST"] == 1  # looked up, not posted again
    assert sum(1 for e in sandbox.state.all() if e["code"] == "L0001") == 1


def test_post_not_applied_is_posted_again(kot_client, sandbox):
    sandbox.fail_next("drop", method="POST")
    kot_client.create_employee(new_employee("L0002"))
    assert sandbox.counts["POST"] == 2
    assert sandbox.state.get("L0002") is not None


def test_random_faults_never_duplicate(make_sandbox):
    sb = make_sandbox(fault_rate=0.3, seed=7)
    client = client_for_sandbox(sb, max_retries=10)
    for i in range(20):
        created = client.create_employee(new_employee(f"R{i:04d}"))
        client.update_employee(created["key"], {"firstName": "花子"})
    codes = [e["code"] for e in sb.state.all() if e["code"].startswith("R")]
    assert sorted(codes) == [f"R{i:04d}" for i in range(20)]
    assert all(sb.state.get(c)["firstName"] == "花子" for c in codes)
    assert sb.counts["faults"] > 5  # the faults did happen


# --- attendance -------------------------------------------------------------------------------

def test_monthly_workings(kot_client, sandbox):
    sandbox.state.close_month("2026-10")  # the administrator closed October; November is open
    entries = kot_client.monthly_workings("2026-10")
    assert entries and all(e["isClosing"] is True for e in entries)
    assert all(e["isClosing"] is False for e in kot_client.monthly_workings("2026-11"))
    with pytest.raises(RowFailed) as err:
        kot_client.monthly_workings("2026-10-01")
    assert err.value.status == 400 and err.value.api_code == 2


def test_daily_workings_are_split_in_62_day_windows(kot_client, sandbox):
    days = kot_client.daily_workings(dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert [d["date"] for d in days] == [(dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat()
                                         for i in range(181)]
    assert sandbox.counts["GET"] == 3


# --- restricted hours -------------------------------------------------------------------------

def test_client_guard_refuses_before_sending(make_sandbox):
    sb = make_sandbox(clock=ManualClock("2026-11-26T09:00:00+09:00"))
    client = client_for_sandbox(sb)
    assert client.token_available() is True  # the token endpoint stays open
    with pytest.raises(RestrictedHoursError) as err:
        client.divisions()
    assert err.value.reopens_at.isoformat() == "2026-11-26T10:00:00+09:00"
    assert err.value.exit_code == ExitCode.RESTRICTED_HOURS
    assert sb.counts["GET"] == 1  # only the token check went out
    assert call_waiting(sb.clock, True, client.divisions)  # --wait: sleeps until 10:00, then reads
    assert sb.clock.now().isoformat() == "2026-11-26T10:00:00+09:00"


def test_server_side_restricted_hours(make_sandbox):
    sb = make_sandbox(clock=ManualClock("2026-11-26T17:45:00+09:00"))
    client = client_for_sandbox(sb, restricted_hours=None)  # the client does not know the windows
    with pytest.raises(RestrictedHoursError) as err:
        client.employees()
    assert err.value.reopens_at.isoformat() == "2026-11-26T18:30:00+09:00"
    assert sb.counts["restricted"] == 1 and client.stats.retries == 0


def test_from_settings(tmp_path, sandbox):
    cfg = make_config(tmp_path, sandbox, max_retries=1, restricted_hours=["03:00-04:00"])
    settings = load_settings(cfg, env={"KOT_TOKEN": sandbox.token, "ETL_NOW": NOW})
    client = KotClient.from_settings(settings)
    assert client.base_url == sandbox.url and client.max_retries == 1
    assert str(client.restricted_hours) == "03:00-04:00"
    assert client.token_available()
    assert sandbox.token not in repr(client)

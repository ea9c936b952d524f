"""The attendance API answering nonsense (issue 16, kind 4): redirects are never followed, answers
are checked for shape, Retry-After beyond the cap or unreadable stops, total retry waits are
bounded. Each is ApiAnswerError: one line, exit 4, nothing slept for real (ManualClock)."""
from __future__ import annotations

import io
import json

import pytest
from conftest import NOW, cli_env, make_config
from hostile_server import Answer, HostileServer

from etl.cli import main
from etl.clock import ManualClock
from etl.errors import ApiAnswerError, ExitCode
from etl.kot.client import KotClient

TOKEN = "s3cret-token-4b1d"
EMPLOYEE = {"code": "E0001", "lastName": "山田", "firstName": "太郎", "divisionCode": "1000", "typeCode": "1",
            "gender": "male"}


def j(value) -> bytes:
    return json.dumps(value).encode()


@pytest.fixture
def server():
    with HostileServer() as s:
        yield s


@pytest.fixture
def client(server):
    c = KotClient(server.url, TOKEN, clock=ManualClock(NOW), restricted_hours=None, max_retries=3,
                  retry_budget_s=60)
    yield c
    c.close()


def one_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text and "\r" not in text and TOKEN not in text
    return text


REDIRECTS = [
    ("GET", "/divisions", 302, "https://login.example.jp/sso?next=/divisions", lambda c: c.divisions()),
    ("GET", "/employees", 301, "http://127.0.0.1:1/elsewhere", lambda c: c.employees()),
    ("POST", "/employees", 307, "https://evil.example/employees", lambda c: c.create_employee(EMPLOYEE)),
    ("PUT", "/employees/k1", 308, "/v1.0/employees/k2", lambda c: c.update_employee("k1", {"lastName": "x"})),
    ("GET", "/working-types", 303, f"https://login.example.jp/?t={TOKEN}\r\nX: y", lambda c: c.working_types()),
]


@pytest.mark.parametrize("method,path,status,location,call", REDIRECTS, ids=[f"{r[2]}-{r[0]}" for r in REDIRECTS])
def test_a_redirect_is_never_followed_and_names_where_it_pointed(server, client, method, path, status, location, call):
    server.script(method, path, Answer(status, b"", {"Location": location}))
    with pytest.raises(ApiAnswerError) as e:
        call(client)
    text = one_line(e.value)
    assert f"HTTP {status}" in text and location.split("?")[0].split("\r")[0] in text
    assert e.value.exit_code == ExitCode.API_UNAVAILABLE
    assert server.seen == [(method, "/v1.0" + path)]  # sent once, never followed


SHAPES = [
    ("GET", "/divisions", Answer(200, b""), lambda c: c.divisions(), "空の応答"),
    ("GET", "/divisions", Answer(200, j([{"name": "本社"}])), lambda c: c.masters(), "code"),
    ("GET", "/working-types", Answer(200, j({"workingTypes": []})), lambda c: c.working_types(), "オブジェクト"),
    ("GET", "/employees", Answer(200, j([1, 2])), lambda c: c.employees(), "employees"),
    ("GET", "/employees", Answer(200, j([{"code": "E1"}])), lambda c: c.employees(), "key"),
    ("GET", "/employees/E0001", Answer(200, j([])), lambda c: c.employee("E0001"), "配列"),
    ("POST", "/employees", Answer(201, b""), lambda c: c.create_employee(EMPLOYEE), "空の応答"),
    ("POST", "/employees", Answer(200, j({"ok": True})), lambda c: c.create_employee(EMPLOYEE), "key"),
    ("GET", "/monthly-workings/2026-10", Answer(200, j({"data": []})), lambda c: c.monthly_workings("2026-10"),
     "monthly"),
    ("GET", "/daily-workings", Answer(200, b"null"), lambda c: c.daily_workings(*_days()), "daily"),
    ("GET", f"/tokens/{TOKEN}/available", Answer(200, j({"available": "yes"})), lambda c: c.token_available(),
     "available"),
    ("GET", f"/tokens/{TOKEN}/available", Answer(200, b"<html>login</html>"), lambda c: c.token_available(), ""),
    # a field of the wrong type: never written into a workbook or the ledger (openpyxl, a dict key…)
    ("GET", "/divisions", Answer(200, j([{"code": "1", "name": ["本社"]}])), lambda c: c.masters(), "name は文字列"),
    ("GET", "/working-types", Answer(200, j([{"code": ["1"], "name": "x"}])), lambda c: c.working_types(), "code"),
    ("GET", "/divisions", Answer(200, j([{"code": True, "name": "x"}])), lambda c: c.divisions(), "code"),
    ("GET", "/employees", Answer(200, j([{"code": "E1", "key": "k", "lastName": {"x": 1}}])), lambda c: c.employees(),
     "lastName"),
    ("GET", "/employees/E0001", Answer(200, j({"code": "E0001", "key": 7})), lambda c: c.employee("E0001"), "key"),
    # JSON nested past Python's recursion limit: one line, not 内部エラー: RecursionError
    ("GET", "/divisions", Answer(200, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}),
     lambda c: c.divisions(), "入れ子が深すぎる"),
    ("GET", "/monthly-workings/2026-10", Answer(200, b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
                                                {"Content-Type": "application/json"}),
     lambda c: c.monthly_workings("2026-10", decode=__import__("msgspec").json.decode), "入れ子が深すぎる"),
]


def _days():
    import datetime as dt
    return dt.date(2026, 10, 1), dt.date(2026, 10, 31)


@pytest.mark.parametrize("method,path,answer,call,says", SHAPES, ids=[f"{s[0]}{s[1]}-{i}" for i, s in enumerate(SHAPES)])
def test_an_answer_of_the_wrong_shape_is_one_line_exit_4(server, client, method, path, answer, call, says):
    server.script(method, path, answer)
    with pytest.raises(ApiAnswerError) as e:
        call(client)
    text = one_line(e.value)
    assert "想定した形ではありません" in text or "JSON" in text
    assert says in text


@pytest.mark.parametrize("status,retry_after", [(429, "86400"), (503, "1e999"), (429, "soon"), (503, "-1"),
                                                (429, "nan"), (429, "601")])
def test_a_retry_after_beyond_the_cap_or_unreadable_stops_without_sleeping(server, client, status, retry_after):
    server.script("GET", "/divisions", Answer(status, j({"code": "303", "message": "Too Many Requests"}),
                                              {"Retry-After": retry_after}))
    before = client.clock.now()
    with pytest.raises(ApiAnswerError) as e:
        client.divisions()
    text = one_line(e.value)
    assert "中止" in text and (retry_after in text or f"{float(retry_after):,.0f}" in text)
    assert client.clock.now() == before and len(server.seen) == 1


def test_a_retry_after_as_an_http_date_is_waited_for(server, client):
    server.script("GET", "/divisions", Answer(503, b"", {"Retry-After": "Thu, 26 Nov 2026 03:00:30 GMT"}),
                  Answer(200, j([{"code": "1000", "name": "本社"}])))
    before = client.clock.now()
    assert client.divisions() == [{"code": "1000", "name": "本社"}]
    assert (client.clock.now() - before).total_seconds() == pytest.approx(30, abs=1)


def test_retry_waits_of_one_run_are_bounded_in_total(server, client):
    server.script("GET", "/divisions", Answer(503, b"", {"Retry-After": "25"}))
    server.script("GET", "/working-types", Answer(503, b"", {"Retry-After": "25"}))
    before = client.clock.now()
    with pytest.raises(ApiAnswerError) as e:
        client.divisions()  # waits 25 + 25, then a third wait would pass the 60 s budget
    assert "上限 60 秒" in one_line(e.value)
    with pytest.raises(ApiAnswerError):
        client.working_types()  # the budget is per client (per run): nothing left
    assert (client.clock.now() - before).total_seconds() == 50


def test_test_connection_against_a_login_page_is_one_line_exit_4(tmp_path, server):
    server.script("GET", "/tokens/test-token/available", Answer(302, b"", {"Location": "https://login.example.jp/"}))
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(make_config(tmp_path, base_url=server.url)), "test-connection"],
                env=cli_env(now=NOW), stdout=out, stderr=err)
    assert code == ExitCode.API_UNAVAILABLE
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "https://login.example.jp/" in lines[0] and "Traceback" not in err.getvalue()


@pytest.mark.parametrize("message", ["bad\r\nX-Injected: 1", "\x1b[31mred\x1b[0m", "tab\there\x00nul"],
                         ids=["crlf", "ansi-escape", "tab-nul"])
def test_api_error_text_is_printed_on_one_line_with_control_characters_escaped(tmp_path, server, message):
    body = json.dumps({"errors": [{"message": message, "code": 2}]}).encode()
    server.script("GET", "/tokens/test-token/available", Answer(400, body))
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(make_config(tmp_path, base_url=server.url)), "test-connection"],
                env=cli_env(now=NOW), stdout=out, stderr=err)
    assert code == ExitCode.API_UNAVAILABLE
    text = err.getvalue()
    assert len(text.splitlines()) == 1 and "\x1b" not in text and "\x00" not in text and "\r" not in text


@pytest.mark.parametrize("headers", [{}, {"Content-Length": None}], ids=["declared", "read-until-close"])
def test_an_answer_beyond_the_size_cap_is_refused_without_reading_it_whole(server, headers):
    big = b"[" + b'{"code": "1", "name": "x"},' * 80_000 + b'{"code": "2", "name": "y"}]'  # ~2 MB
    server.script("GET", "/divisions", Answer(200, big, {"Content-Type": "application/json", **headers}))
    c = KotClient(server.url, TOKEN, clock=ManualClock(NOW), restricted_hours=None, max_answer_bytes=1 << 20)
    with pytest.raises(ApiAnswerError) as e:
        c.divisions()
    text = one_line(e.value)
    assert "大きすぎます" in text and "上限 1 MB" in text and e.value.exit_code == ExitCode.API_UNAVAILABLE
    assert len(server.seen) == 1  # not retried
    c.close()
    small = KotClient(server.url, TOKEN, clock=ManualClock(NOW), restricted_hours=None, max_answer_bytes=4 << 20)
    assert len(small.divisions()) == 80_001  # within the cap it reads, with or without a length
    small.close()


def test_an_answer_that_never_finishes_arriving_is_stopped_at_its_deadline(server):
    """timeout_s bounds each wait for bytes; a server trickling its answer would never trip it. The
    whole answer gets 10 × timeout_s (at least 60 s): here a network clock that advances one second
    per block read stands in for a slow trickle (no real waiting)."""
    ticks = iter(range(10**6))
    body = b"[" + b'{"code": "1", "name": "x"},' * 200_000 + b'{"code": "2", "name": "y"}]'  # ~5 MB: 80+ blocks
    server.script("GET", "/divisions", Answer(200, body, {"Content-Type": "application/json"}))
    c = KotClient(server.url, TOKEN, clock=ManualClock(NOW), restricted_hours=None, timeout_s=1,
                  monotonic=lambda: float(next(ticks)))
    with pytest.raises(ApiAnswerError) as e:
        c.divisions()
    assert "60 秒以内に届き終わりませんでした" in one_line(e.value) and len(server.seen) == 1
    c.close()
    with KotClient(server.url, TOKEN, clock=ManualClock(NOW), restricted_hours=None, timeout_s=1) as fast:
        assert len(fast.divisions()) == 200_001  # the same answer, arriving at once

"""Pure pieces of the client: the classification table, backoff, the sliding window, date windows."""
from __future__ import annotations

import datetime as dt
import http.client
import math
import random

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from etl.clock import ManualClock
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
from etl.kot.client import date_windows
from etl.kot.limiter import RateLimiter, SlidingWindow
from etl.kot.retry import (
    Backoff,
    Kind,
    Outcome,
    api_errors,
    classify_response,
    parse_retry_after,
    retryable_error,
    stop_error,
)

RESTRICTED_MSG = "次の時間帯(JST)はAPIへのアクセスが禁止されています [08:30 ~ 10:00, 17:30 ~ 18:30]"


def _errors(message: str, code) -> dict:
    return {"errors": [{"message": message, "code": code}]}


def _refused() -> Exception:
    return requests.exceptions.ConnectionError(MaxRetryError(
        None, "/v1.0/divisions", NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")))


def _dns() -> Exception:
    import socket
    return requests.exceptions.ConnectionError(MaxRetryError(
        None, "/v1.0/divisions", NameResolutionError("api.example", None, socket.gaierror(-2, "Name or service not known"))))


def _reset() -> Exception:
    return requests.exceptions.ConnectionError(ProtocolError(
        "Connection aborted.", http.client.RemoteDisconnected("Remote end closed connection without response")))


CASES = [
    # (id, status, body, exc, headers, kind, api_code)
    ("200-list", 200, [{"code": "1000"}], None, None, Kind.OK, None),
    ("201-created", 201, {"key": "k"}, None, None, Kind.OK, None),
    ("204-no-body", 204, None, None, None, Kind.OK, None),
    ("429-code-303", 429, {"code": "303", "message": "Too Many Requests"}, None, None, Kind.THROTTLED, "303"),
    ("429-empty", 429, None, None, None, Kind.THROTTLED, None),
    ("403-code-303-string", 403, {"code": "303", "message": "Too Many Requests"}, None, None, Kind.THROTTLED, "303"),
    ("200-code-303", 200, {"code": "303", "message": "Too Many Requests"}, None, None, Kind.THROTTLED, "303"),
    ("400-errors-303-int", 400, _errors("Too Many Requests", 303), None, None, Kind.THROTTLED, 303),
    ("500-resource-server-error", 500, _errors("Resource Server Error.", 300), None, None, Kind.RETRYABLE, 300),
    ("502-html", 502, "<html>Bad Gateway</html>", None, None, Kind.RETRYABLE, None),
    ("503-empty", 503, None, None, None, Kind.RETRYABLE, None),
    ("408-timeout", 408, None, None, None, Kind.RETRYABLE, None),
    ("403-104-restricted", 403, _errors(RESTRICTED_MSG, 104), None, None, Kind.RESTRICTED, 104),
    ("403-100-auth", 403, _errors("認証に失敗しました", 100), None, None, Kind.AUTH, 100),
    ("401-no-body", 401, None, None, None, Kind.AUTH, None),
    ("403-unknown-code", 403, _errors("権限がありません", 999), None, None, Kind.AUTH, 999),
    ("403-105-ip", 403, _errors("IP address not allowed", 105), None, None, Kind.IP_NOT_ALLOWED, 105),
    ("403-ip-message-only", 403, {"message": "許可されていないIPアドレスです"}, None, None, Kind.IP_NOT_ALLOWED, None),
    ("400-validation", 400, {"errors": [{"message": "lastName は必須です", "code": 1},
                                        {"message": "gender は male か female", "code": 1}]},
     None, None, Kind.FATAL, 1),
    ("400-code-2-date-format", 400, _errors("日付の形式が正しくありません", 2), None, None, Kind.FATAL, 2),
    ("404-not-found", 404, _errors("従業員が存在しません", 4), None, None, Kind.FATAL, 4),
    ("301-redirect", 301, None, None, None, Kind.REDIRECT, None),
    ("exc-connection-refused", None, None, _refused(), None, Kind.UNREACHABLE, None),
    ("exc-dns", None, None, _dns(), None, Kind.UNREACHABLE, None),
    ("exc-connect-timeout", None, None, requests.exceptions.ConnectTimeout("connect timed out"), None,
     Kind.UNREACHABLE, None),
    ("exc-ssl", None, None, requests.exceptions.SSLError("certificate verify failed"), None, Kind.TLS, None),
    ("exc-read-timeout", None, None, requests.exceptions.ReadTimeout("read timed out"), None, Kind.RETRYABLE, None),
    ("exc-reset", None, None, _reset(), None, Kind.RETRYABLE, None),
    ("exc-chunked", None, None, requests.exceptions.ChunkedEncodingError("cut"), None, Kind.RETRYABLE, None),
    ("exc-garbled-json", None, None, ValueError("Expecting value"), None, Kind.RETRYABLE, None),
    ("no-answer", None, None, None, None, Kind.RETRYABLE, None),
    # an employee whose employee code is "303" is an answer, not throttling
    ("201-employee-code-303", 201, {"code": "303", "key": "k", "lastName": "勤怠", "firstName": "太郎"},
     None, None, Kind.OK, None),
    ("200-employee-code-303", 200, {"code": "303", "key": "k", "lastName": "勤怠"}, None, None, Kind.OK, None),
]


@pytest.mark.parametrize("status,body,exc,headers,kind,api_code", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_response(status, body, exc, headers, kind, api_code):
    outcome = classify_response(status, body, exc, headers=headers)
    assert outcome.kind is kind
    assert outcome.api_code == api_code
    assert outcome.message or kind is Kind.OK  # a failure always has something to show


def test_fatal_outcome_carries_every_api_message():
    outcome = classify_response(400, CASES[18][2])
    assert outcome.message == "lastName は必須です / gender は male か female"
    assert outcome.status == 400


def test_retry_after_header_is_read():
    outcome = classify_response(429, {"code": "303"}, headers={"Retry-After": "7"})
    assert outcome.retry_after == 7.0
    assert classify_response(503, None, headers={"Retry-After": "2"}).retry_after == 2.0


NOW = dt.datetime(2015, 10, 21, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("value,expected", [
    ("7", 7.0), (" 1.5 ", 1.5), (None, None), ("", None), ("86400", 86400.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 1680.0), ("Wed, 21 Oct 2015 06:00:00 GMT", 0.0),
    # unreadable: the client stops instead of sleeping (math.inf is beyond any cap)
    ("-3", math.inf), ("1e999", math.inf), ("nan", math.inf), ("inf", math.inf), ("soon", math.inf),
    ("1" * 20, math.inf),
], ids=["int", "float", "absent", "blank", "a-day", "http-date", "http-date-past", "negative", "1e999", "nan",
        "inf", "words", "huge"])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_an_http_date_without_a_clock_cannot_be_read():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == math.inf


@pytest.mark.parametrize("kind,retryable,maybe_applied", [
    (Kind.THROTTLED, True, False), (Kind.RETRYABLE, True, True), (Kind.UNREACHABLE, True, False),
    (Kind.TLS, False, False), (Kind.AUTH, False, False), (Kind.FATAL, False, False)],
    ids=lambda v: getattr(v, "value", str(v)))
def test_outcome_flags(kind, retryable, maybe_applied):
    outcome = Outcome(kind)
    assert outcome.retryable is retryable
    assert outcome.maybe_applied is maybe_applied


@pytest.mark.parametrize("kind,error,exit_code,needle", [
    (Kind.AUTH, AuthError, ExitCode.API_UNAVAILABLE, "KOT_TOKEN"),
    (Kind.IP_NOT_ALLOWED, IpNotAllowedError, ExitCode.API_UNAVAILABLE, "許可IPアドレス"),
    (Kind.UNREACHABLE, ApiUnreachableError, ExitCode.API_UNAVAILABLE, "https://api.example/v1.0"),
    (Kind.TLS, ApiUnreachableError, ExitCode.API_UNAVAILABLE, "TLS"),
    (Kind.RESTRICTED, RestrictedHoursError, ExitCode.RESTRICTED_HOURS, "10:00"),
], ids=lambda v: getattr(v, "value", None) or getattr(v, "__name__", None) or str(v))
def test_stop_errors_say_what_to_do(kind, error, exit_code, needle):
    reopen = dt.datetime.fromisoformat("2026-11-26T10:00:00+09:00")
    err = stop_error(Outcome(kind, 403, 100, "認証に失敗しました"), base_url="https://api.example/v1.0",
                     reopens_at=reopen)
    assert type(err) is error and err.exit_code == exit_code and needle in str(err)


def test_fatal_is_a_row_failure_with_the_api_message():
    err = stop_error(Outcome(Kind.FATAL, 400, 1, "lastName は必須です"), base_url="x")
    assert type(err) is RowFailed and str(err) == "lastName は必須です" and (err.status, err.api_code) == (400, 1)


def test_retryable_errors():
    assert type(retryable_error(Outcome(Kind.THROTTLED, 429, "303", "Too Many Requests", 5), 3)) is Throttled
    err = retryable_error(Outcome(Kind.RETRYABLE, 500, 300, "Resource Server Error."), 3)
    assert type(err) is Retryable and "Resource Server Error." in str(err) and "3 回" in str(err)


def test_exception_messages_never_carry_the_url():
    exc = requests.exceptions.ConnectionError("HTTPSConnectionPool: Max retries exceeded with url: "
                                              "/v1.0/tokens/SECRET/available")
    assert "SECRET" not in classify_response(None, None, exc).message


def test_api_errors_reads_both_shapes():
    assert api_errors(_errors("x", 100)) == (100, "x")
    assert api_errors({"code": "303", "message": "Too Many Requests"}) == ("303", "Too Many Requests")
    assert api_errors([1, 2]) == (None, "")


def test_backoff_is_bounded_exponential_with_jitter():
    backoff = Backoff(0.5, 4.0, random.Random(3))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (12, 4.0)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter


def test_backoff_honours_retry_after():
    assert Backoff(0.5, 4.0).delay(1, retry_after=42) == 42


def test_sliding_window_admits_n_per_window():
    window = SlidingWindow(3, 10)
    assert [window.try_admit(t) for t in (0, 1, 2)] == [0, 0, 0]
    assert window.try_admit(3) == pytest.approx(7)  # the request at t=0 leaves the window at 10
    assert window.try_admit(10) == 0
    assert window.try_admit(10.5) == pytest.approx(0.5)


def test_rate_limiter_waits_on_the_clock():
    clock = ManualClock("2026-11-26T12:00:00+09:00")
    limiter = RateLimiter(5, 60, clock)
    start = clock.now()
    for _ in range(12):
        limiter.done(limiter.acquire())
    # 12 requests at 5 a minute need two more minutes; nothing slept for real
    assert (clock.now() - start).total_seconds() == pytest.approx(120, abs=0.01)
    assert limiter.waited_s == pytest.approx(120, abs=0.01) and len(clock.slept) == 2


def test_rate_limiter_counts_a_slot_from_its_answer():
    clock = ManualClock("2026-11-26T12:00:00+09:00")
    limiter = RateLimiter(1, 60, clock)
    first = limiter.acquire()
    clock.advance(30)
    limiter.done(first)  # its answer came 30 s later: it stays in the window until 12:01:30
    limiter.done(limiter.acquire())
    assert (clock.now() - ManualClock("2026-11-26T12:00:00+09:00").now()).total_seconds() == pytest.approx(90)


@pytest.mark.parametrize("start,end,expected", [
    ("2026-01-01", "2026-01-01", [("2026-01-01", "2026-01-01")]),
    ("2026-01-01", "2026-03-03", [("2026-01-01", "2026-03-03")]),  # exactly 62 days
    ("2026-01-01", "2026-03-04", [("2026-01-01", "2026-03-03"), ("2026-03-04", "2026-03-04")]),
    ("2026-01-01", "2026-06-30", [("2026-01-01", "2026-03-03"), ("2026-03-04", "2026-05-04"),
                                  ("2026-05-05", "2026-06-30")]),
    ("2026-02-01", "2026-01-01", []),
], ids=["one-day", "62-days", "63-days", "half-year", "reversed"])
def test_date_windows(start, end, expected):
    windows = date_windows(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert [(a.isoformat(), b.isoformat()) for a, b in windows] == expected
    assert all((b - a).days + 1 <= 62 for a, b in windows)

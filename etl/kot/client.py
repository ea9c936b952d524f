"""The attendance API client (KING OF TIME Web API v1.0): one Session, one retry policy.

Every call goes through ``_call``: restricted-hours guard (not for the token endpoint) → the
shared rate limiter → one HTTP request with a timeout → ``classify_response`` → return, raise,
or back off (honouring Retry-After) and try again. The client is shared by the threads of
``sync.apply``; the limiter, the stats and the Session are thread-safe.

A create is never blindly retried: when its answer is lost, the employee is looked up by code
first and an existing one is taken as created. The token never appears in a message or a log.

Redirects are never followed (a 3xx stops the run naming where it pointed); every answer is
checked for its shape before use (a list of records with their codes…); a Retry-After beyond
the cap stops the run; the waits between retries of one client (one run) are bounded in total
(``retry_budget_s``). Each of these is one line, exit 4 (``ApiAnswerError``).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from etl.clock import PUBLISHED_HOURS, Clock, RestrictedHours
from etl.config import mask
from etl.errors import ApiAnswerError, ConfigError, RestrictedHoursError, Retryable, RowFailed
from etl.kot.limiter import RateLimiter
from etl.kot.retry import (
    Backoff,
    Kind,
    Outcome,
    classify_response,
    retry_after_error,
    retry_budget_error,
    retryable_error,
    shape_error,
    stop_error,
)
from etl.records import Masters
from etl.text import one_line

__all__ = ["KotClient", "ClientStats", "classify_response", "Outcome", "Kind", "date_windows",
           "MAX_RANGE_DAYS", "PUBLISHED_HOURS"]

log = logging.getLogger(__name__)

MAX_RANGE_DAYS = 62  # /daily-workings: start..end at most 62 days (inclusive)
RETRY_BUDGET_S = 900.0  # the most one run waits between retries, in all
ANSWER_TIMEOUTS = 10  # an answer must arrive whole within this many timeout_s
MAX_ANSWER_BYTES = 1 << 30  # one answer (50,000 employees with every field is ~60 MB)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SPANS = re.compile(r"(\d{1,2}:\d{2})\s*[~〜-]\s*(\d{1,2}:\d{2})")


@dataclass
class ClientStats:
    """Thread-safe counters; ``reads``/``writes`` count HTTP attempts by method."""

    requests: int = 0
    reads: int = 0
    writes: int = 0
    throttled: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {k: getattr(self, k) for k in ("requests", "reads", "writes", "throttled", "retries")}


class _AnswerLost(Exception):
    """A POST reached the server but its answer was lost (internal to create_employee)."""

    def __init__(self, error: Retryable):
        super().__init__(str(error))
        self.error = error


def date_windows(start: dt.date, end: dt.date, days: int = MAX_RANGE_DAYS) -> list[tuple[dt.date, dt.date]]:
    """[start, end] cut into consecutive windows of at most ``days`` days (inclusive)."""
    windows = []
    while start <= end:
        stop = min(end, start + dt.timedelta(days=days - 1))
        windows.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return windows


class KotClient:
    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30, max_requests: int = 500,
                 per_seconds: float = 300, max_retries: int = 5, proxy: str = "", verify_tls: bool = True,
                 restricted_hours: RestrictedHours | None = PUBLISHED_HOURS,
                 clock: Clock | None = None, backoff_base_s: float = 0.5, backoff_max_s: float = 30.0,
                 concurrency: int = 4, token_env: str = "KOT_TOKEN", rng=None,
                 retry_budget_s: float = RETRY_BUDGET_S, max_answer_bytes: int = MAX_ANSWER_BYTES,
                 monotonic: Callable[[], float] = time.monotonic):
        self.base_url = base_url.rstrip("/")
        host = urlsplit(self.base_url).hostname
        if not verify_tls and host not in _LOOPBACK:  # certificate checks off only for a local sandbox
            raise ConfigError([f"[attendance_api] verify_tls = false はループバック (127.0.0.1・localhost) の URL にだけ"
                               f"使えます。{host} への接続では TLS 証明書を必ず検証するため、true に戻してください"])
        if urlsplit(self.base_url).scheme != "https" and host not in _LOOPBACK:  # the token would go in clear text
            raise ConfigError([f"[attendance_api] base_url は https:// にしてください ({host} へ http で接続すると"
                               "アクセストークンが暗号化されずに送られます)。http:// はループバックのサンドボックスだけに使えます"])
        self._token = token
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.restricted_hours = restricted_hours
        self.clock = clock or Clock()
        self.token_env = token_env
        self.stats = ClientStats()
        self.retry_budget_s = retry_budget_s
        self.max_answer_bytes = max_answer_bytes
        self._monotonic = monotonic  # the network's time (an answer's deadline), not the run's clock
        self._waited = 0.0  # seconds spent waiting before retries, all threads together
        self._waited_lock = threading.Lock()
        self._limiter = RateLimiter(max_requests, per_seconds, self.clock)
        self._backoff = Backoff(backoff_base_s, backoff_max_s, rng)
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                                "Content-Type": "application/json; charset=utf-8",
                                "User-Agent": "kintai-etl"})
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, concurrency), max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if proxy:
            session.proxies = {"http": proxy, "https": proxy}
        elif urlsplit(self.base_url).hostname in _LOOPBACK:
            session.trust_env = False  # a local sandbox: ignore HTTP(S)_PROXY of the environment
        session.verify = verify_tls
        self.session = session

    @classmethod
    def from_settings(cls, settings) -> KotClient:
        api = settings.attendance_api
        return cls(api.base_url, settings.require_token(), timeout_s=api.timeout_s,
                   max_requests=api.max_requests, per_seconds=api.per_seconds, max_retries=api.max_retries,
                   proxy=api.proxy, verify_tls=api.verify_tls, restricted_hours=settings.restricted_hours,
                   clock=settings.clock, concurrency=api.concurrency, token_env=api.token_env,
                   retry_budget_s=api.retry_budget_s)

    # --- endpoints ---------------------------------------------------------------------------
    def token_available(self) -> bool:
        body = self._call("GET", f"/tokens/{quote(self._token, safe='')}/available", token_endpoint=True)
        if not (isinstance(body, dict) and isinstance(body.get("available"), bool)):
            raise shape_error("GET /tokens/***/available", '{"available": true/false}', body)
        return body["available"]

    def divisions(self) -> list[dict]:
        return _records(self._call("GET", "/divisions"), "GET /divisions", ("code",), ("name",))

    def working_types(self) -> list[dict]:
        return _records(self._call("GET", "/working-types"), "GET /working-types", ("code",), ("name",))

    def masters(self) -> Masters:
        return Masters(divisions={d["code"]: d.get("name", "") for d in self.divisions()},
                       working_types={t["code"]: t.get("name", "") for t in self.working_types()})

    def employees(self, as_of: dt.date | None = None, include_resigned: bool = False,
                  fields: Iterable[str] = (), division: str | None = None) -> list[dict]:
        return _records(self._call("GET", "/employees", params=_employee_params(as_of, include_resigned, fields, division)),
                        "GET /employees", ("code", "key"), EMPLOYEE_TEXTS)

    def employee(self, code: str, as_of: dt.date | None = None, include_resigned: bool = True,
                 fields: Iterable[str] = ()) -> dict | None:
        """One employee by code, or None when the API does not know it (404)."""
        try:
            body = self._call("GET", f"/employees/{quote(str(code), safe='')}",
                              params=_employee_params(as_of, include_resigned, fields, None))
        except RowFailed as e:
            if e.status == 404:
                return None
            raise
        return _record(body, "GET /employees/{code}", ("code", "key"), EMPLOYEE_TEXTS)

    def create_employee(self, body: dict) -> dict:
        """POST /employees. A lost answer is followed by a lookup by code: never a duplicate."""
        code = body.get("code")
        lost_before = False
        for attempt in range(self.max_retries + 1):
            try:
                return _record(self._call("POST", "/employees", json_body=body, may_repeat=False),
                               "POST /employees", ("key",))
            except _AnswerLost as lost:
                lost_before = True
                found = self.employee(code) if code else None
                if found is not None:
                    log.info("勤怠API POST /employees: 応答が失われましたが従業員 %s は登録済みでした", code)
                    return found
                if attempt == self.max_retries:
                    raise lost.error from None
                self._wait_before_retry("POST", "/employees", lost.error, attempt + 1, lost.error.retry_after)
            except RowFailed:
                # the lost request may have been applied after our lookup: the duplicate is ours
                found = self.employee(code) if (lost_before and code) else None
                if found is not None:
                    return found
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def update_employee(self, key: str, fields: dict, effective_date: dt.date | None = None) -> dict:
        params = {"updateDate": effective_date.isoformat()} if effective_date else None
        return self._call("PUT", f"/employees/{quote(key, safe='')}", params=params, json_body=fields)

    def monthly_workings(self, month: str, division: str | None = None, *, fields: Iterable[str] = (),
                         decode: Callable[[bytes], Any] | None = None) -> Any:
        """The month's entries; ``fields`` go as additionalFields, ``decode`` reads a 2xx body
        instead of ``json.loads`` (raising ValueError on bytes that are not JSON). What ``decode``
        typed is returned as it is; plain JSON is checked to be objects with an employeeKey."""
        params = {"division": division} if division else {}
        if fields:
            params["additionalFields"] = ",".join(fields)
        body = self._call("GET", f"/monthly-workings/{quote(month, safe='')}", params=params or None, decode=decode)
        if decode is not None and not _plain_json(body):
            return body  # what ``decode`` made of it (typed entries, or the bytes themselves)
        return _records(body, "GET /monthly-workings", ("employeeKey",))

    def yearly_holidays(self, type_code: str, year: int) -> dict:
        """GET /yearly-workings/holidays/{employeeTypeCode}/{year}: one 年度's leave grants and uses
        of the employees of one employment type (KOT_API.md §2.6)."""
        return self._call("GET", f"/yearly-workings/holidays/{quote(str(type_code), safe='')}/{int(year)}")

    def daily_workings(self, start: dt.date, end: dt.date, division: str | None = None) -> list[dict]:
        """Every day of [start, end], fetched in windows of at most 62 days and concatenated."""
        result: list[dict] = []
        for a, b in date_windows(start, end):
            params = {"start": a.isoformat(), "end": b.isoformat()}
            if division:
                params["division"] = division
            result.extend(_records(self._call("GET", "/daily-workings", params=params), "GET /daily-workings", ()))
        return result

    # --- restricted hours --------------------------------------------------------------------
    def reopens_at(self, now: dt.datetime | None = None) -> dt.datetime | None:
        """When the current restricted window ends (None when the API is open now)."""
        if self.restricted_hours is None:
            return None
        return self.restricted_hours.reopens_at(now or self.clock.now())

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> KotClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KotClient({self.base_url!r}, token='***')"

    # --- the one request loop ----------------------------------------------------------------
    def _call(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
              token_endpoint: bool = False, may_repeat: bool = True,
              decode: Callable[[bytes], Any] | None = None) -> Any:
        data = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        for attempt in range(self.max_retries + 1):
            if not token_endpoint:
                self._guard()
            slot = self._limiter.acquire()
            try:
                outcome, body = self._send(method, path, params, data, decode)
            finally:
                self._limiter.done(slot)
            if outcome.ok:
                return body
            if not outcome.retryable:
                raise self._stop_error(outcome) from None
            if not outcome.retry_after_ok:
                raise retry_after_error(outcome, f"{method} {self._mask(path)}") from None
            error = self._retryable_error(outcome)
            if outcome.maybe_applied and not may_repeat:
                raise _AnswerLost(error)
            if attempt == self.max_retries:
                if outcome.kind is Kind.UNREACHABLE:
                    raise self._stop_error(outcome) from None
                raise error from None
            self._wait_before_retry(method, path, error, attempt + 1, outcome.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, path: str, params: dict | None, data: bytes | None,
              decode: Callable[[bytes], Any] | None = None) -> tuple[Outcome, Any]:
        write = method != "GET"
        self.stats.add(requests=1, writes=int(write), reads=int(not write))
        try:
            response = self.session.request(method, self.base_url + path, params=params, data=data,
                                            timeout=self.timeout_s, allow_redirects=False, stream=True)
            content = self._read_answer(response, f"{method} {self._mask(path)}")
        except requests.RequestException as e:
            return classify_response(None, None, e), None
        body: Any = None
        if content:
            try:
                read = decode if decode is not None and 200 <= response.status_code < 300 else json.loads
                body = read(content)
            except ValueError as e:
                if 200 <= response.status_code < 300:
                    kind = response.headers.get("Content-Type", "")
                    if "json" not in kind.lower():  # a login page, a proxy's notice: not the API
                        raise shape_error(f"{method} {self._mask(path)}", "JSON",
                                          f"{kind or 'Content-Type なし'} の本文") from None
                    return classify_response(None, None, e), None  # JSON cut short: retried
                body = _text(content)
            except RecursionError:  # JSON nested thousands deep: no answer of the API looks like that
                if 200 <= response.status_code < 300:
                    raise shape_error(f"{method} {self._mask(path)}", "JSON", "入れ子が深すぎる JSON") from None
                body = _text(content)
        outcome = classify_response(response.status_code, body, headers=response.headers, now=self.clock.now())
        if outcome.kind is Kind.THROTTLED:
            self.stats.add(throttled=1)
        return outcome, body

    def _read_answer(self, response: requests.Response, what: str) -> bytes:
        """The body, read in blocks and refused beyond ``max_answer_bytes`` (a base_url pointing at
        a file server, a proxy's endless page: never read whole into memory first)."""
        limit = self.max_answer_bytes
        # timeout_s bounds each wait for bytes; a server trickling a byte at a time would never
        # trip it: the whole answer gets ANSWER_TIMEOUTS × timeout_s (at least a minute)
        allowed = max(ANSWER_TIMEOUTS * self.timeout_s, 60.0)
        deadline = self._monotonic() + allowed
        late = False
        chunks: list[bytes] = []
        try:
            try:
                size = int(response.headers.get("Content-Length") or 0)
            except ValueError:  # not a number: the blocks read tell
                size = 0
            if size <= limit:
                size = 0
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        break
                    if self._monotonic() > deadline:
                        late = True
                        break
                    chunks.append(chunk)
        finally:
            response.close()
        if late:
            raise ApiAnswerError(one_line(f"勤怠API ({what}) の応答が {allowed:,.0f} 秒以内に届き終わりませんでした "
                                          f"({size / 2**20:,.1f} MB まで受信)。待たずに中止しました。時間をおいて再実行してください"))
        if size > limit:
            raise ApiAnswerError(one_line(f"勤怠API ({what}) の応答が大きすぎます ({size / 2**20:,.0f} MB を超えました、"
                                          f"上限 {limit / 2**20:,.0f} MB)。読まずに中止しました。etl.toml の "
                                          "[attendance_api] base_url が勤怠APIを指しているか確認してください"))
        return b"".join(chunks)

    def _guard(self) -> None:
        reopen = self.reopens_at()
        if reopen is not None:
            raise RestrictedHoursError(reopen)

    def _wait_before_retry(self, method: str, path: str, error: Retryable, attempt: int,
                           retry_after: float | None) -> None:
        delay = self._backoff.delay(attempt, retry_after)
        with self._waited_lock:
            if self._waited + delay > self.retry_budget_s:
                raise retry_budget_error(self.retry_budget_s, f"{method} {self._mask(path)}", self._mask(str(error)))
            self._waited += delay
        self.stats.add(retries=1)
        log.info("勤怠API %s %s: %s — %.1f 秒後に再試行します (%d/%d)", method, self._mask(path),
                 self._mask(str(error)), delay, attempt, self.max_retries)
        self.clock.sleep(delay)

    def _retryable_error(self, outcome: Outcome) -> Retryable:
        return retryable_error(replace(outcome, message=self._mask(outcome.message)), self.max_retries)

    def _stop_error(self, outcome: Outcome) -> Exception:
        reopens_at = self._server_reopens_at(outcome.message) if outcome.kind is Kind.RESTRICTED else None
        return stop_error(replace(outcome, message=self._mask(outcome.message)), base_url=self._mask(self.base_url),
                          token_env=self.token_env, reopens_at=reopens_at)

    def _server_reopens_at(self, message: str) -> dt.datetime | None:
        """When the server's window ends: from the windows named in its 104 message, else ours,
        else the published ones."""
        now = self.clock.now()
        candidates = [self.restricted_hours, PUBLISHED_HOURS]
        try:
            spans = _SPANS.findall(message or "")
            if spans:
                candidates.insert(0, RestrictedHours.parse([f"{a}-{b}" for a, b in spans]))
        except ValueError:  # a message we cannot read: fall back to the windows we know
            pass
        return next((r for h in candidates if h is not None and (r := h.reopens_at(now))), None)

    def _mask(self, text: str) -> str:
        return mask(text, self._token, quote(self._token, safe=""))


_JSON_TYPES = (dict, list, str, int, float, bool, type(None))


def _plain_json(body: Any) -> bool:
    """Whether ``body`` is what ``json.loads`` gives (a list judged by its first element)."""
    if isinstance(body, list):
        return bool(body) and isinstance(body[0], _JSON_TYPES)
    return isinstance(body, _JSON_TYPES)


# fields of an employee record that are text when present (KOT_API.md §3): a list or an object
# there is an answer of the wrong shape, not a name to write into the ledger or a workbook
EMPLOYEE_TEXTS = ("lastName", "firstName", "lastNamePhonetics", "firstNamePhonetics", "divisionCode", "typeCode",
                  "gender", "birthDate", "hiredDate", "resignationDate")


def _text(content: bytes) -> str:
    """The start of a body that is not JSON, for a message (UTF-8, never a guessed encoding)."""
    return content[:1200].decode("utf-8", errors="replace")[:300]


def _records(body: Any, what: str, keys: tuple[str, ...], texts: tuple[str, ...] = ()) -> list[dict]:
    """``body`` if it is a list of objects each holding ``keys`` as non-empty text, and ``texts``
    (when present) as text; else ApiAnswerError (exit 4)."""
    if not isinstance(body, list):
        raise shape_error(what, "配列", body)
    for item in body:
        if _misshapen(item, keys, texts):
            raise shape_error(what, _expected(keys, texts, "の配列"), item)
    return body


def _misshapen(item: Any, keys: tuple[str, ...], texts: tuple[str, ...]) -> bool:
    return (not isinstance(item, dict) or any(not isinstance(item.get(k), str) or not item[k] for k in keys)
            or any(not isinstance(v, str) for t in texts if (v := item.get(t)) is not None))


def _expected(keys: tuple[str, ...], texts: tuple[str, ...], plural: str = "") -> str:
    expected = ("項目 " + "・".join(keys) + " を持つオブジェクト" if keys else "オブジェクト") + plural
    return expected + (" (" + "・".join(texts) + " は文字列)" if texts else "")


def _record(body: Any, what: str, keys: tuple[str, ...], texts: tuple[str, ...] = ()) -> dict:
    if _misshapen(body, keys, texts):
        raise shape_error(what, _expected(keys, texts), body)
    return body


def _employee_params(as_of: dt.date | None, include_resigned: bool, fields: Iterable[str],
                     division: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if as_of is not None:
        params["date"] = as_of.isoformat()
    if include_resigned:
        params["includeResigner"] = "true"
    names = fields if isinstance(fields, str) else ",".join(f for f in fields if f)
    if names:
        params["additionalFields"] = names
    if division:
        params["division"] = division
    return params

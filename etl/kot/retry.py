"""One retry policy: classify an HTTP answer (pure), and bounded exponential backoff with jitter.

``classify_response(status, body, exc)`` sorts every answer of the attendance API into what the
client does next (KOT_API.md §1.6):

========================  =====================================================================
kind                      when
========================  =====================================================================
ok                        2xx (and no throttling body)
throttled                 HTTP 429, or a body with code 303 whatever the status → wait, retry
retryable                 5xx, 408, a reset or dropped connection, a read timeout, a garbled
                          2xx body → retry (a write *may* have been applied: ``maybe_applied``)
unreachable               could not connect (refused, DNS, connect timeout) → retry, then stop
tls                       TLS/certificate failure → stop at once (retrying will not help)
restricted                403 code 104: 利用制限時間帯 → stop (or wait for the window to end)
ip-not-allowed            403 code 105 (or an IP message): the allow-list → stop
auth                      401, 403 code 100 or any other 403 → stop
redirect                  3xx (redirects are never followed) → stop, naming where it pointed
fatal                     any other 4xx: the row fails with the API's own message
========================  =====================================================================

A Retry-After above ``RETRY_AFTER_CAP_S`` or one that cannot be read stops the run (the client
checks ``Outcome.retry_after_ok``) instead of sleeping for hours holding the lock.

``stop_error`` / ``retryable_error`` turn an outcome into the exception of ``etl.errors`` with
the one Japanese line the user sees (what happened and what to do).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import re
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from etl.errors import (
    ApiAnswerError,
    ApiUnreachableError,
    AuthError,
    IpNotAllowedError,
    RestrictedHoursError,
    Retryable,
    RowFailed,
    Throttled,
)
from etl.text import one_line


class Kind(StrEnum):
    OK = "ok"
    THROTTLED = "throttled"
    RETRYABLE = "retryable"
    UNREACHABLE = "unreachable"
    TLS = "tls"
    RESTRICTED = "restricted"
    IP_NOT_ALLOWED = "ip-not-allowed"
    AUTH = "auth"
    REDIRECT = "redirect"
    FATAL = "fatal"


RETRY_AFTER_CAP_S = 600.0  # a Retry-After longer than this stops the run (exit 4)


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    status: int | None = None
    api_code: Any = None  # the API's own code (int, or "303" as sent)
    message: str = ""
    retry_after: float | None = None
    retry_after_raw: str = ""  # the header as sent (for the message when it is refused)

    @property
    def retry_after_ok(self) -> bool:
        """No Retry-After, or a readable one within the cap."""
        return self.retry_after is None or self.retry_after <= RETRY_AFTER_CAP_S

    @property
    def ok(self) -> bool:
        return self.kind is Kind.OK

    @property
    def retryable(self) -> bool:
        return self.kind in (Kind.THROTTLED, Kind.RETRYABLE, Kind.UNREACHABLE)

    @property
    def maybe_applied(self) -> bool:
        """The request reached the server and its answer was lost: a write may have been applied."""
        return self.kind is Kind.RETRYABLE


def api_errors(body: Any) -> tuple[Any, str]:
    """(first code, joined messages) of an error body, in either of KOT's two shapes."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            items = [e for e in errors if isinstance(e, dict)]
            messages = [str(e.get("message", "")).strip() for e in items if e.get("message")]
            code = next((e.get("code") for e in items if e.get("code") is not None), None)
            return code, " / ".join(messages)
        if _is_error_body(body):
            return body.get("code"), str(body.get("message", "")).strip()
    if isinstance(body, str):
        return None, body.strip()[:200]
    return None, ""


def _is_error_body(body: dict) -> bool:
    """An error answer (``{"errors": [...]}`` or ``{"code", "message"}``), not a resource: an
    employee record also has a top-level ``code`` (its employee code, e.g. "303")."""
    return "errors" in body or ("message" in body and "key" not in body and "lastName" not in body)


def _codes(body: Any) -> set[str]:
    codes: set[str] = set()
    if isinstance(body, dict) and _is_error_body(body):
        if body.get("code") is not None:
            codes.add(str(body["code"]).strip())
        for e in body.get("errors") or []:
            if isinstance(e, dict) and e.get("code") is not None:
                codes.add(str(e["code"]).strip())
    return codes


def parse_retry_after(value: Any, now: dt.datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds, or an HTTP date (against ``now``).
    None when absent; ``math.inf`` when it cannot be read (1e999, nan, words…): the caller stops."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{1,12}(\.\d{1,6})?", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return math.inf
    if now is None or when.tzinfo is None:
        return math.inf
    return max(0.0, (when - now).total_seconds())


_IP_WORDS = re.compile(r"\bIP\b|IPアドレス|ip address", re.I)


def classify_response(status: int | None, body: Any, exc: Exception | None = None, *,
                      headers: Mapping[str, str] | None = None, now: dt.datetime | None = None) -> Outcome:
    """What the client does with one answer (pure; see the module table)."""
    if exc is not None:
        return _classify_exception(exc)
    raw = (headers or {}).get("Retry-After")
    retry_after = parse_retry_after(raw, now)
    raw = "" if raw is None else str(raw)[:40]
    code, message = api_errors(body)
    codes = _codes(body)
    if status == 429 or "303" in codes:
        return Outcome(Kind.THROTTLED, status, code, message or "Too Many Requests", retry_after, raw)
    if status is None:
        return Outcome(Kind.RETRYABLE, None, code, message or "応答がありません")
    if 200 <= status < 300:
        return Outcome(Kind.OK, status, code, message)
    if 300 <= status < 400:
        return Outcome(Kind.REDIRECT, status, None, str((headers or {}).get("Location") or "(転送先なし)")[:200])
    if "104" in codes:
        return Outcome(Kind.RESTRICTED, status, code, message or "利用制限時間帯です")
    if status in (401, 403):
        if "105" in codes or (not codes & {"100"} and _IP_WORDS.search(message or "")):
            return Outcome(Kind.IP_NOT_ALLOWED, status, code, message or "IP address not allowed")
        return Outcome(Kind.AUTH, status, code, message or "認証に失敗しました")
    if status >= 500 or status == 408:
        return Outcome(Kind.RETRYABLE, status, code, message or f"HTTP {status}", retry_after, raw)
    return Outcome(Kind.FATAL, status, code, message or f"HTTP {status}")


def _chain(exc: BaseException):
    """The exception and everything it wraps (requests → urllib3 → socket)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *e.args])


def _classify_exception(exc: Exception) -> Outcome:
    """Short Japanese reasons, never the URL (it may hold the token)."""
    chain = list(_chain(exc))

    def has(*kinds: type) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError) or any(
            type(e).__name__ in ("SSLError", "SSLCertVerificationError") for e in chain):
        return Outcome(Kind.TLS, message=f"TLS (SSL) の接続・証明書の検証に失敗しました ({name})")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Outcome(Kind.UNREACHABLE, message=f"接続がタイムアウトしました ({name})")
    if has(NameResolutionError, socket.gaierror):
        return Outcome(Kind.UNREACHABLE, message=f"ホスト名を解決できません ({name})")
    if has(NewConnectionError, ConnectionRefusedError):
        return Outcome(Kind.UNREACHABLE, message=f"接続が拒否されました ({name})")
    if isinstance(exc, (requests.exceptions.Timeout, TimeoutError)):
        return Outcome(Kind.RETRYABLE, message=f"応答がタイムアウトしました ({name})")
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                        ConnectionError)):
        return Outcome(Kind.RETRYABLE, message=f"接続が途中で切断されました ({name})")
    if isinstance(exc, ValueError):  # a 2xx body that is not JSON (cut short)
        return Outcome(Kind.RETRYABLE, message=f"応答が JSON として読めません ({name})")
    return Outcome(Kind.UNREACHABLE, message=f"通信エラー ({name})")


class Backoff:
    """Bounded exponential backoff with equal jitter; ``Retry-After`` wins when given."""

    def __init__(self, base_s: float = 0.5, max_s: float = 30.0, rng: random.Random | None = None):
        self.base_s = base_s
        self.max_s = max_s
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1, 2, …)."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_s, self.base_s * (2 ** max(0, attempt - 1)))
        with self._lock:
            return ceiling / 2 + self._rng.uniform(0, ceiling / 2)


# --- what the user is told --------------------------------------------------------------------

def retryable_error(outcome: Outcome, max_retries: int) -> Retryable:
    """The error raised when retries run out on a throttled or transient answer."""
    where = f"HTTP {outcome.status}: " if outcome.status else ""
    if outcome.kind is Kind.THROTTLED:
        return Throttled(f"勤怠APIのリクエスト数制限に達しました ({where}{outcome.message})。"
                         "etl.toml の [attendance_api] max_requests を下げるか、時間をおいて再実行してください",
                         retry_after=outcome.retry_after)
    return Retryable(f"勤怠APIが一時的なエラーを返しました ({where}{outcome.message})。"
                     f"{max_retries} 回再試行しても解消しない場合は、時間をおいて再実行してください",
                     retry_after=outcome.retry_after)


def stop_error(outcome: Outcome, *, base_url: str, token_env: str = "KOT_TOKEN",
               reopens_at: dt.datetime | None = None) -> Exception:
    """The error for an answer that is not retried: stop the run, or fail the row (RowFailed)."""
    msg = outcome.message
    code = f"コード {outcome.api_code}" if outcome.api_code is not None else f"HTTP {outcome.status}"
    if outcome.kind is Kind.RESTRICTED:
        return RestrictedHoursError(reopens_at)
    if outcome.kind is Kind.IP_NOT_ALLOWED:
        return IpNotAllowedError(
            f"勤怠APIがこの接続元の IP アドレスを拒否しました ({msg}, {code})。KING OF TIME の管理画面で"
            "アクセストークンの許可IPアドレスに送信元の固定IPを追加するか、etl.toml の [attendance_api] proxy に"
            "固定IPで出るプロキシを設定してください")
    if outcome.kind is Kind.AUTH:
        return AuthError(
            f"勤怠APIがアクセストークンを受け付けませんでした ({msg}, {code})。トークンが正しいか、失効・停止して"
            f"いないかを KING OF TIME の管理画面で確認し、環境変数 {token_env} に設定し直してください")
    if outcome.kind is Kind.TLS:
        return ApiUnreachableError(
            f"勤怠API ({base_url}) との TLS 接続に失敗しました: {msg}。base_url が正しいか、社内プロキシが"
            "証明書を差し替えていないかを確認してください")
    if outcome.kind is Kind.REDIRECT:
        return ApiAnswerError(one_line(
            f"勤怠API ({base_url}) が HTTP {outcome.status} で {msg} へ転送しようとしました (転送には従いません)。"
            "etl.toml の [attendance_api] base_url が API の URL (ログイン画面などではなく) か確認してください"))
    if outcome.kind is Kind.UNREACHABLE:
        return ApiUnreachableError(
            f"勤怠API ({base_url}) に接続できません: {msg}。ネットワーク接続と etl.toml の"
            " [attendance_api] base_url・proxy を確認してください")
    return RowFailed(msg or f"HTTP {outcome.status}", status=outcome.status, api_code=outcome.api_code)


def retry_after_error(outcome: Outcome, what: str) -> ApiAnswerError:
    """A Retry-After beyond the cap or unreadable: stop rather than sleep holding the lock."""
    seconds = outcome.retry_after
    if seconds is not None and math.isfinite(seconds):
        told = f"{seconds:,.0f} 秒後の再試行を求めました (上限 {RETRY_AFTER_CAP_S:.0f} 秒)"
    else:
        told = f"読めない Retry-After「{outcome.retry_after_raw}」を返しました"
    status = f"HTTP {outcome.status}" if outcome.status else "応答"
    return ApiAnswerError(one_line(f"勤怠API ({what}) が {status} で{told}。待たずに中止しました。"
                                   "時間をおいて再実行してください"))


def retry_budget_error(budget_s: float, what: str, last: str) -> ApiAnswerError:
    """Retries of one run waited, in all, as long as they may."""
    return ApiAnswerError(one_line(
        f"勤怠API ({what}) の再試行の待ち時間が、この実行の上限 {budget_s:,.0f} 秒に達したため中止しました"
        f" (最後のエラー: {last})。時間をおいて再実行してください"))


def shape_error(what: str, expected: str, body: Any) -> ApiAnswerError:
    """A 2xx answer of the wrong shape (empty, an object for a list, a record without its code…)."""
    if body is None:
        got = "空の応答"
    elif isinstance(body, list):
        got = f"配列 ({len(body)} 件)"
    elif isinstance(body, dict):
        got = "オブジェクト (" + ", ".join(map(str, list(body)[:5])) + ")"
    elif isinstance(body, str):
        got = body[:80]
    else:
        got = type(body).__name__
    return ApiAnswerError(one_line(f"勤怠API ({what}) の応答が想定した形ではありません (想定: {expected}、実際: {got})。"
                                   "etl.toml の [attendance_api] base_url が勤怠APIを指しているか確認してください"))

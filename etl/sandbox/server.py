"""A local KING OF TIME v1.0–compatible server for the demo, the tests and the benchmarks.

``Sandbox`` runs the standard library's threading HTTP server in a thread. Every request goes
through: Bearer auth (403/100) → optional IP allow-list (403/105) → restricted hours by the
sandbox's own clock (403/104, except the token endpoint) → sliding-window throttling (429 with
``{"code":"303"}`` and Retry-After) → faults → the endpoints of ``etl.sandbox.api``.

Faults are deterministic: ``fault_rate`` draws from a random stream seeded with ``seed``, and
``fail_next()`` scripts the next ones exactly. Kinds: ``"500"`` (Resource Server Error, nothing
applied), ``"drop"`` (connection closed, nothing applied), ``"drop_after"`` (the request is
applied, then the connection is closed: a lost answer), ``"500_after"`` (applied, then 500),
``"429"`` (throttled, with ``retry_after``).
"""
from __future__ import annotations

import logging
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from etl.clock import PUBLISHED_HOURS, Clock, RestrictedHours
from etl.kot.limiter import SlidingWindow
from etl.sandbox.api import SandboxApi, dumps
from etl.sandbox.data import generate_state
from etl.sandbox.state import SandboxState, load_state

__all__ = ["Sandbox", "SandboxState", "generate_state", "load_state", "FAULT_KINDS"]

log = logging.getLogger(__name__)

PREFIX = "/v1.0"
FAULT_KINDS = ("500", "drop", "drop_after", "500_after", "429")
RANDOM_FAULTS = ("500", "drop", "drop_after")
SERVER_ERROR = {"errors": [{"message": "Resource Server Error.", "code": 300}]}
TOO_MANY = {"code": "303", "message": "Too Many Requests"}
AUTH_FAILED = {"errors": [{"message": "認証に失敗しました", "code": 100}]}
IP_REFUSED = {"errors": [{"message": "許可されていないIPアドレスからのアクセスです", "code": 105}]}
DEFAULT_EMPLOYEES = 100


class Sandbox:
    def __init__(self, state: SandboxState | None = None, *, token: str = "sandbox-token",
                 clock: Clock | None = None, latency_ms: float = 0, fault_rate: float = 0.0,
                 rate_limit: tuple[int, float] | None = None, seed: int = 1, host: str = "127.0.0.1",
                 port: int = 0, restricted_hours: RestrictedHours | None = PUBLISHED_HOURS,
                 allowed_ips: set[str] | None = None):
        self.clock = clock or Clock()
        self.state = state if state is not None else generate_state(20, seed, self.clock.today())
        self.token = token
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.restricted_hours = restricted_hours
        self.allowed_ips = allowed_ips
        self.host, self.port = host, port
        self.api = SandboxApi(self.state)
        self.counts: dict[str, int] = dict.fromkeys(
            ("GET", "POST", "PUT", "DELETE", "throttled", "faults", "restricted", "unauthorized"), 0)
        self._lock = threading.Lock()
        self._window = SlidingWindow(*rate_limit) if rate_limit else None
        self._fault_rng = random.Random(seed)
        self._script: list[dict[str, Any]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    def start(self) -> Sandbox:
        server = _Server((self.host, self.port), _Handler)
        server.sandbox = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- test controls -----------------------------------------------------------------------
    def fail_next(self, kind: str, *, times: int = 1, method: str | None = None,
                  retry_after: float | None = None) -> None:
        """Script the next ``times`` matching requests (``method`` or any) to fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        with self._lock:
            self._script.extend({"kind": kind, "method": method, "retry_after": retry_after}
                                for _ in range(times))

    def reset_counts(self) -> None:
        with self._lock:
            for k in self.counts:
                self.counts[k] = 0

    def writes(self) -> int:
        """POST + PUT + DELETE requests received so far."""
        return self.counts["POST"] + self.counts["PUT"] + self.counts["DELETE"]

    # --- one request -------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def _fault(self, method: str) -> dict[str, Any] | None:
        with self._lock:
            for i, f in enumerate(self._script):
                if f["method"] in (None, method):
                    return self._script.pop(i)
            if self.fault_rate > 0 and self._fault_rng.random() < self.fault_rate:
                return {"kind": self._fault_rng.choice(RANDOM_FAULTS), "retry_after": None}
        return None

    def _throttle(self) -> float:
        if self._window is None:
            return 0.0
        with self._lock:
            return self._window.try_admit(self.clock.now().timestamp())

    def respond(self, method: str, target: str, headers: Any, body: bytes,
                client_ip: str) -> tuple[int, bytes, dict[str, str]] | None:
        """The answer to one request, or None to drop the connection without one."""
        self._count(method)
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        parts = urlsplit(target)
        if not parts.path.startswith(PREFIX + "/"):
            return 404, dumps({"errors": [{"message": f"{parts.path} はありません", "code": 4}]}), {}
        path = parts.path[len(PREFIX):]
        if headers.get("Authorization", "") != f"Bearer {self.token}":
            self._count("unauthorized")
            return 403, dumps(AUTH_FAILED), {}
        if self.allowed_ips is not None and client_ip not in self.allowed_ips:
            return 403, dumps(IP_REFUSED), {}
        token_path = path.startswith("/tokens/")
        now = self.clock.now()
        if not token_path and self.restricted_hours is not None and self.restricted_hours.is_restricted(now):
            self._count("restricted")
            return 403, dumps(_restricted_body(self.restricted_hours)), {}
        wait = self._throttle()
        if wait > 0:
            self._count("throttled")
            return 429, dumps(TOO_MANY), {"Retry-After": str(max(1, round(wait + 0.5)))}
        if token_path:
            return self._token_answer(method, path)
        fault = self._fault(method)
        kind = fault["kind"] if fault else None
        fault = fault or {}
        if kind:
            self._count("faults")
        if kind == "drop":
            return None
        if kind == "500":
            return 500, dumps(SERVER_ERROR), {}
        if kind == "429":
            retry = fault.get("retry_after")
            return 429, dumps(TOO_MANY), ({"Retry-After": f"{retry:g}"} if retry is not None else {})
        status, payload = self.api.handle(method, path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                                          body, now.date())
        if kind == "drop_after":
            return None
        if kind == "500_after":
            return 500, dumps(SERVER_ERROR), {}
        return status, payload, {}

    def _token_answer(self, method: str, path: str) -> tuple[int, bytes, dict[str, str]]:
        parts = path.split("/")
        if method != "GET" or len(parts) != 4 or parts[3] != "available":
            return 404, dumps({"errors": [{"message": f"{path} はありません", "code": 4}]}), {}
        return 200, dumps({"available": unquote(parts[2]) == self.token}), {}


def _restricted_body(hours: RestrictedHours) -> dict:
    spans = ", ".join(f"{w.start:%H:%M} ~ {w.end:%H:%M}" for w in hours.windows)
    return {"errors": [{"message": f"次の時間帯(JST)はAPIへのアクセスが禁止されています [{spans}]", "code": 104}]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sandbox: Sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away (its timeout): nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kot-sandbox/1.0"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are closed after this

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            answer = self.server.sandbox.respond(  # type: ignore[attr-defined]
                self.command, self.path, self.headers, body, self.client_address[0])
        except Exception:  # a sandbox bug: answer like KOT's outage, and say where
            log.exception("sandbox: internal error on %s %s", self.command, self.path.split("?")[0])
            answer = 500, dumps(SERVER_ERROR), {}
        if answer is None:
            self.close_connection = True
            return
        status, payload, extra = answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

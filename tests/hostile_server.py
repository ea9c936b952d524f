"""A loopback HTTP server that answers what a test scripts: the attendance API answering nonsense
(redirects, empty or wrongly shaped 200s, absurd Retry-After). Not a mock of our code: the real
client talks real HTTP to it. Unscripted requests get 404."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str | None] = field(default_factory=dict)


class HostileServer:
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                answer = server.next_answer(self.command, path)
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    if v is not None:
                        self.send_header(k, v)
                if "Content-Length" not in answer.headers:  # None: no length, the body ends at the close
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1.0"

    def script(self, method: str, path: str, *answers: Answer) -> None:
        """The next answers to ``method /v1.0<path>``; the last one repeats."""
        self.answers[(method, "/v1.0" + path)] = list(answers)

    def next_answer(self, method: str, path: str) -> Answer:
        with self._lock:
            self.seen.append((method, path))
            queue = self.answers.get((method, path))
            if not queue:
                return Answer(404, b'{"errors":[{"message":"not found","code":4}]}')
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

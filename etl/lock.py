"""One run at a time per workspace: an OS file lock, and a note of who holds it.

The lock is an OS lock on a file (``filelock``: ``flock`` on POSIX, ``LockFileEx`` on Windows)
beside the ledger database (a SQLite file) or else beside the configuration, so every command
of one workspace meets the same lock whatever ``--reports-dir`` says. The OS drops the lock when
its process ends, however it ends (killed, power cut), so a lock is never stale and a reused
PID can never wedge it: nothing is judged by PID. Beside the lock file, ``<lock>.holder`` names
the holder (pid, start, host, command) for the message that refuses a second run (exit 2).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl.clock import Clock, parse_iso
from etl.errors import LockHeldError
from etl.fileio import PRIVATE_FILE, private_dir, write_text

if TYPE_CHECKING:  # pragma: no cover
    from etl.config import Settings

LOCK_NAME = ".kintai-etl.lock"
HOLDER_SUFFIX = ".holder"


def default_lock_path(settings: Settings) -> Path:
    """The workspace's run lock: beside the SQLite ledger file, else beside the configuration."""
    return workspace_dir(settings) / LOCK_NAME


def workspace_dir(settings: Settings) -> Path:
    url = settings.ledger_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        rest = url[len(prefix):].split("?", 1)[0]
        if rest and rest != ":memory:":
            return Path(rest).parent
    return Path(settings.base_dir)


class RunLock:
    """``with RunLock(path, clock): ...`` — held for the duration of one run."""

    def __init__(self, path: Path, clock: Clock, command: str = "run"):
        self.path = Path(path)
        self.clock = clock
        self.command = command
        self.held = False
        self._lock: Any = None
        self._record: dict[str, Any] = {}

    @property
    def holder_path(self) -> Path:
        return self.path.with_name(self.path.name + HOLDER_SUFFIX)

    # --- public API ---------------------------------------------------------------------------
    def acquire(self) -> RunLock:
        from filelock import FileLock, Timeout

        private_dir(self.path.parent)
        lock = FileLock(self.path, timeout=0, mode=PRIVATE_FILE, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise self._held_error(read_holder(self.holder_path)) from None
        self._lock, self.held = lock, True
        self._record = {"pid": os.getpid(), "started_at": self.clock.now().isoformat(timespec="seconds"),
                        "host": socket.gethostname(), "command": self.command}
        try:
            write_text(self.holder_path, json.dumps(self._record, ensure_ascii=False))
        except OSError:  # the note only words the message; the lock is what counts
            pass
        return self

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if read_holder(self.holder_path) == self._record:
            with contextlib.suppress(OSError):
                self.holder_path.unlink()
        self._lock.release()
        self._lock = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- internals ----------------------------------------------------------------------------
    def _held_error(self, holder: dict[str, Any] | None) -> LockHeldError:
        holder = holder or {}
        return LockHeldError(f"別の実行 ({describe_holder(holder)}) が進行中です。終了を待ってから再実行してください",
                             holder)


def describe_holder(holder: dict[str, Any]) -> str:
    """'pid 1234, 2026-11-26 02:00 開始' (with the host when it is another machine)."""
    who = f"pid {holder.get('pid', '不明')}"
    if holder.get("host") not in (None, "", socket.gethostname()):
        who = f"{holder['host']} の {who}"
    return f"{who}, {_when(holder)}"


def read_holder(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _when(holder: dict[str, Any]) -> str:
    try:
        started = parse_iso(str(holder["started_at"]))
    except (KeyError, ValueError):
        return "開始時刻不明"
    return f"{started:%Y-%m-%d %H:%M} 開始"

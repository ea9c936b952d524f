"""One run at a time: a lock file holding who runs (pid, start, host, command).

The file is created atomically (``O_CREAT | O_EXCL``), so two processes cannot both hold it. A
lock left behind by a process that no longer exists (killed, power cut) is taken over with a
warning; a lock held by a live process stops the second run with exit 2, naming the holder.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl.clock import Clock, parse_iso
from etl.errors import LockHeldError
from etl.fileio import PRIVATE_FILE, private_dir

if TYPE_CHECKING:  # pragma: no cover
    from etl.config import Settings

log = logging.getLogger(__name__)

LOCK_NAME = ".kintai-etl.lock"
# a lock file with no readable content (its writer was killed between create and write) is
# only treated as stale once it is this old: a live writer may be between the two steps
UNREADABLE_GRACE = dt.timedelta(seconds=30)
# a lock this old is probably a stale one whose pid was reused; the message says how to clear it
OLD_LOCK = dt.timedelta(hours=12)


def default_lock_path(settings: Settings) -> Path:
    """The run lock beside the reports (every run writes there, so it always exists)."""
    return settings.path("reports") / LOCK_NAME


class RunLock:
    """``with RunLock(path, clock): ...`` — held for the duration of one run."""

    def __init__(self, path: Path, clock: Clock, command: str = "run"):
        self.path = Path(path)
        self.clock = clock
        self.command = command
        self.held = False
        self._record: dict[str, Any] = {}

    # --- public API ---------------------------------------------------------------------------
    def acquire(self) -> RunLock:
        private_dir(self.path.parent)
        for _ in range(50):  # a takeover races with other takers: retry the atomic create
            if self._create():
                return self
            holder = _read(self.path)
            if holder is None and not self.path.exists():
                continue  # released between our create and our read
            if not self._is_stale(holder):
                raise self._held_error(holder)
            self._take_over(holder)
        raise self._held_error(_read(self.path))

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        holder = _read(self.path)
        if holder is not None and not _same(holder, self._record):
            log.warning("ロック %s は別の実行 (pid %s) のものになっているため残します", self.path, holder.get("pid"))
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- internals ----------------------------------------------------------------------------
    def _create(self) -> bool:
        record = {"pid": os.getpid(), "started_at": self.clock.now().isoformat(timespec="seconds"),
                  "host": socket.gethostname(), "command": self.command}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE)
        except FileExistsError:
            return False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:  # e.g. a full disk: leave no empty lock behind
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise
        self._record = record
        self.held = True
        return True

    def _is_stale(self, holder: dict[str, Any] | None) -> bool:
        if holder is None:  # unreadable: stale only once it is old enough
            return _age(self.path) > UNREADABLE_GRACE
        if holder.get("host") not in (None, "", socket.gethostname()):
            return False  # another machine's process (shared folder): we cannot check it
        pid = holder.get("pid")
        return not (isinstance(pid, int) and pid > 0 and pid_alive(pid))

    def _take_over(self, holder: dict[str, Any] | None) -> None:
        """Remove the stale file, under a small mutex so that a taker never removes the fresh lock
        another taker has just created; every taker then retries the atomic create (one wins)."""
        mutex = self.path.with_name(self.path.name + ".takeover")
        try:
            os.close(os.open(mutex, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
        except FileExistsError:
            if _age(mutex) > UNREADABLE_GRACE:  # its taker died inside: clear it
                with contextlib.suppress(OSError):
                    mutex.unlink()
            else:
                time.sleep(0.01)  # another taker is at it (microseconds); look again
            return
        try:
            if _key(_read(self.path)) != _key(holder):
                return  # it changed under us: look again
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            if holder:
                log.warning("前回の実行 (pid %s, %s) はすでに終了しています。残っていたロックを引き継ぎます: %s",
                            holder.get("pid"), _when(holder), self.path)
            else:
                log.warning("読めないロックファイルを引き継ぎます: %s", self.path)
        finally:
            with contextlib.suppress(OSError):
                mutex.unlink()

    def _held_error(self, holder: dict[str, Any] | None) -> LockHeldError:
        holder = holder or {}
        text = f"別の実行 ({describe_holder(holder)}) が進行中です。終了を待ってから再実行してください"
        started = _started(holder)
        if started is not None and self.clock.now() - started > OLD_LOCK:
            text += f" (そのプロセスがもう動いていない場合は {self.path} を削除してください)"
        err = LockHeldError(text)
        err.holder = holder  # for callers that word it their own way (the scheduler)
        return err


def describe_holder(holder: dict[str, Any]) -> str:
    """'pid 1234, 2026-11-26 02:00 開始' (with the host when it is another machine)."""
    who = f"pid {holder.get('pid', '不明')}"
    if holder.get("host") not in (None, "", socket.gethostname()):
        who = f"{holder['host']} の {who}"
    return f"{who}, {_when(holder)}"


def pid_alive(pid: int) -> bool:
    """Is there a process with this id? (Windows: best effort through the Win32 API.)"""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just belongs to someone else
    except OSError:
        return True  # unknown: assume alive rather than break a live lock
    return True


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    # os.kill(pid, 0) would *terminate* the process on Windows, so ask the kernel instead
    import ctypes
    from ctypes import wintypes
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    process_query_limited_information, still_active, error_access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == error_access_denied
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _age(path: Path) -> dt.timedelta:
    """How long ago ``path`` was last written (zero when it is gone)."""
    try:
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except OSError:
        return dt.timedelta(0)
    return dt.datetime.now(dt.UTC) - mtime


def _key(record: dict[str, Any] | None) -> tuple | None:
    return None if record is None else tuple(record.get(k) for k in ("pid", "started_at", "host"))


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return a is not None and b is not None and _key(a) == _key(b)


def _started(holder: dict[str, Any]) -> dt.datetime | None:
    try:
        return parse_iso(str(holder["started_at"]))
    except (KeyError, ValueError):
        return None


def _when(holder: dict[str, Any]) -> str:
    started = _started(holder)
    return f"{started:%Y-%m-%d %H:%M} 開始" if started else "開始時刻不明"

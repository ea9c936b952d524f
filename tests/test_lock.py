"""The run lock: one run at a time, the holder named, a dead holder's lock taken over."""
from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from etl.clock import ManualClock
from etl.config import load_settings
from etl.errors import ExitCode, LockHeldError
from etl.lock import RunLock, default_lock_path, pid_alive

START = "2026-11-26T02:00:00+09:00"


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def lock_path(tmp_path):
    return tmp_path / "reports" / ".kintai-etl.lock"


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


def write_lock(path, **record):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"pid": 1, "started_at": "2026-11-25T02:00:00+09:00", "host": socket.gethostname(),
            "command": "run"} | record
    path.write_text(json.dumps(data), encoding="utf-8")


def test_acquire_writes_holder_owner_only_and_release_removes_it(lock_path, clock):
    lock = RunLock(lock_path, clock, command="run").acquire()
    data = json.loads(lock_path.read_text(encoding="utf-8"))
    assert data == {"pid": os.getpid(), "started_at": START, "host": socket.gethostname(), "command": "run"}
    if os.name == "posix":
        assert stat.S_IMODE(lock_path.stat().st_mode) == 0o600
    lock.release()
    assert not lock_path.exists()
    lock.release()  # a second release is harmless


def test_context_manager_releases_even_on_error(lock_path, clock):
    with pytest.raises(RuntimeError), RunLock(lock_path, clock):
        assert lock_path.exists()
        raise RuntimeError("boom")
    assert not lock_path.exists()


def test_second_acquire_names_holder_pid_and_start_time(lock_path, clock):
    with RunLock(lock_path, clock):
        clock.advance(600)
        with pytest.raises(LockHeldError) as err:
            RunLock(lock_path, clock).acquire()
    assert str(err.value) == (f"別の実行 (pid {os.getpid()}, 2026-11-26 02:00 開始) が進行中です。"
                              "終了を待ってから再実行してください")
    assert err.value.exit_code == ExitCode.USAGE == 2


def test_stale_lock_of_a_dead_process_is_taken_over(lock_path, clock, caplog):
    pid = dead_pid()
    write_lock(lock_path, pid=pid)
    with caplog.at_level(logging.WARNING, logger="etl.lock"), RunLock(lock_path, clock):
        assert json.loads(lock_path.read_text(encoding="utf-8"))["pid"] == os.getpid()
    assert f"pid {pid}" in caplog.text and "引き継ぎます" in caplog.text
    assert not lock_path.exists()
    assert not lock_path.with_name(lock_path.name + ".takeover").exists()


def test_exactly_one_of_many_concurrent_takers_wins(lock_path, clock):
    write_lock(lock_path, pid=dead_pid())
    barrier = threading.Barrier(8)
    won, refused = [], []

    def take():
        barrier.wait()
        try:
            won.append(RunLock(lock_path, clock).acquire())
        except LockHeldError:
            refused.append(1)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 7
    won[0].release()


def test_fresh_unreadable_lock_is_held_an_old_one_is_taken_over(lock_path, clock):
    lock_path.parent.mkdir(parents=True)
    lock_path.write_text("", encoding="utf-8")  # a writer between create and write
    with pytest.raises(LockHeldError, match="pid 不明, 開始時刻不明"):
        RunLock(lock_path, clock).acquire()
    old = time.time() - 3600
    os.utime(lock_path, (old, old))  # the writer died an hour ago
    with RunLock(lock_path, clock):
        assert json.loads(lock_path.read_text(encoding="utf-8"))["pid"] == os.getpid()


def test_lock_of_another_machine_is_not_taken_over(lock_path, clock):
    write_lock(lock_path, pid=dead_pid(), host="batch-server-2")
    with pytest.raises(LockHeldError, match="batch-server-2 の pid"):
        RunLock(lock_path, clock).acquire()


def test_very_old_live_lock_says_how_to_clear_it(lock_path, clock):
    write_lock(lock_path, pid=os.getpid(), started_at="2026-11-25T01:00:00+09:00")
    with pytest.raises(LockHeldError) as err:
        RunLock(lock_path, clock).acquire()
    assert "2026-11-25 01:00 開始" in str(err.value)
    assert str(lock_path) in str(err.value) and "削除してください" in str(err.value)


def test_release_leaves_a_lock_that_is_no_longer_ours(lock_path, clock):
    lock = RunLock(lock_path, clock).acquire()
    write_lock(lock_path, pid=4242)  # someone else's now (e.g. removed by hand and re-taken)
    lock.release()
    assert json.loads(lock_path.read_text(encoding="utf-8"))["pid"] == 4242


def test_default_lock_path_is_beside_the_reports(tmp_path):
    settings = load_settings(env={}, cwd=tmp_path, reports_dir=str(tmp_path / "out"))
    assert default_lock_path(settings) == tmp_path / "out" / ".kintai-etl.lock"


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid())

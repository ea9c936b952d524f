"""The run lock: one run per workspace (an OS file lock), the holder named, a killed holder's lock
free at once, a PID written by someone else never in the way."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from etl.clock import ManualClock
from etl.config import load_settings
from etl.errors import ExitCode, LockHeldError
from etl.lock import RunLock, default_lock_path

START = "2026-11-26T02:00:00+09:00"
HOLD = """
import sys
from etl.clock import ManualClock
from etl.lock import RunLock
lock = RunLock(sys.argv[1], ManualClock("2026-11-26T01:00:00+09:00"), command="sync-employees").acquire()
print("held", flush=True)
sys.stdin.read()  # until the test kills us
"""


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def lock_path(tmp_path):
    return tmp_path / "data" / ".kintai-etl.lock"


def holder_of(lock_path):
    return json.loads(lock_path.with_name(lock_path.name + ".holder").read_text(encoding="utf-8"))


def test_acquire_names_the_holder_owner_only_and_release_clears_the_note(lock_path, clock):
    lock = RunLock(lock_path, clock, command="run").acquire()
    assert holder_of(lock_path) == {"pid": os.getpid(), "started_at": START, "host": socket.gethostname(),
                                    "command": "run"}
    if os.name == "posix":
        assert stat.S_IMODE(lock_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(lock.holder_path.stat().st_mode) == 0o600
    lock.release()
    assert not lock.holder_path.exists()
    lock.release()  # a second release is harmless
    RunLock(lock_path, clock).acquire().release()  # and the lock is free again


def test_context_manager_releases_even_on_error(lock_path, clock):
    with pytest.raises(RuntimeError), RunLock(lock_path, clock):
        raise RuntimeError("boom")
    with RunLock(lock_path, clock):
        pass


def test_second_acquire_names_holder_pid_and_start_time(lock_path, clock):
    with RunLock(lock_path, clock):
        clock.advance(600)
        with pytest.raises(LockHeldError) as err:
            RunLock(lock_path, clock).acquire()
    assert str(err.value) == (f"別の実行 (pid {os.getpid()}, 2026-11-26 02:00 開始) が進行中です。"
                              "終了を待ってから再実行してください")
    assert err.value.exit_code == ExitCode.USAGE == 2


def test_another_process_holds_it_until_it_is_killed(lock_path, clock):
    lock_path.parent.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(LockHeldError, match=f"pid {proc.pid}, 2026-11-26 01:00 開始"):
            RunLock(lock_path, clock).acquire()
    finally:
        proc.kill()  # SIGKILL: no clean-up runs in the holder
        proc.wait()
    with RunLock(lock_path, clock):  # the OS dropped its lock: free at once, no takeover, no age
        assert holder_of(lock_path)["pid"] == os.getpid()


@pytest.mark.parametrize("pid", [1, os.getpid(), 999_999], ids=["pid-1", "own-pid", "unknown-pid"])
def test_a_leftover_note_naming_any_pid_never_wedges_the_lock(lock_path, clock, pid):
    # a container restarted as PID 1 finds a note naming its own PID: nothing is judged by PID
    lock_path.parent.mkdir(parents=True)
    lock_path.write_text("", encoding="utf-8")
    lock_path.with_name(lock_path.name + ".holder").write_text(
        json.dumps({"pid": pid, "started_at": "2026-11-25T02:00:00+09:00", "host": socket.gethostname()}))
    with RunLock(lock_path, clock):
        assert holder_of(lock_path)["started_at"] == START


def test_exactly_one_of_many_concurrent_takers_wins(lock_path, clock):
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


@pytest.mark.parametrize("note", ["{not json", "[" * 100_000 + "]" * 100_000, "[1]"], ids=["garbage", "deep", "list"])
def test_held_with_an_unreadable_note_says_so(lock_path, clock, note):
    with RunLock(lock_path, clock) as lock:
        lock.holder_path.write_text(note, encoding="utf-8")
        with pytest.raises(LockHeldError, match="pid 不明, 開始時刻不明"):
            RunLock(lock_path, clock).acquire()


def test_the_reports_folder_does_not_move_the_lock(tmp_path):
    a = load_settings(env={}, cwd=tmp_path, reports_dir=str(tmp_path / "out-a"))
    b = load_settings(env={}, cwd=tmp_path, reports_dir=str(tmp_path / "out-b"))
    assert default_lock_path(a) == default_lock_path(b) == tmp_path / "data" / ".kintai-etl.lock"
    with RunLock(default_lock_path(a), ManualClock(START)):
        with pytest.raises(LockHeldError):
            RunLock(default_lock_path(b), ManualClock(START)).acquire()


def test_a_server_ledger_locks_beside_the_configuration(tmp_path):
    config = tmp_path / "conf" / "etl.toml"
    config.parent.mkdir()
    config.write_text('[ledger]\nurl = "postgresql+psycopg://hr@db.example/ledger"\n', encoding="utf-8")
    settings = load_settings(config, env={})
    assert default_lock_path(settings) == tmp_path / "conf" / ".kintai-etl.lock"

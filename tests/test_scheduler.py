"""The scheduler: what is due (pure), `schedule --once`, the loop on a manual clock, the `schedule`
library wiring, stopping on SIGTERM, and the log file (owner-only, token masked).

The batch is replaced by ``FakeRun``, a stand-in for ``etl.app.batch.run_command`` that records when it
was called and returns scripted exit codes; the workbook, the settings, the state file, the lock
and the log are real.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import signal
import stat
import threading
from pathlib import Path

import openpyxl
import pytest

from etl.app.context import Context
from etl.app.options import RunOptions, ScheduleOptions
from etl.app.schedule import (
    MAX_FAILURES,
    AutoSync,
    SchedulePlan,
    ScheduleState,
    StopFlag,
    Timetable,
    WorkbookPlans,
    install_signal_handlers,
    is_due,
    load_state,
    local_wall_time,
    next_due,
    save_state,
    schedule_command,
    schedule_lock_path,
    state_path,
)
from etl.cli import main
from etl.clock import JST, Clock, ManualClock, parse_iso
from etl.config import load_settings
from etl.lock import RunLock, default_lock_path
from etl.logsetup import PrivateRotatingFileHandler

TOKEN = "tok-9f8e7d6c5b4a-SECRET"


def at(text: str) -> dt.datetime:
    return parse_iso(text if "T" in text else f"2026-11-26T{text}")


# --- stand-ins and helpers --------------------------------------------------------------------------
class ScriptedClock(ManualClock):
    """A ManualClock that performs scripted actions once its time passes given moments."""

    def __init__(self, start: str):
        super().__init__(start)
        self.events: list[tuple[dt.datetime, object]] = []

    def on(self, when: str, action) -> None:
        self.events.append((at(when), action))

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        for event in [e for e in self.events if e[0] <= self.now()]:
            self.events.remove(event)
            event[1]()


class FakeRun:
    """Stands in for the batch: records each call's time and args, returns scripted codes."""

    def __init__(self, clock: ManualClock, codes=(0,), effect=None):
        self.clock, self.codes, self.effect = clock, list(codes), effect
        self.calls: list[dt.datetime] = []
        self.args: list[RunOptions] = []

    def __call__(self, ctx, opts: RunOptions) -> int:
        self.calls.append(self.clock.now())
        self.args.append(opts)
        code = self.codes[min(len(self.calls), len(self.codes)) - 1]
        if self.effect:
            self.effect(len(self.calls))
        return code


def write_book(path, auto="する", time_text="02:00"):
    """A real workbook with the 設定 sheet (the reader reports the other sheets as missing)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "設定"
    ws.append(["項目", "値", "説明"])
    ws.append(["テンプレートバージョン", 1, ""])
    ws.append(["自動連携", auto, ""])
    ws.append(["自動連携時刻", time_text, ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    stamp = os.stat(path).st_mtime + 1  # make the change visible even within one mtime tick
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def book(tmp_path):
    return write_book(tmp_path / "data" / "mapping.xlsx")


def make_ctx(tmp_path, clock) -> Context:
    settings = load_settings(env={"KOT_TOKEN": TOKEN}, cwd=tmp_path, clock=clock)
    return Context(env={}, stdout=io.StringIO(), stderr=io.StringIO(), settings_override=settings)


def run_schedule(tmp_path, clock, book, fake, *, once=True, stop=None):
    ctx = make_ctx(tmp_path, clock)
    code = schedule_command(ctx, ScheduleOptions(once=once, workbook=str(book)), run_batch=fake, stop=stop)
    return code, ctx.stdout.getvalue(), ctx.stderr.getvalue(), ctx.settings


def log_text(tmp_path) -> str:
    return (tmp_path / "logs" / "etl.log").read_text(encoding="utf-8")


# --- what is due (pure) ---------------------------------------------------------------------------
ON = SchedulePlan(auto_sync=True, at=dt.time(2, 0))
TODAY, YESTERDAY = dt.date(2026, 11, 26), dt.date(2026, 11, 25)


@pytest.mark.parametrize("now, plan, state, due, upcoming", [
    ("01:59", ON, ScheduleState(), False, "2026-11-26T02:00"),
    ("02:00", ON, ScheduleState(), True, "2026-11-26T02:00"),
    ("15:00", ON, ScheduleState(), True, "2026-11-26T02:00"),
    ("15:00", ON, ScheduleState(done_on=TODAY), False, "2026-11-27T02:00"),
    ("00:30", ON, ScheduleState(done_on=YESTERDAY), False, "2026-11-26T02:00"),
    ("02:00", ON, ScheduleState(done_on=YESTERDAY), True, "2026-11-26T02:00"),
    ("15:00", SchedulePlan(auto_sync=False), ScheduleState(), False, None),
    ("02:40", ON, ScheduleState(attempt_at=at("02:10"), exit_code=4, failures=1), False, "2026-11-26T03:10"),
    ("03:10", ON, ScheduleState(attempt_at=at("02:10"), exit_code=4, failures=1), True, "2026-11-26T03:10"),
    ("09:00", ON, ScheduleState(attempt_at=at("06:00"), exit_code=4, failures=MAX_FAILURES), False,
     "2026-11-27T02:00"),
    ("23:40", ON, ScheduleState(attempt_at=at("23:30"), exit_code=4, failures=1), False, "2026-11-27T02:00"),
    ("02:00", ON, ScheduleState(attempt_at=at("2026-11-25T09:00"), exit_code=4, failures=MAX_FAILURES), True,
     "2026-11-26T02:00"),
], ids=["before-time", "at-time", "after-time-missed", "already-ran-today", "ran-yesterday-before-time",
        "ran-yesterday-at-time", "auto-sync-off", "failed-retry-waits-an-hour", "failed-retry-after-an-hour",
        "failed-too-often-today", "late-failure-retries-tomorrow", "yesterdays-failures-forgotten"])
def test_next_due(now, plan, state, due, upcoming):
    assert is_due(at(now), plan, state) is due
    assert next_due(at(now), plan, state) == (at(upcoming) if upcoming else None)


def test_state_after_runs():
    s = ScheduleState().after(at("02:00"), 4)
    assert (s.done_on, s.failures, s.exit_code) == (None, 1, 4)
    s = s.after(at("03:00"), 2)
    assert s.failures == 2
    s = s.after(at("04:00"), 1)  # 一部エラー counts as done: rows failed, the rest went through
    assert (s.done_on, s.failures, s.attempt_at) == (TODAY, 0, at("04:00"))
    assert ScheduleState(attempt_at=at("2026-11-25T05:00"), failures=2).after(at("02:00"), 4).failures == 1


def test_state_file_round_trip_and_unreadable_file(tmp_path):
    path = tmp_path / "state.json"
    state = ScheduleState(done_on=TODAY, attempt_at=at("02:00"), exit_code=0, failures=0)
    save_state(path, state)
    assert load_state(path) == state
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("{not json", encoding="utf-8")
    assert load_state(path) == ScheduleState()
    assert load_state(tmp_path / "missing.json") == ScheduleState()


# --- schedule --once ------------------------------------------------------------------------------
def test_once_before_time_prints_next_run_and_runs_nothing(tmp_path, book):
    clock = ManualClock("2026-11-26T01:00:00+09:00")
    fake = FakeRun(clock)
    code, out, err, _ = run_schedule(tmp_path, clock, book, fake)
    assert (code, out, err) == (0, "実行するものはありません (次回: 2026-11-26 02:00)\n", "")
    assert fake.calls == [] and clock.slept == []


def test_once_runs_what_is_due_once_a_day(tmp_path, book):
    clock = ManualClock("2026-11-26T02:05:00+09:00")
    fake = FakeRun(clock, codes=(1,))
    code, out, _, settings = run_schedule(tmp_path, clock, book, fake)
    assert code == 1  # the run's own exit code (一部エラー)
    assert fake.calls == [at("02:05")]
    args = fake.args[0]
    assert args == RunOptions(month=None, dry_run=False, wait=False, workbook=str(book))
    state = load_state(state_path(settings))
    assert (state.done_on, state.exit_code) == (TODAY, 1)

    clock.advance(3600)
    code, out, _, _ = run_schedule(tmp_path, clock, book, fake)
    assert (code, out) == (0, "実行するものはありません (次回: 2026-11-27 02:00)\n")
    assert len(fake.calls) == 1


def test_once_with_auto_sync_off_says_so(tmp_path):
    book = write_book(tmp_path / "book.xlsx", auto="しない")
    clock = ManualClock("2026-11-26T03:00:00+09:00")
    fake = FakeRun(clock)
    code, out, _, _ = run_schedule(tmp_path, clock, book, fake)
    assert (code, out) == (0, "実行するものはありません (ブックの「自動連携」が「しない」です)\n")
    assert fake.calls == []


def test_once_with_unreadable_auto_sync_value_warns_with_the_cell(tmp_path):
    book = write_book(tmp_path / "book.xlsx", auto="たぶん")
    clock = ManualClock("2026-11-26T03:00:00+09:00")
    code, out, err, _ = run_schedule(tmp_path, clock, book, FakeRun(clock))
    assert (code, out) == (0, "実行するものはありません (ブックの「自動連携」が「しない」です)\n")
    assert "設定!B3" in err and "たぶん" in err


def test_once_failed_run_is_retried_an_hour_later(tmp_path, book):
    clock = ManualClock("2026-11-26T02:00:00+09:00")
    fake = FakeRun(clock, codes=(4, 0))
    assert run_schedule(tmp_path, clock, book, fake)[0] == 4
    clock.advance(30 * 60)
    code, out, _, _ = run_schedule(tmp_path, clock, book, fake)
    assert (code, out) == (0, "実行するものはありません (次回: 2026-11-26 03:00)\n")
    clock.advance(30 * 60)
    assert run_schedule(tmp_path, clock, book, fake)[0] == 0
    assert fake.calls == [at("02:00"), at("03:00")]


def test_once_with_broken_workbook_is_one_line_exit_3(tmp_path):
    book = tmp_path / "broken.xlsx"
    book.write_bytes(b"this is not an xlsx")
    clock = ManualClock("2026-11-26T03:00:00+09:00")
    fake = FakeRun(clock)
    code, out, err, _ = run_schedule(tmp_path, clock, book, fake)
    assert code == 3 and out == "" and fake.calls == []
    assert len(err.strip().splitlines()) == 1 and "broken.xlsx" in err and "Traceback" not in err


def test_restricted_hours_are_waited_out(tmp_path):
    book = write_book(tmp_path / "book.xlsx", time_text="09:00")
    clock = ManualClock("2026-11-26T09:00:00+09:00")  # inside 08:30-10:00
    fake = FakeRun(clock)
    code, _, _, _ = run_schedule(tmp_path, clock, book, fake)
    assert code == 0
    assert clock.slept == [3600.0]
    assert fake.calls == [at("10:00")]
    assert "10:00 まで待って" in log_text(tmp_path)


def test_once_in_restricted_hours_with_nothing_due_does_not_wait(tmp_path):
    book = write_book(tmp_path / "book.xlsx", time_text="11:00")
    clock = ManualClock("2026-11-26T09:00:00+09:00")
    fake = FakeRun(clock)
    code, out, _, _ = run_schedule(tmp_path, clock, book, fake)
    assert (code, out, clock.slept) == (0, "実行するものはありません (次回: 2026-11-26 11:00)\n", [])


def test_run_that_hits_a_window_is_retried_after_reopening(tmp_path):
    book = write_book(tmp_path / "book.xlsx", time_text="17:00")
    clock = ManualClock("2026-11-26T17:00:00+09:00")
    # the first run takes 40 minutes, reaches the 17:30-18:30 window and stops with exit 5
    fake = FakeRun(clock, codes=(5, 0), effect=lambda n: clock.advance(40 * 60) if n == 1 else None)
    code, _, _, settings = run_schedule(tmp_path, clock, book, fake)
    assert code == 0
    assert fake.calls == [at("17:00"), at("18:30")]
    assert load_state(state_path(settings)).done_on == TODAY


def test_exit_5_outside_our_window_is_retried_after_a_pause(tmp_path):
    book = write_book(tmp_path / "book.xlsx", time_text="12:00")
    clock = ManualClock("2026-11-26T12:00:00+09:00")
    fake = FakeRun(clock, codes=(5, 0))  # the API's clock disagrees with ours
    assert run_schedule(tmp_path, clock, book, fake)[0] == 0
    assert fake.calls == [at("12:00"), at("12:10")]


def test_once_beside_a_running_scheduler_does_nothing(tmp_path, book):
    clock = ManualClock("2026-11-26T02:00:00+09:00")
    fake = FakeRun(clock)
    settings = make_ctx(tmp_path, clock).settings
    with RunLock(schedule_lock_path(settings), clock, "schedule"):
        code, out, _, _ = run_schedule(tmp_path, clock, book, fake)
    assert code == 0 and fake.calls == []
    assert out == f"実行するものはありません (スケジューラ pid {os.getpid()}, 2026-11-26 02:00 開始 が動作中です)\n"


# --- the loop (on a manual clock) ---------------------------------------------------------------------
def test_sigterm_lets_the_current_run_finish_then_stops(tmp_path, book):
    clock = ManualClock("2026-11-26T01:00:00+09:00")
    stop = StopFlag()
    fake = FakeRun(clock, effect=lambda n: stop.handle(signal.SIGTERM, None))
    code, _, err, settings = run_schedule(tmp_path, clock, book, fake, once=False, stop=stop)
    assert code == 0
    assert fake.calls == [at("02:00")]
    assert load_state(state_path(settings)).done_on == TODAY  # the run finished and was recorded
    assert "停止の指示 (SIGTERM)" in err and "スケジューラを停止しました" in log_text(tmp_path)
    RunLock(schedule_lock_path(settings), clock).acquire().release()  # the scheduler released its lock


def test_changed_time_in_the_workbook_reschedules(tmp_path, book):
    clock = ManualClock("2026-11-26T01:00:00+09:00")
    stop = StopFlag()

    def effect(n):
        if n == 1:
            write_book(book, time_text="04:00")  # HR moves the run after the first one
        else:
            stop.handle(signal.SIGTERM)
    fake = FakeRun(clock, effect=effect)
    assert run_schedule(tmp_path, clock, book, fake, once=False, stop=stop)[0] == 0
    assert fake.calls == [at("02:00"), at("2026-11-27T04:00")]
    assert "自動連携: 毎日 04:00 (次回 2026-11-27 04:00)" in log_text(tmp_path)


def test_broken_workbook_is_logged_once_and_the_loop_keeps_going(tmp_path):
    book = tmp_path / "book.xlsx"
    book.write_bytes(b"garbage")
    clock = ScriptedClock("2026-11-26T01:00:00+09:00")
    clock.on("05:00", lambda: write_book(book))  # fixed in the morning
    stop = StopFlag()
    fake = FakeRun(clock, effect=lambda n: stop.handle(signal.SIGTERM))
    assert run_schedule(tmp_path, clock, book, fake, once=False, stop=stop)[0] == 0
    assert fake.calls == [at("05:00")]  # the missed 02:00 run, as soon as the workbook was readable
    log = log_text(tmp_path)
    assert log.count("ブックを読めないため自動連携を見合わせています") == 1
    assert "ブックを読めるようになりました" in log


def test_auto_sync_off_schedules_nothing_and_says_so(tmp_path):
    book = write_book(tmp_path / "book.xlsx", auto="しない")
    clock = ScriptedClock("2026-11-26T01:00:00+09:00")
    stop = StopFlag()
    clock.on("2026-11-28T01:00", lambda: stop.handle(signal.SIGTERM))
    fake = FakeRun(clock)
    assert run_schedule(tmp_path, clock, book, fake, once=False, stop=stop)[0] == 0
    assert fake.calls == []
    assert "「自動連携」が「しない」のため、自動連携は予定していません" in log_text(tmp_path)


def test_second_daemon_exits_2_naming_the_first(tmp_path, book, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={}, cwd=tmp_path)
    err = io.StringIO()
    with RunLock(schedule_lock_path(settings), ManualClock("2026-11-26T01:00:00+09:00"), "schedule"):
        code = main(["schedule"], env={"KOT_TOKEN": TOKEN}, stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert f"スケジューラはすでに動作中です (pid {os.getpid()}, 2026-11-26 01:00 開始)" in err.getvalue()


def test_once_through_the_command_line(tmp_path, book, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default workbook: data/mapping.xlsx
    out = io.StringIO()
    code = main(["schedule", "--once"], env={"KOT_TOKEN": TOKEN, "ETL_NOW": "2026-11-26T01:30:00+09:00"},
                stdout=out, stderr=io.StringIO())
    assert (code, out.getvalue()) == (0, "実行するものはありません (次回: 2026-11-26 02:00)\n")


# --- the `schedule` library wiring -------------------------------------------------------------------
def test_timetable_registers_the_daily_job_in_the_schedule_library(tmp_path, book):
    clock = ManualClock("2026-11-26T02:00:00+09:00")
    fake = FakeRun(clock)
    ctx = make_ctx(tmp_path, clock)
    auto = AutoSync(ctx, fake, WorkbookPlans(book), StopFlag())
    table = Timetable(auto)
    table.set_daily(SchedulePlan(auto_sync=True, at=dt.time(2, 0)))
    daily = table.scheduler.get_jobs("daily")
    assert len(daily) == 1 and daily[0].unit == "days"
    assert daily[0].at_time == dt.time.fromisoformat(local_wall_time(clock, dt.time(2, 0)))
    assert len(table.scheduler.get_jobs("check")) == 1
    assert 0 < table.idle_seconds() <= 24 * 3600

    table.set_daily(SchedulePlan(auto_sync=True, at=dt.time(3, 30)))
    assert [j.at_time for j in table.scheduler.get_jobs("daily")] == [
        dt.time.fromisoformat(local_wall_time(clock, dt.time(3, 30)))]
    table.set_daily(SchedulePlan(auto_sync=False))
    assert table.scheduler.get_jobs("daily") == [] and len(table.scheduler.jobs) == 1

    table.set_daily(SchedulePlan(auto_sync=True, at=dt.time(2, 0)))
    table.scheduler.run_all()  # the library fires both jobs: the batch runs once, not twice
    assert fake.calls == [at("02:00")]


def test_local_wall_time_is_jst_converted_to_this_machines_time():
    clock = Clock()
    expected = dt.datetime.combine(clock.today(), dt.time(2, 0), tzinfo=JST).astimezone()
    assert local_wall_time(clock, dt.time(2, 0)) == f"{expected:%H:%M:%S}"


# --- stopping ------------------------------------------------------------------------------------------
def test_stop_flag_second_signal_interrupts_at_once():
    stop = StopFlag()
    stop.handle(signal.SIGINT, None)
    assert stop.requested
    with pytest.raises(KeyboardInterrupt):
        stop.handle(signal.SIGINT, None)


def test_signal_handlers_installed_and_restored_in_the_main_thread_only():
    before = signal.getsignal(signal.SIGTERM)
    stop = StopFlag()
    restore = install_signal_handlers(stop)
    assert signal.getsignal(signal.SIGTERM) == stop.handle
    restore()
    assert signal.getsignal(signal.SIGTERM) == before

    seen = []
    thread = threading.Thread(target=lambda: seen.append(install_signal_handlers(StopFlag())))
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGTERM) == before
    seen[0]()  # the no-op undo


# --- the log ---------------------------------------------------------------------------------------------
def test_log_file_is_owner_only_and_the_token_is_masked(tmp_path, book):
    clock = ManualClock("2026-11-26T02:00:00+09:00")

    def leaky(ctx, opts):
        logging.getLogger("etl.kot.client").info("GET /tokens/%s/available", TOKEN)
        raise RuntimeError(f"unexpected answer for token {TOKEN}")
    root_before = list(logging.getLogger().handlers)
    code, _, err, _ = run_schedule(tmp_path, clock, book, leaky)
    assert code == 2
    log = log_text(tmp_path)
    assert "GET /tokens/***/available" in log and "RuntimeError: unexpected answer for token ***" in log
    assert TOKEN not in log and TOKEN not in err
    assert logging.getLogger().handlers == root_before  # the root logger is put back
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "logs" / "etl.log").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700


def test_rotated_log_files_stay_owner_only(tmp_path):
    old_umask = os.umask(0o022)
    try:
        handler = PrivateRotatingFileHandler(tmp_path / "etl.log", maxBytes=200, backupCount=2, encoding="utf-8")
        for n in range(20):
            handler.emit(logging.LogRecord("etl", logging.INFO, __file__, 1, f"line {n} " + "x" * 40, None, None))
        handler.close()
    finally:
        os.umask(old_umask)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["etl.log", "etl.log.1", "etl.log.2"]
    if os.name == "posix":  # Windows has no such modes: the folder's ACL applies
        assert {stat.S_IMODE((tmp_path / f).stat().st_mode) for f in files} == {0o600}


def test_state_file_is_json_beside_the_reports(tmp_path, book):
    clock = ManualClock("2026-11-26T02:00:00+09:00")
    _, _, _, settings = run_schedule(tmp_path, clock, book, FakeRun(clock))
    data = json.loads(state_path(settings).read_text(encoding="utf-8"))
    assert data == {"done_on": "2026-11-26", "attempt_at": "2026-11-26T02:00:00+09:00", "exit_code": 0,
                    "failures": 0}
    assert state_path(settings).parent == settings.path("reports")


# --- end to end: `schedule --once` runs the real batch against the sandbox ------------------------------
def set_schedule(book, auto: str, time_text: str) -> None:
    wb = openpyxl.load_workbook(book)
    ws = wb["設定"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "自動連携":
            row[1].value = auto
        elif row[0].value == "自動連携時刻":
            row[1].value = time_text
    wb.save(book)


@pytest.mark.slow
def test_schedule_once_runs_the_real_batch_once(tmp_path, sandbox, make_config):
    from conftest import cli_env

    from etl.workbook.template import build_template
    config = make_config(tmp_path, sandbox)
    book = build_template(tmp_path / "mapping.xlsx")
    set_schedule(book, "する", "02:00")
    env = cli_env(sandbox)  # 2026-11-26 12:00 JST: after 02:00, outside the restricted hours
    out = io.StringIO()
    code = main(["--config", str(config), "schedule", "--once"], env=env, stdout=out, stderr=io.StringIO())
    assert code == 0
    report = out.getvalue().splitlines()[-1]
    assert report.startswith("report: ") and report.endswith("-run/report.html")
    result = json.loads((Path(report[len("report: "):]).parent / "result.json").read_text(encoding="utf-8"))
    assert (result["job"], result["status"]) == ("run", "success")
    state = json.loads((tmp_path / "reports" / ".schedule-state.json").read_text(encoding="utf-8"))
    assert state["done_on"] == "2026-11-26" and state["exit_code"] == 0
    RunLock(default_lock_path(load_settings(config, env={})), ManualClock("2026-11-26T12:00:00+09:00")).acquire().release()
    # (the run released its lock)

    out = io.StringIO()  # done for today: a second call does nothing
    assert main(["--config", str(config), "schedule", "--once"], env=env, stdout=out, stderr=io.StringIO()) == 0
    assert out.getvalue() == "実行するものはありません (次回: 2026-11-27 02:00)\n"


def test_schedule_once_while_a_manual_run_holds_the_lock(tmp_path, make_config):
    from conftest import cli_env

    from etl.workbook.template import build_template
    config = make_config(tmp_path)
    set_schedule(build_template(tmp_path / "mapping.xlsx"), "する", "02:00")
    settings = load_settings(config, env={})
    err = io.StringIO()
    with RunLock(default_lock_path(settings), ManualClock("2026-11-26T11:50:00+09:00"), "run"):
        code = main(["--config", str(config), "schedule", "--once"], env=cli_env(), stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert f"別の実行 (pid {os.getpid()}, 2026-11-26 11:50 開始) が進行中です" in err.getvalue()
    state = load_state(tmp_path / "reports" / ".schedule-state.json")
    assert (state.done_on, state.failures) == (None, 1)  # tried again an hour later

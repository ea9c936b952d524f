"""`schedule`: run the batch daily at 自動連携時刻, or once when due (`--once`, for cron).

Pure core: ``next_due(now, plan, state)`` / ``is_due`` decide from the workbook's 自動連携 and
自動連携時刻 and the small state file (the day whose run succeeded, the last failed attempt).
Thin shell: ``AutoSync`` re-reads the workbook, waits out restricted hours and runs the batch;
the `schedule` library's Scheduler fires it daily and every few minutes checks for a missed or
failed run; ``serve`` is the loop, which stops cleanly on SIGINT/SIGTERM.

The `schedule` library only knows real time (``datetime.now()``), so the daily job is registered
at the system-local wall time the clock's 自動連携時刻 falls on; on a manual clock (tests) the
loop ticks on that clock instead of the library.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schedule

from etl.app.context import Context
from etl.app.options import RunOptions, ScheduleOptions
from etl.app.runner import status_label
from etl.clock import JST, Clock, parse_iso
from etl.config import Settings
from etl.errors import ExitCode, LockHeldError, StopRun
from etl.fileio import write_text
from etl.lock import RunLock, describe_holder, workspace_dir
from etl.logsetup import setup_logging

log = logging.getLogger(__name__)

RETRY_AFTER = dt.timedelta(hours=1)  # a failed run is tried again this much later …
MAX_FAILURES = 3  # … at most this many times a day
CHECK_MINUTES = 10  # how often the loop looks for a missed or failed run and a changed workbook
MAX_IDLE_S = 60.0  # the loop wakes at least this often
RESTRICTED_RETRY = dt.timedelta(minutes=10)  # exit 5 while our clock sees no window (clock skew)
MAX_RESTRICTED_RETRIES = 6
STATE_NAME = ".schedule-state.json"
LOCK_NAME = ".kintai-etl-schedule.lock"
OK_CODES = (ExitCode.SUCCESS, ExitCode.PARTIAL)
RunBatch = Callable[[Context, RunOptions], int]


# --- pure core ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchedulePlan:
    """What the workbook says: 自動連携 (on/off) and 自動連携時刻 (JST)."""

    auto_sync: bool = False
    at: dt.time = dt.time(2, 0)
    warnings: tuple[str, ...] = ()  # read problems on those two cells

    def describe(self, upcoming: dt.datetime | None) -> str:
        if not self.auto_sync:
            return "ブックの「自動連携」が「しない」のため、自動連携は予定していません"
        return f"自動連携: 毎日 {self.at:%H:%M} (次回 {_fmt(upcoming)})"


@dataclass(frozen=True)
class ScheduleState:
    done_on: dt.date | None = None  # the day whose scheduled run succeeded (exit 0 or 1)
    attempt_at: dt.datetime | None = None  # start of the last attempt, whatever its outcome
    exit_code: int | None = None
    failures: int = 0  # failed attempts on attempt_at's day

    def after(self, started: dt.datetime, code: int) -> ScheduleState:
        """The state once a run that started at ``started`` ended with ``code``."""
        ok = code in OK_CODES
        same_day = self.attempt_at is not None and _day(self.attempt_at) == _day(started)
        failures = 0 if ok else (self.failures + 1 if same_day else 1)
        return ScheduleState(done_on=_day(started) if ok else self.done_on, attempt_at=started,
                             exit_code=int(code), failures=failures)


def next_due(now: dt.datetime, plan: SchedulePlan, state: ScheduleState) -> dt.datetime | None:
    """When the scheduled run is due next (``<= now`` means now); None when 自動連携 is off."""
    if not plan.auto_sync:
        return None
    today = _day(now)
    slot = dt.datetime.combine(today, plan.at, tzinfo=JST)
    tomorrow = slot + dt.timedelta(days=1)
    if state.done_on == today:
        return tomorrow
    attempt = state.attempt_at
    failed_today = state.failures > 0 and attempt is not None and _day(attempt) == today
    if failed_today and state.failures >= MAX_FAILURES:
        return tomorrow
    if now < slot:
        return slot
    if failed_today and attempt is not None:
        retry = attempt + RETRY_AFTER
        return tomorrow if _day(retry) != today else max(slot, retry)
    return slot


def is_due(now: dt.datetime, plan: SchedulePlan, state: ScheduleState) -> bool:
    due = next_due(now, plan, state)
    return due is not None and due <= now


def nothing_to_do(plan: SchedulePlan | None, upcoming: dt.datetime | None) -> str:
    if plan is not None and not plan.auto_sync:
        return "実行するものはありません (ブックの「自動連携」が「しない」です)"
    return f"実行するものはありません (次回: {_fmt(upcoming)})"


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(JST).date()


def _fmt(moment: dt.datetime | None) -> str:
    return f"{moment.astimezone(JST):%Y-%m-%d %H:%M}" if moment else "未定"


def _label(code: int) -> str:
    return status_label(code) if code in OK_CODES else f"{status_label(code)}, 終了コード {code}"


# --- state file ---------------------------------------------------------------------------------
def state_path(settings: Settings) -> Path:
    return settings.path("reports") / STATE_NAME


def schedule_lock_path(settings: Settings) -> Path:
    """One scheduler at a time per workspace, beside the run lock (--reports-dir does not move it;
    a second daemon exits 2; a --once beside a daemon does nothing)."""
    return workspace_dir(settings) / LOCK_NAME


def load_state(path: Path) -> ScheduleState:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ScheduleState(
            done_on=dt.date.fromisoformat(data["done_on"]) if data.get("done_on") else None,
            attempt_at=parse_iso(data["attempt_at"]) if data.get("attempt_at") else None,
            exit_code=data.get("exit_code"), failures=int(data.get("failures") or 0))
    except FileNotFoundError:
        return ScheduleState()
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        log.warning("スケジュールの状態ファイル %s を読めないため、未実行として扱います (%s)", path, e)
        return ScheduleState()


def save_state(path: Path, state: ScheduleState) -> None:
    data = {"done_on": state.done_on.isoformat() if state.done_on else None,
            "attempt_at": state.attempt_at.isoformat(timespec="seconds") if state.attempt_at else None,
            "exit_code": state.exit_code, "failures": state.failures}
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --- stopping and waiting -------------------------------------------------------------------------
class StopFlag:
    """Set by SIGINT/SIGTERM: the current run finishes, then the loop ends (exit 0)."""

    def __init__(self) -> None:
        self.requested = False

    def handle(self, signum: int = signal.SIGTERM, frame: Any = None) -> None:
        if self.requested:  # a second signal: stop now
            raise KeyboardInterrupt
        self.requested = True
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        log.info("停止の指示 (%s) を受け付けました。実行中の処理が終わりしだい終了します", name)


def install_signal_handlers(stop: StopFlag) -> Callable[[], None]:
    """Route SIGINT/SIGTERM (and SIGBREAK on Windows) to ``stop``; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    saved = {}
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is not None:
            saved[sig] = signal.signal(sig, stop.handle)

    def restore() -> None:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return restore


def nap(clock: Clock, stop: StopFlag, seconds: float) -> None:
    """Sleep on ``clock``; in real time in short steps so a stop request ends the wait."""
    if seconds <= 0:
        return
    if type(clock).sleep is not Clock.sleep:  # a test clock: its sleep moves time
        clock.sleep(seconds)
        return
    end = clock.now() + dt.timedelta(seconds=seconds)
    while not stop.requested and (left := (end - clock.now()).total_seconds()) > 0:
        clock.sleep(min(1.0, left))


# --- the workbook -----------------------------------------------------------------------------------
def read_plan(path: Path) -> SchedulePlan:
    """自動連携 / 自動連携時刻 from the workbook (raises a StopRun when it is broken)."""
    from etl.workbook.model import SHEET_SETTINGS
    from etl.workbook.read import read_workbook
    book = read_workbook(path)
    ws = book.settings
    cells = {ws.cells.get("auto_sync"), ws.cells.get("auto_sync_time")} - {None, ""}
    warnings = tuple(p.line() for p in book.read_problems
                     if getattr(p, "sheet", "") == SHEET_SETTINGS and getattr(p, "cell", "") in cells)
    return SchedulePlan(auto_sync=bool(ws.auto_sync), at=ws.auto_sync_time, warnings=warnings)


class WorkbookPlans:
    """The plan, re-read when the workbook changes, when asked (before a run) or after a failure."""

    def __init__(self, path: Path, reader: Callable[[Path], SchedulePlan] = read_plan):
        self.path = Path(path)
        self.reader = reader
        self.error: str | None = None
        self.error_code = ExitCode.INVALID_INPUT
        self._plan: SchedulePlan | None = None
        self._stamp: tuple[int, int] | None = None

    def read(self, fresh: bool = False) -> SchedulePlan | None:
        stamp = self._file_stamp()
        if not fresh and self._plan is not None and stamp == self._stamp:
            return self._plan
        try:
            plan = self.reader(self.path)
        except Exception as e:  # a broken workbook must not stop the scheduler
            text = str(e) if isinstance(e, StopRun) else f"{self.path}: {type(e).__name__}: {e}"
            if text != self.error:
                log.error("ブックを読めないため自動連携を見合わせています: %s", text)
            self.error, self._plan, self._stamp = text, None, None
            self.error_code = e.exit_code if isinstance(e, StopRun) else ExitCode.INVALID_INPUT
            return None
        if self.error:
            log.info("ブックを読めるようになりました: %s", self.path)
        self.error, self._plan, self._stamp = None, plan, stamp
        return plan

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)


# --- the runner -----------------------------------------------------------------------------------
class AutoSync:
    """Runs the batch when it is due: re-reads the workbook, waits out restricted hours."""

    def __init__(self, ctx: Context, run_batch: RunBatch, plans: WorkbookPlans, stop: StopFlag,
                 on_plan: Callable[[SchedulePlan], None] = lambda plan: None):
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock: Clock = self.settings.clock
        self.run_batch = run_batch
        self.plans = plans
        self.stop = stop
        self.on_plan = on_plan
        self.state_file = state_path(self.settings)
        self.plan: SchedulePlan | None = None
        self.options = RunOptions(workbook=str(plans.path))  # a plain `run`: no --month, no dry run, no --wait

    def state(self) -> ScheduleState:
        return load_state(self.state_file)

    def check(self) -> None:
        """The periodic check: notice a changed workbook, run a missed or failed run."""
        plan = self.plans.read()
        if plan is not None:
            self.note(plan)
            if is_due(self.clock.now(), plan, self.state()):
                self.run_if_due()

    def run_if_due(self, plan: SchedulePlan | None = None) -> int | None:
        """Run when due (reading the workbook afresh unless given); None when nothing ran."""
        plan = plan or self.plans.read(fresh=True)
        if plan is None or self.stop.requested:
            return None
        self.note(plan)
        if not is_due(self.clock.now(), plan, self.state()):
            return None
        log.info("自動連携を開始します (予定 %s)", f"{plan.at:%H:%M}")
        started = self.clock.now()
        code = self._run_outside_windows()
        if code is None:
            log.info("停止の指示により、自動連携を実行せずに終了します")
            return None
        state = self.state().after(started, code)
        save_state(self.state_file, state)
        log.log(logging.INFO if code in OK_CODES else logging.ERROR,
                "自動連携が終了しました (%s)。次回: %s", _label(code), _fmt(next_due(self.clock.now(), plan, state)))
        return code

    def note(self, plan: SchedulePlan) -> None:
        if plan == self.plan:
            return
        self.plan = plan
        for line in plan.warnings:
            log.warning("%s", line)
        log.info("%s", plan.describe(next_due(self.clock.now(), plan, self.state())))
        self.on_plan(plan)

    def _run_outside_windows(self) -> int | None:
        hours = self.settings.restricted_hours
        code: int | None = None
        for _ in range(MAX_RESTRICTED_RETRIES + 1):
            now = self.clock.now()
            reopens = hours.reopens_at(now)
            if reopens is not None:
                log.info("勤怠APIの利用制限時間帯のため、%s まで待ってから実行します", _fmt(reopens))
                nap(self.clock, self.stop, (reopens - now).total_seconds())
            if self.stop.requested:
                return code  # None: stopped before anything ran
            code = self._call_batch()
            if code != ExitCode.RESTRICTED_HOURS or self.stop.requested:
                return code
            if not hours.is_restricted(self.clock.now()):  # the API's clock and ours disagree
                nap(self.clock, self.stop, RESTRICTED_RETRY.total_seconds())
            log.info("利用制限時間帯にかかったため、制限の終了後に実行し直します")
        return code

    def _call_batch(self) -> int:
        try:
            self.ctx.forget_books()  # HR may have edited the workbook since the last run
            return int(self.run_batch(self.ctx, self.options))
        except StopRun as e:
            log.error("%s", e)
            return int(e.exit_code)
        except Exception:
            log.exception("自動連携の実行中に内部エラーが発生しました")
            return int(ExitCode.USAGE)


def default_run_batch(ctx: Context, opts: RunOptions) -> int:
    from etl.app.batch import run_command
    return run_command(ctx, opts)


# --- the loop -------------------------------------------------------------------------------------
def local_wall_time(clock: Clock, at: dt.time) -> str:
    """'HH:MM:SS' of this machine's local time at the moment the clock reads ``at`` (JST) today;
    the `schedule` library counts in local time."""
    now = clock.now()
    delta = dt.datetime.combine(_day(now), at, tzinfo=JST) - now
    return f"{dt.datetime.now() + delta:%H:%M:%S}"


class Timetable:
    """The `schedule` library's Scheduler: the daily run at 自動連携時刻 and the periodic check."""

    def __init__(self, auto: AutoSync, scheduler: schedule.Scheduler | None = None):
        self.auto = auto
        self.scheduler = scheduler or schedule.Scheduler()
        self.scheduler.every(CHECK_MINUTES).minutes.do(self._check).tag("check")

    def set_daily(self, plan: SchedulePlan) -> None:
        self.scheduler.clear("daily")
        if plan.auto_sync:
            self.scheduler.every().day.at(local_wall_time(self.auto.clock, plan.at)).do(self._daily).tag("daily")

    def run_pending(self) -> None:
        self.scheduler.run_pending()

    def idle_seconds(self) -> float | None:
        return self.scheduler.idle_seconds

    def _daily(self) -> None:
        self.auto.run_if_due()

    def _check(self) -> None:
        self.auto.check()


def serve(clock: Clock, stop: StopFlag, run_pending: Callable[[], None],
          idle_seconds: Callable[[], float | None], max_idle: float = MAX_IDLE_S) -> None:
    """Until stopped: run what is pending, then sleep until the next job (at most ``max_idle``)."""
    while not stop.requested:
        run_pending()
        if stop.requested:
            break
        idle = idle_seconds()
        nap(clock, stop, max_idle if idle is None else min(max(idle, 1.0), max_idle))


# --- the command ----------------------------------------------------------------------------------
def schedule_command(ctx: Context, opts: ScheduleOptions, run_batch: RunBatch | None = None,
                     stop: StopFlag | None = None) -> int:
    settings = ctx.settings
    once = opts.once
    stop = stop or StopFlag()
    plans = WorkbookPlans(ctx.workbook_path(opts.workbook))
    auto = AutoSync(ctx, run_batch or default_run_batch, plans, stop)
    with setup_logging(settings, stream=ctx.stderr, verbose=ctx.verbose,
                       stderr_level=logging.WARNING if once else logging.INFO):
        lock = RunLock(schedule_lock_path(settings), settings.clock, "schedule --once" if once else "schedule")
        try:
            lock.acquire()
        except LockHeldError as e:
            holder = describe_holder(getattr(e, "holder", {}))
            if once:
                ctx.out(f"実行するものはありません (スケジューラ {holder} が動作中です)")
                return ExitCode.SUCCESS
            raise LockHeldError(f"スケジューラはすでに動作中です ({holder})。二重に起動しないでください") from None
        restore = install_signal_handlers(stop)
        try:
            return _once(ctx, auto) if once else _daemon(auto)
        finally:
            restore()
            lock.release()


def _once(ctx: Context, auto: AutoSync) -> int:
    plan = auto.plans.read(fresh=True)
    if plan is None:  # the one-line error is already logged (file and stderr)
        return auto.plans.error_code
    auto.note(plan)
    now, state = auto.clock.now(), auto.state()
    if not is_due(now, plan, state):
        text = nothing_to_do(plan, next_due(now, plan, state))
        log.info("%s", text)
        ctx.out(text)
        return ExitCode.SUCCESS
    code = auto.run_if_due(plan)
    return ExitCode.SUCCESS if code is None else code


def _daemon(auto: AutoSync) -> int:
    log.info("スケジューラを開始しました (ブック %s)。停止は Ctrl+C または SIGTERM", auto.plans.path)
    if type(auto.clock).sleep is Clock.sleep:  # real time: the `schedule` library drives the loop
        table = Timetable(auto)
        auto.on_plan = table.set_daily
        auto.check()  # registers the daily job; runs a run missed today (e.g. the server was down)
        serve(auto.clock, auto.stop, table.run_pending, table.idle_seconds)
    else:  # a manual clock: check on that clock every few minutes
        serve(auto.clock, auto.stop, auto.check, lambda: CHECK_MINUTES * 60.0, max_idle=CHECK_MINUTES * 60.0)
    log.info("スケジューラを停止しました")
    return ExitCode.SUCCESS

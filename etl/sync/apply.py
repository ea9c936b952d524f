"""Plan → API calls → one RowResult per action (bounded concurrency, resumable).

Writes go through a ThreadPoolExecutor of ``concurrency`` workers over the shared client (whose
rate limiter paces them). After each success the link (code, key, fingerprint) is queued and
saved in batches, and whatever is queued is saved on the way out too (``finally``), so a rerun
after any interruption plans only what is left and never creates twice.

Restricted hours mid-run: nothing more is submitted, the requests in flight finish, and the
rest is reported as not done (result "planned") with the RestrictedHoursError handed back for
exit 5 — or, with ``wait``, the run sleeps (through the clock) until the window ends and goes on.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any, TextIO

from etl.clock import Clock
from etl.errors import ApiAnswerError, ApiError, RestrictedHoursError, Retryable, RowFailed, StopRun
from etl.kot.waiting import reopens, sleep_until
from etl.records import Link, RowResult
from etl.sync.plan import Action, Plan

log = logging.getLogger(__name__)

LINK_BATCH = 500
NOT_DONE = {
    "restricted": "未実行: 利用制限時間帯のため中断しました。制限時間帯の後に再実行すると続きから処理します",
    "stopped": "未実行: 勤怠APIとの処理を続けられないため中断しました。原因を取り除いて再実行すると続きから処理します",
    "ledger": "未実行: 従業員台帳に連携情報を保存できないため中断しました。原因を取り除いて再実行すると続きから処理します",
    "interrupted": "未実行: 中断 (Ctrl+C) したため送信していません。再実行すると続きから処理します",
}
# a write whose answer could not be used (wrong shape): it may have been applied, so it is not 未実行
UNCONFIRMED = "失敗: 勤怠APIの応答を確認できませんでした (反映された可能性があります。再実行すると従業員番号で確認します)"


@dataclass
class ApplyOutcome:
    rows: list[RowResult]  # one per plan action, in plan order
    stopped: StopRun | None = None  # restricted hours (exit 5) or the API refused us (exit 4)
    links_saved: int = 0
    waited_s: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)
    # the ledger refused the links (locked, gone): what the API confirmed is still in ``rows``; the
    # caller raises this after reporting them (a rerun finds the sent ones by their code)
    ledger_error: Exception | None = None
    interrupted: bool = False  # Ctrl+C: the writes in flight were let finish and are in ``rows``


def planned_rows(plan: Plan) -> list[RowResult]:
    """The dry-run report: every action with its field diff, nothing sent."""
    return [_row(a, "planned" if a.writes else _static_result(a), a.reason) for a in plan.actions]


def apply_plan(plan: Plan, client: Any, ledger: Any, *, clock: Clock, concurrency: int = 4,
               wait: bool = False, progress: TextIO | None = None,
               link_batch: int = LINK_BATCH) -> ApplyOutcome:
    runner = _Runner(plan, client, ledger, clock, max(1, concurrency), wait, link_batch)
    try:
        runner.save_adopted()
        runner.run(progress)
    except KeyboardInterrupt:  # reported by the caller with what was done (status 中断)
        runner.interrupted = True
    finally:
        runner.flush()
    rows = [runner.rows.get(i) or _row(a, "planned", runner.not_done_message())
            for i, a in enumerate(plan.actions)]
    return ApplyOutcome(rows=rows, stopped=runner.stopped, links_saved=runner.links_saved,
                        waited_s=runner.waited_s, ledger_error=runner.ledger_error,
                        interrupted=runner.interrupted)


def _static_result(action: Action) -> str:
    return "failed" if action.kind == "error" else "ok"


def _row(action: Action, result: str, message: str) -> RowResult:
    date = action.effective_date.isoformat() if action.effective_date else ""
    return RowResult(employee_code=action.code, action=action.kind, result=result,
                     changes=action.diff(), message=message, effective_date=date,
                     name=action.name)


def _execute(client: Any, action: Action) -> str:
    """Send one action; returns the employee key."""
    if action.kind == "create":
        answer = client.create_employee(action.body)
        return str((answer or {}).get("key") or "")
    client.update_employee(action.key, action.body, effective_date=action.effective_date)
    return action.key


class _Runner:
    def __init__(self, plan: Plan, client, ledger, clock: Clock, concurrency: int, wait: bool,
                 link_batch: int):
        self.plan, self.client, self.ledger, self.clock = plan, client, ledger, clock
        self.concurrency, self.wait, self.link_batch = concurrency, wait, link_batch
        self.rows: dict[int, RowResult] = {}
        self.links: list[Link] = []
        self.links_saved = 0
        self.stopped: StopRun | None = None
        self.ledger_error: Exception | None = None
        self.interrupted = False
        self.sent: dict[int, str] = {}  # action → key, written by the worker that sent it (see _send)
        self.waited_s = 0.0
        for i, a in enumerate(plan.actions):
            if not a.writes:
                self.rows[i] = _row(a, _static_result(a), a.reason)

    def now_iso(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    def not_done_message(self) -> str:
        if self.interrupted:
            return NOT_DONE["interrupted"]
        if self.stopped is None and self.ledger_error is not None:
            return NOT_DONE["ledger"]
        return NOT_DONE["restricted" if isinstance(self.stopped, RestrictedHoursError) else "stopped"]

    # --- links -----------------------------------------------------------------------------
    def save_adopted(self) -> None:
        """Employees already on the attendance side (or unchanged but relinked): no write needed."""
        stamp = self.now_iso()
        for a in self.plan.links_only():
            self.links.append(Link(a.code, a.key, a.fingerprint, stamp))
            if len(self.links) >= self.link_batch:
                self.flush()

    def flush(self) -> None:
        if self.links and self.ledger_error is None:
            batch, self.links = self.links, []
            try:
                self.ledger.save_links(batch)
            except Exception as e:  # noqa: BLE001 - the database's own error, raised by the caller
                self.ledger_error = e  # nothing more is sent; the rows sent so far stay reported
                return
            self.links_saved += len(batch)

    # --- writes ----------------------------------------------------------------------------
    def run(self, progress: TextIO | None) -> None:
        todo = deque(i for i, a in enumerate(self.plan.actions) if a.writes)
        if not todo:
            return
        bar = _progress_bar(len(todo), progress)
        in_flight: dict[Future, int] = {}
        pause_until: dt.datetime | None = None
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sync")
        try:
            while todo or in_flight:
                while todo and pause_until is None and self.stopped is None and self.ledger_error is None \
                        and len(in_flight) < self.concurrency * 2:
                    i = todo.popleft()
                    in_flight[pool.submit(self._send, i)] = i
                if not in_flight:
                    if pause_until is not None:
                        self._sleep_until(pause_until)
                        pause_until = None
                        continue
                    break  # stopped: what is left in ``todo`` stays not done
                done, _ = wait_for(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    i = in_flight[future]
                    requeue = self._finish(i, future)
                    del in_flight[future]  # after it is recorded: a Ctrl+C in between records it in ``finally``
                    if requeue is not None:
                        todo.appendleft(i)
                        pause_until = max(pause_until or requeue, requeue)
                    elif bar is not None:
                        bar.update(1)
                if len(self.links) >= self.link_batch:
                    self.flush()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            # interrupted (Ctrl+C): the writes already running were let finish; record them (a
            # queued one was cancelled, never sent: it stays 未実行)
            for future, i in in_flight.items():
                if future.done() and not future.cancelled():
                    self._finish(i, future)
            for i, key in list(self.sent.items()):  # sent, but its future was lost to the Ctrl+C
                if i not in self.rows:
                    self._confirmed(i, key)
            if bar is not None:
                bar.close()

    def _finish(self, i: int, future: Future) -> dt.datetime | None:
        """Record one finished action; returns when to retry it (restricted hours with --wait)."""
        action = self.plan.actions[i]
        try:
            key = future.result()
        except RestrictedHoursError as e:
            if self.wait:
                return reopens(e, self.clock)
            self.stopped = self.stopped or e
            return None  # not done: reported as planned
        except ApiAnswerError as e:  # sent, answered with nonsense: stop, and do not call it 未実行
            self.stopped = self.stopped or e
            self.rows[i] = _row(action, "failed", f"{UNCONFIRMED}: {e}")
            return None
        except ApiError as e:
            self.stopped = self.stopped or e
            return None
        except (RowFailed, Retryable) as e:
            self.rows[i] = _row(action, "failed", str(e))
            return None
        if not key:
            self.rows[i] = _row(action, "failed", "勤怠APIの応答に従業員識別キーがありません")
            return None
        self._confirmed(i, key)
        return None

    def _send(self, i: int) -> str:
        """In a worker thread (a Ctrl+C never lands here): send, and note what the API confirmed
        before the main thread hears of it."""
        key = _execute(self.client, self.plan.actions[i])
        if key:
            self.sent[i] = key
        return key

    def _confirmed(self, i: int, key: str) -> None:
        action = self.plan.actions[i]
        self.rows[i] = _row(action, "ok", action.reason)
        self.links.append(Link(action.code, key, action.fingerprint, self.now_iso()))

    def _sleep_until(self, moment: dt.datetime) -> None:
        self.flush()  # the wait may be long: keep what is done safe
        self.waited_s += sleep_until(self.clock, moment)


def _progress_bar(total: int, stream: TextIO | None):
    """A tqdm bar on ``stream`` (stderr) when it is a terminal; None (quiet) otherwise."""
    if stream is None or not getattr(stream, "isatty", lambda: False)():
        return None
    from tqdm import tqdm
    return tqdm(total=total, file=stream, unit="件", desc="従業員を送信", leave=False, dynamic_ncols=True)

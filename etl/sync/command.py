"""`sync-employees` (ledger → attendance) and `pull-employees` (attendance → ledger).

sync: read the workbook → the attendance masters → the ledger → validate (errors: exit 3, the
report lists them) → one GET /employees (includeResigner, the needed additionalFields) → plan →
``--dry-run`` stops here → apply → report. Exit 0 / 1 (some rows failed) / 3 / 4 / 5.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from contextlib import closing
from typing import Any, TypeVar

from etl.errors import ERROR, InputError, RestrictedHoursError, RowFailed
from etl.jobs import client_for, exit_for_rows, ledger_for, run_job, workbook_path
from etl.report.result import RunResult
from etl.sync.apply import apply_plan, planned_rows
from etl.sync.fields import ADDITIONAL_FIELDS, FieldRules, additional_fields
from etl.sync.plan import Plan, SyncOptions, plan_sync
from etl.sync.pull import apply_pull, plan_pull, pull_rows
from etl.sync.selection import selection_from_args

log = logging.getLogger(__name__)
T = TypeVar("T")


def call_waiting(settings: Any, wait: bool, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(...)``; in restricted hours either stop (exit 5) or, with ``wait``, sleep until the
    window ends (through the settings' clock) and call again."""
    while True:
        try:
            return fn(*args, **kwargs)
        except RestrictedHoursError as e:
            if not wait:
                raise
            clock = settings.clock
            reopen = e.reopens_at or clock.now() + dt.timedelta(minutes=1)
            log.warning("勤怠APIの利用制限時間帯です。%s まで待機します", f"{reopen:%H:%M}")
            clock.sleep(max(1.0, (reopen - clock.now()).total_seconds()))


def _arg(ctx: Any, name: str, default: Any = None) -> Any:
    return getattr(ctx.args, name, default)


def sync_command(ctx: Any) -> int:
    settings = ctx.settings
    path = workbook_path(settings, _arg(ctx, "workbook"))
    dry_run = bool(_arg(ctx, "dry_run", False))

    def body(result: RunResult) -> None:
        sync_employees(ctx, result)

    with writer_lock(settings, "sync-employees", dry_run):
        return run_job(ctx, "sync-employees", body, dry_run=dry_run, annotate_from=path)


def sync_employees(ctx: Any, result: RunResult) -> Plan:
    """The body of sync-employees (also used by the `run` batch): fills ``result``."""
    from etl.workbook.read import read_workbook
    from etl.workbook.validate import validate_book

    settings = ctx.settings
    wait = bool(_arg(ctx, "wait", False))
    dry_run = bool(_arg(ctx, "dry_run", False))
    path = workbook_path(settings, _arg(ctx, "workbook"))
    result.meta["workbook"] = str(path)
    today = settings.clock.today()

    book = read_workbook(path)
    selection = selection_from_args(_arg(ctx, "employees"), _arg(ctx, "employees_file"))
    with closing(client_for(settings)) as client:  # its keep-alive connections end with the job
        result.meta["base_url"] = client.base_url
        masters = call_waiting(settings, wait, client.masters)
        ledger = ledger_for(settings)
        employees = ledger.employees()
        problems = validate_book(book, masters, employees, today)
        errors = [p for p in problems if p.severity == ERROR]
        if errors:
            raise InputError(f"ブック {path.name} に {len(errors)} 件のエラーがあるため同期しません。最初のエラー: "
                             f"{errors[0].line()} (セルに印を付けたコピーをレポートフォルダーに出力しました)", problems)
        result.problems.extend(problems)

        rules = FieldRules.from_book(book)
        remote = call_waiting(settings, wait, client.employees, include_resigned=True,
                              fields=additional_fields(rules))
        options = SyncOptions(mode=_arg(ctx, "mode", "all") or "all", effective_date=_arg(ctx, "effective_date"),
                              full=bool(_arg(ctx, "full", False)), selection=selection)
        links = ledger.links()
        plan = plan_sync(employees, book, masters, remote, links, options, today)
        future = sorted({a.effective_date for a in plan.actions if a.effective_date and a.effective_date > today})
        if future:  # compare dated changes with the attendance side as of their date: never send one twice
            views = {}
            for day in future:
                try:
                    views[day] = call_waiting(settings, wait, client.employees, as_of=day, include_resigned=True,
                                              fields=additional_fields(rules))
                except RowFailed as e:  # e.g. more than a year ahead: compare with today's view
                    log.info("GET /employees?date=%s failed: %s", day, e)
            plan = plan_sync(employees, book, masters, remote, links, options, today, remote_as_of=views)
        result.sections["queue"] = plan.queue
        result.meta["plan"] = plan.counts()

        if dry_run:
            result.rows = planned_rows(plan)
            result.exit_code = exit_for_rows(result)
            return plan
        progress = ctx.stderr if getattr(ctx.stderr, "isatty", lambda: False)() else None
        outcome = apply_plan(plan, client, ledger, clock=settings.clock,
                             concurrency=settings.attendance_api.concurrency, wait=wait, progress=progress)
        result.rows = outcome.rows
        result.meta["api"] = client.stats.as_dict()
        result.meta["links_saved"] = outcome.links_saved
        if outcome.waited_s:
            result.meta["waited_s"] = round(outcome.waited_s)
        if outcome.stopped is not None:
            raise outcome.stopped
        result.exit_code = exit_for_rows(result)
        return plan


def pull_command(ctx: Any) -> int:
    settings = ctx.settings
    path = workbook_path(settings, _arg(ctx, "workbook"))
    dry_run = bool(_arg(ctx, "dry_run", False))

    def body(result: RunResult) -> None:
        pull_employees(ctx, result)

    with writer_lock(settings, "pull-employees", dry_run):
        return run_job(ctx, "pull-employees", body, dry_run=dry_run, annotate_from=path)


def writer_lock(settings: Any, command: str, dry_run: bool):
    """The run lock for a job that writes (the nightly `run` holds the same one): two writers at
    once would plan and send the same changes twice. A dry run writes nothing and needs none."""
    from contextlib import nullcontext

    from etl.lock import RunLock, default_lock_path
    return nullcontext() if dry_run else RunLock(default_lock_path(settings), settings.clock, command=command)


def pull_employees(ctx: Any, result: RunResult) -> None:
    """The body of pull-employees: fills ``result``."""
    from etl.workbook.read import read_workbook

    settings = ctx.settings
    wait = bool(_arg(ctx, "wait", False))
    dry_run = bool(_arg(ctx, "dry_run", False))
    limit = int(_arg(ctx, "limit", 1000) or 1000)
    path = workbook_path(settings, _arg(ctx, "workbook"))
    result.meta["workbook"] = str(path)

    book = read_workbook(path)
    with closing(client_for(settings)) as client:  # its keep-alive connections end with the job
        result.meta["base_url"] = client.base_url
        masters = call_waiting(settings, wait, client.masters)
        remote = call_waiting(settings, wait, client.employees, include_resigned=True, fields=ADDITIONAL_FIELDS)
        ledger = ledger_for(settings)
        plan = plan_pull(remote, ledger.employees(), book, masters, ledger.links(), ledger.departments(),
                         ledger.employee_classes(), update_existing=bool(_arg(ctx, "update_existing", False)))
        result.problems.extend(plan.problems)
        if not dry_run:
            inserted, updated, chunks = apply_pull(plan, ledger, limit=limit,
                                                   now=settings.clock.now().isoformat(timespec="seconds"))
            result.meta.update(inserted=inserted, updated=updated, chunks=chunks, limit=limit)
        result.rows = pull_rows(plan, "planned" if dry_run else "ok")
        result.exit_code = exit_for_rows(result)

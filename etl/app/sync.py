"""`sync-employees` (ledger → attendance) and `pull-employees` (attendance → ledger).

sync: the workbook → the attendance masters → the ledger → validate (errors: exit 3, the report
lists them) → one GET /employees (includeResigner, the needed additionalFields) → plan (with the
ledger's pending dated changes, compared as of each future 異動日) → ``--dry-run`` stops here →
store the pending dated changes → apply → report. Exit 0 / 1 (some rows failed) / 2 (an
--effective-date the API cannot take, before anything) / 3 / 4 / 5.
"""
from __future__ import annotations

import logging

from etl.app.context import Context
from etl.app.options import PullOptions, SyncCommandOptions
from etl.app.runner import exit_for_rows, mail_rule, run_job, writer_lock
from etl.clock import date_refusal
from etl.errors import ERROR, InputError, RowFailed, UsageError
from etl.kot.waiting import call_waiting
from etl.report.labels import names_section
from etl.report.result import RunResult
from etl.sync import code_change
from etl.sync.apply import apply_plan, planned_rows
from etl.sync.fields import ADDITIONAL_FIELDS, FieldRules, additional_fields
from etl.sync.plan import Plan, SyncOptions, plan_sync_dated
from etl.sync.pull import apply_pull, plan_pull, pull_rows
from etl.sync.reconcile import synced_values
from etl.sync.selection import selection_from_args
from etl.workbook.validate import validate_book

log = logging.getLogger(__name__)


def sync_command(ctx: Context, opts: SyncCommandOptions) -> int:
    path = ctx.workbook_path(opts.workbook)
    if opts.effective_date is not None:  # before any request: the API takes at most a year ahead
        refusal = date_refusal(opts.effective_date, ctx.settings.clock.today(), "--effective-date の異動日")
        if refusal:
            raise UsageError(refusal)

    def body(result: RunResult) -> None:
        sync_employees(ctx, result, opts)

    with writer_lock(ctx, "sync-employees", opts.dry_run):
        return run_job(ctx, "sync-employees", body, dry_run=opts.dry_run, annotate_from=path,
                       notify=mail_rule(ctx, path, asked=opts.mail))


def sync_employees(ctx: Context, result: RunResult, opts: SyncCommandOptions) -> Plan:
    """The body of sync-employees (also a step of the `run` batch): fills ``result``."""
    settings = ctx.settings
    clock, wait = settings.clock, opts.wait
    path = ctx.workbook_path(opts.workbook)
    result.meta["workbook"] = str(path)
    today = clock.today()

    book = ctx.book(path)
    selection = selection_from_args(opts.employees, opts.employees_file)
    client = ctx.client()
    result.meta["base_url"] = client.base_url
    masters = call_waiting(clock, wait, client.masters)
    result.sections["names"] = names_section(masters.divisions, masters.working_types)
    ledger = ctx.ledger()
    employees = ledger.employees()
    problems = validate_book(book, masters, employees, today)
    errors = [p for p in problems if p.severity == ERROR]
    if errors:
        raise InputError(f"ブック {path.name} に {len(errors)} 件のエラーがあるため同期しません。最初のエラー: "
                         f"{errors[0].line()} (セルに印を付けたコピーをレポートフォルダーに出力しました)", problems)
    result.problems.extend(problems)

    rules = FieldRules.from_book(book)
    remote = call_waiting(clock, wait, client.employees, include_resigned=True, fields=additional_fields(rules))
    links = ledger.links()  # as before this run (the values kept after it depend on them)
    result.problems.extend(code_change.detect(employees, book, remote, links, today).problems)  # 旧従業員番号, probable ones
    options = SyncOptions(mode=opts.mode or "all", effective_date=opts.effective_date, full=opts.full,
                          selection=selection)
    def as_of(day):  # compare dated changes with the attendance side as of their date: never send one twice
        try:
            return call_waiting(clock, wait, client.employees, as_of=day, include_resigned=True,
                                fields=additional_fields(rules))
        except RowFailed as e:  # e.g. more than a year ahead: compare with today's view
            log.info("GET /employees?date=%s failed: %s", day, e)
            return None

    plan = plan_sync_dated(employees, book, masters, remote, links, options, today, as_of=as_of,
                           pending=ledger.pending_changes())
    result.problems.extend(plan.problems)
    result.sections["queue"] = plan.queue
    result.meta["plan"] = plan.counts()
    # a row the plan could not send (code unusable, division unresolved…) is a problem with its own code
    said = set(result.problems)  # a held code change is already said by code_change.detect above
    result.problems.extend(a.problem for a in plan.actions if a.problem is not None and a.problem not in said)

    if opts.dry_run:
        result.rows = planned_rows(plan)
        result.exit_code = exit_for_rows(result.rows)
        return plan
    # kept before anything is sent: a later run sends these changes with their date or not at all
    ledger.update_pending(plan.pending_save, plan.pending_drop)
    outcome = apply_plan(plan, client, ledger, clock=clock, concurrency=settings.attendance_api.concurrency,
                         wait=wait, progress=ctx.progress_stream())
    result.rows = outcome.rows
    if outcome.ledger_error is not None:  # the rows the API confirmed are reported, then the stop (exit 2)
        raise outcome.ledger_error
    # beside the links: the values now confirmed on the attendance side (reconcile's "which side changed")
    ledger.save_synced_values(synced_values(plan, outcome.rows, employees, book, masters, links),
                              clock.now().isoformat(timespec="seconds"))
    if outcome.interrupted:  # Ctrl+C: the rows above are reported, status 中断, exit 130
        raise KeyboardInterrupt
    if outcome.waited_s:
        result.meta["waited_s"] = round(outcome.waited_s)
    if outcome.stopped is not None:
        raise outcome.stopped
    result.exit_code = exit_for_rows(result.rows)
    return plan


def pull_command(ctx: Context, opts: PullOptions) -> int:
    path = ctx.workbook_path(opts.workbook)

    def body(result: RunResult) -> None:
        pull_employees(ctx, result, opts)

    with writer_lock(ctx, "pull-employees", opts.dry_run):
        return run_job(ctx, "pull-employees", body, dry_run=opts.dry_run, annotate_from=path,
                       notify=mail_rule(ctx, path, asked=opts.mail))


def pull_employees(ctx: Context, result: RunResult, opts: PullOptions) -> None:
    """The body of pull-employees: fills ``result``."""
    settings = ctx.settings
    clock = settings.clock
    path = ctx.workbook_path(opts.workbook)
    result.meta["workbook"] = str(path)

    book = ctx.book(path)
    client = ctx.client()
    result.meta["base_url"] = client.base_url
    masters = call_waiting(clock, opts.wait, client.masters)
    result.sections["names"] = names_section(masters.divisions, masters.working_types)
    remote = call_waiting(clock, opts.wait, client.employees, include_resigned=True, fields=ADDITIONAL_FIELDS)
    ledger = ctx.ledger()
    employees, links = ledger.employees(), ledger.links()
    renames = code_change.detect(employees, book, remote, links, clock.today())
    plan = plan_pull(remote, employees, book, masters, links, ledger.departments(),
                     ledger.employee_classes(), update_existing=opts.update_existing,
                     renamed={c.old: c for c in [*renames.confirmed.values(), *renames.probable.values()]})
    result.problems.extend(renames.problems + plan.problems)  # a held code change is said in 要対応 too
    if not opts.dry_run:
        confirmed: list[int] = []
        try:
            inserted, updated, chunks = apply_pull(plan, ledger, limit=opts.limit,
                                                   now=clock.now().isoformat(timespec="seconds"), confirmed=confirmed)
        except BaseException:  # the database stopped midway, or Ctrl+C: report what it took, then the stop
            result.rows = pull_rows(plan, "ok", confirmed=sum(confirmed))
            raise
        result.meta.update(inserted=inserted, updated=updated, chunks=chunks, limit=opts.limit)
    result.rows = pull_rows(plan, "planned" if opts.dry_run else "ok")
    result.exit_code = exit_for_rows(result.rows)

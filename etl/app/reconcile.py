"""`reconcile`: do the ledger and 勤怠 agree? Compare the ledger (through the workbook's rules) with
the attendance side as of today (includeResigner); write nothing to either.

The workbook → the masters → GET /employees (every additional field) → the ledger and its links →
compare (etl.sync.reconcile) → for pending future-dated changes, GET /employees as of each day →
compare again → report: the 照合 section of report.html, result.json rows with one ``kind`` each,
照合結果.csv (opens in Excel). Differences are findings: exit 0. A workbook that cannot be read is
exit 3, one with errors is compared as far as it resolves and exits 3; 4 and 5 as usual.
"""
from __future__ import annotations

import logging

from etl.app.context import Context
from etl.app.options import ReconcileOptions
from etl.app.runner import run_job
from etl.errors import ERROR, ExitCode, Problem, RowFailed
from etl.kot.waiting import call_waiting
from etl.report.labels import names_section
from etl.report.reconcile import CSV_NAME, differences_csv, summary_line
from etl.report.result import RunResult
from etl.sync import code_change
from etl.sync.fields import ADDITIONAL_FIELDS
from etl.sync.reconcile import Reconciliation, pending_dates, reconcile
from etl.workbook.validate import validate_book

log = logging.getLogger(__name__)


def reconcile_command(ctx: Context, opts: ReconcileOptions) -> int:
    path = ctx.workbook_path(opts.workbook)

    def body(result: RunResult) -> None:
        result.meta["workbook"] = str(path)
        found, problems = compare_now(ctx, opts, validate=True, result=result)
        result.problems.extend(problems)
        section = found.section()
        result.sections["reconcile"] = section
        result.rows = [d.to_row() for d in found.differences]
        result.files[CSV_NAME] = differences_csv(section)
        result.meta["differences"] = len(found.differences)
        ctx.out(summary_line(section))
        errors = [p for p in problems if p.severity == ERROR]
        if errors:
            ctx.err(f"エラー: ブック {path.name} に {len(errors)} 件のエラーがあります (照合は決まる範囲で行いました)。"
                    f"最初のエラー: {errors[0].line()}")
        result.exit_code = ExitCode.INVALID_INPUT if errors else ExitCode.SUCCESS

    return run_job(ctx, "reconcile", body, annotate_from=path)


def compare_now(ctx: Context, opts: ReconcileOptions, *, validate: bool,
                result: RunResult | None = None) -> tuple[Reconciliation, list[Problem]]:
    """Read both sides (reads only) and compare; with ``validate`` also the workbook's problems.
    ``result`` gets the masters' names (the report shows 「1000 本社」 for a 所属)."""
    clock, wait = ctx.settings.clock, opts.wait
    today = clock.today()
    book = ctx.book(ctx.workbook_path(opts.workbook))
    client = ctx.client()
    masters = call_waiting(clock, wait, client.masters)
    if result is not None:
        result.sections["names"] = names_section(masters.divisions, masters.working_types)
    remote = call_waiting(clock, wait, client.employees, include_resigned=True, fields=ADDITIONAL_FIELDS)
    ledger = ctx.ledger()
    employees, links = ledger.employees(), ledger.links()
    problems = validate_book(book, masters, employees, today) if validate else []
    problems += code_change.detect(employees, book, remote, links, today).problems
    synced, pending = ledger.synced_values(), ledger.pending_changes()
    found = reconcile(employees, book, masters, remote, links, today, synced=synced, pending=pending)
    days = pending_dates(found)
    if days:  # is each pending change already booked on the attendance side?
        views = {}
        for day in days:
            try:
                views[day] = call_waiting(clock, wait, client.employees, as_of=day, include_resigned=True,
                                          fields=ADDITIONAL_FIELDS)
            except RowFailed as e:  # the reason then says the check was not possible
                log.info("GET /employees?date=%s failed: %s", day, e)
        found = reconcile(employees, book, masters, remote, links, today, remote_as_of=views, synced=synced,
                          pending=pending)
    return found, problems

"""Job plumbing shared by every command, and the `run` batch that composes the jobs.

A command handler builds its dependencies with ``client_for`` / ``ledger_for`` / ``load_book``,
does its work inside ``run_job`` (which turns a StopRun into the right exit code and still
writes the report), and ``publish`` writes reports/<run_id>/ and prints ``report: <path>`` last.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from etl.errors import ERROR, ExitCode, InputError, Problem, StopRun
from etl.report.result import RunResult

if TYPE_CHECKING:  # pragma: no cover
    from etl.cli import Context
    from etl.config import Settings

log = logging.getLogger(__name__)


def client_for(settings: Settings):
    """The attendance API client configured from settings (token required)."""
    from etl.kot.client import KotClient
    return KotClient.from_settings(settings)


def ledger_for(settings: Settings):
    from etl.ledger.store import open_ledger
    return open_ledger(settings.ledger_url)


def workbook_path(settings: Settings, arg: str | None) -> Path:
    if arg:
        p = Path(arg)
        return p if p.is_absolute() else Path.cwd() / p
    return settings.path("workbook")


def load_book(settings: Settings, arg: str | None = None):
    from etl.workbook.read import read_workbook
    return read_workbook(workbook_path(settings, arg))


def new_result(ctx: Context, job: str, *, dry_run: bool = False) -> RunResult:
    return RunResult(job=job, started_at=ctx.settings.clock.now(), dry_run=dry_run)


def exit_for_rows(result: RunResult) -> int:
    """0 when every row went through, 1 when some failed; errors among problems count too."""
    failed = any(r.result == "failed" or r.action == "error" for r in result.rows)
    return ExitCode.PARTIAL if failed else ExitCode.SUCCESS


def run_job(ctx: Context, job: str, body: Callable[[RunResult], None], *, dry_run: bool = False,
            annotate_from: Path | None = None) -> int:
    """Run ``body(result)``; whatever happens, write the report and print its path last.

    ``body`` fills rows/problems/outputs/sections and sets ``result.exit_code``. A StopRun
    (restricted hours, API refused, invalid input) becomes that exit code and one stderr line;
    what was done up to then stays in the report.
    """
    result = new_result(ctx, job, dry_run=dry_run)
    try:
        body(result)
    except StopRun as e:
        result.exit_code = e.exit_code
        if isinstance(e, InputError):
            result.problems.extend(e.problems)
        text = _mask(ctx, str(e))
        result.meta["error"] = text
        if not any(p.severity == ERROR for p in result.problems):
            result.problems.append(Problem(severity=ERROR, code=_stop_code(e), message=text))
        ctx.err(f"エラー: {text}")
    return publish(ctx, result, annotate_from=annotate_from)


def _stop_code(e: StopRun) -> str:
    from etl.errors import ApiError, RestrictedHoursError
    if isinstance(e, RestrictedHoursError):
        return "restricted-hours"
    if isinstance(e, ApiError):
        return "api-unavailable"
    if isinstance(e, InputError):
        return "invalid-input"
    return "usage"


def _mask(ctx: Context, text: str) -> str:
    from etl.config import mask
    s = ctx.settings
    return mask(text, s.token, s.mail_password)


def publish(ctx: Context, result: RunResult, *, annotate_from: Path | None = None) -> int:
    """Write reports/<run_id>/ (result.json, errors.csv, report.html, annotated workbook), update
    reports/index.html, record the run in the ledger (best effort) and print the summary and
    ``report: <path>`` as the last stdout line."""
    from etl.report.result import run_dir, write_result_files

    settings = ctx.settings
    result.finished_at = settings.clock.now()
    reports = settings.path("reports")
    folder = run_dir(reports, result)
    if annotate_from is not None and result.problems:
        try:
            from etl.workbook.annotate import annotate
            dest = folder / f"検証結果_{annotate_from.stem}.xlsx"
            annotate(annotate_from, result.problems, dest)
            result.outputs.append(str(dest))
            result.meta["annotated_workbook"] = dest.name
        except Exception as e:  # the annotated copy is a convenience; the report still goes out
            log.warning("annotated workbook not written: %s", e)
    html_path = folder / "report.html"
    result.outputs.append(str(html_path))
    write_result_files(result, folder)
    try:
        from etl.report.html import write_index, write_report
        write_report(result, html_path)
        write_index(reports)
    except ModuleNotFoundError:  # pragma: no cover - only while the HTML module is not built
        from etl.fileio import write_text
        write_text(html_path, f"<!doctype html><meta charset=utf-8><title>{result.status_label}</title>"
                              f"<p>{result.status_label}</p>")
    _record_run(settings, result)
    ctx.out(result.summary_line())
    ctx.out(f"report: {html_path}")
    return int(result.exit_code)


def _record_run(settings: Settings, result: RunResult) -> None:
    try:
        from etl.ledger.store import open_ledger
        open_ledger(settings.ledger_url).record_run(result)
    except Exception as e:  # the ledger may be the very thing that is broken
        log.info("run not recorded in the ledger: %s", e)

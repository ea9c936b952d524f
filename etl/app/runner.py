"""The job frame every command runs in: a RunResult, the stop → exit-code mapping, and publishing
(reports/<run_id>/: result.json, errors.csv, report.html, the annotated workbook; index.html;
mail; the run recorded in the ledger; ``report: <path>`` printed last).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import sqlalchemy as sa

from etl.app.context import Context
from etl.errors import (
    ERROR,
    ApiError,
    ExitCode,
    InputError,
    Problem,
    RestrictedHoursError,
    Retryable,
    RowFailed,
    StopRun,
    Throttled,
    UsageError,
)
from etl.lock import RunLock, default_lock_path
from etl.records import RowResult
from etl.report.result import STATUS_LABELS, RunResult
from etl.text import one_line

log = logging.getLogger(__name__)

Body = Callable[[RunResult], None]


def exit_for_rows(rows: list[RowResult]) -> int:
    """0 when every row went through, 1 when some failed."""
    failed = any(r.result == "failed" or r.action == "error" for r in rows)
    return ExitCode.PARTIAL if failed else ExitCode.SUCCESS


def status_label(code: int) -> str:
    if code == ExitCode.INTERRUPTED:
        return STATUS_LABELS["interrupted"]
    return STATUS_LABELS["success" if code == 0 else "partial" if code == 1 else "failed"]


def worst_exit(codes: list[int]) -> int:
    """A batch's exit code: any stop (2–5) wins, then partial (1), else 0."""
    stops = [c for c in codes if c >= ExitCode.USAGE]
    if stops:
        return stops[0]
    return ExitCode.PARTIAL if ExitCode.PARTIAL in codes else ExitCode.SUCCESS


def writer_lock(ctx: Context, command: str, dry_run: bool) -> AbstractContextManager[object]:
    """The run lock for a job that writes (the nightly `run` holds the same one): two writers at
    once would plan and send the same changes twice. A dry run writes nothing and needs none."""
    settings = ctx.settings
    return nullcontext() if dry_run else RunLock(default_lock_path(settings), settings.clock, command=command)


def api_gave_up(e: Exception) -> ApiError:
    """A read that failed after every retry (5xx, throttling, dropped connections) or that the
    API refused (4xx): the job stops with exit 4 and says what to do."""
    what = "混雑のため応答を制限されました" if isinstance(e, Throttled) else "から正常な応答を得られませんでした"
    return ApiError(f"勤怠API{what} ({e})。時間をおいて再実行してください。続く場合は勤怠サービスの"
                    "メンテナンス情報とネットワークを確認してください")


def ledger_failed(e: BaseException) -> UsageError:
    """A ledger database error mid-job: one line without the SQL parameters (personal data)."""
    from etl.ledger.store import db_reason
    return UsageError(f"従業員台帳のデータベースでエラーが発生しました ({db_reason(e)})。台帳がほかのプログラムで"
                      "ロックされていないか、[ledger] url が正しいかを確認して再実行してください")


def stop_code(e: StopRun) -> str:
    if isinstance(e, RestrictedHoursError):
        return "restricted-hours"
    if isinstance(e, ApiError):
        return "api-unavailable"
    if isinstance(e, InputError):
        return "invalid-input"
    return "usage"


def cannot_write(e: OSError) -> UsageError:
    """A folder or file that cannot be written (read-only, full disk, a folder in the way): one
    line naming it (exit 2)."""
    where = e.filename if e.filename is not None else "出力先"
    return UsageError(one_line(f"{where} に書き込めません ({e.strerror or type(e).__name__})。書き込み権限と"
                               "空き容量、[paths] の設定・--out・--reports-dir を確認してください"))


def as_stop(e: Exception) -> StopRun | None:
    """The StopRun an exception means for the run (None: not one we know — a bug)."""
    if isinstance(e, StopRun):
        return e
    if isinstance(e, (Retryable, RowFailed)):  # a read the API kept failing or refused
        return api_gave_up(e)
    if isinstance(e, sa.exc.SQLAlchemyError):
        return ledger_failed(e)
    if isinstance(e, OSError) and not isinstance(e, (ConnectionError, TimeoutError)):
        return cannot_write(e)
    return None


def notify_workbook_list(ctx: Context, path: Path) -> Callable[[RunResult], list[str]]:
    """The recipients of the result mail: the workbook's 連携結果通知メールアドレス (none when the
    workbook cannot be read: the report says why)."""
    from etl.text import split_emails

    def recipients(_result: RunResult) -> list[str]:
        try:
            book = ctx.book(path)
        except Exception:  # noqa: BLE001 - an unreadable workbook is in the report already
            return []
        return split_emails(",".join(book.settings.notify_emails))

    return recipients


def mail_rule(ctx: Context, path: Path, *, asked: bool, batch: bool = False,
              dry_run: bool = False) -> Callable[[RunResult], list[str]] | None:
    """Who gets the result mail: the nightly `run` mails HR's list; a dry run never does unless
    ``--mail`` asks; a manual command mails only with ``--mail``."""
    if asked or (batch and not dry_run):
        return notify_workbook_list(ctx, path)
    return None


def run_job(ctx: Context, job: str, body: Body, *, dry_run: bool = False, annotate_from: Path | None = None,
            notify: Callable[[RunResult], list[str]] | None = None) -> int:
    """Run ``body(result)``; whatever happens, write the report and print its path last.

    ``body`` fills rows/problems/outputs/sections and sets ``result.exit_code``. A stop
    (restricted hours, API refused, invalid input) becomes that exit code and one stderr line;
    what was done up to then stays in the report.
    """
    result = RunResult(job=job, started_at=ctx.settings.clock.now(), dry_run=dry_run)
    # the report's folder first: a reports folder that cannot be written stops the job before it
    # publishes anything (an import's CSV never goes out without its report)
    folder = report_folder(ctx, result)
    try:
        body(result)
    except KeyboardInterrupt:  # Ctrl+C: what was done is reported, status 中断, exit 130
        result.exit_code = ExitCode.INTERRUPTED
        result.problems.append(Problem.of("interrupted"))
        ctx.err("中断しました (Ctrl+C)。ここまでの結果をレポートに書き出します。")
    except Exception as e:
        stop = as_stop(e)
        if stop is None:
            raise
        record_stop(ctx, result, stop)
    return publish(ctx, result, annotate_from=annotate_from, notify=notify, folder=folder)


def report_folder(ctx: Context, result: RunResult) -> Path:
    """reports/<run_id>/, created now; UsageError (one line, exit 2) when it cannot be."""
    from etl.report.result import run_dir

    reports = ctx.settings.path("reports")
    try:
        folder = run_dir(reports, result)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"レポートの出力先 {one_line(str(reports))} に書き込めません ({e.strerror or e})。"
                         "[paths] reports か --reports-dir を確認してください") from None
    return folder


def record_stop(ctx: Context, result: RunResult, e: StopRun) -> None:
    result.exit_code = e.exit_code
    if isinstance(e, InputError):
        result.problems.extend(e.problems)
    text = ctx.mask(str(e))
    result.meta["error"] = text
    if not any(p.severity == ERROR for p in result.problems):
        result.problems.append(Problem.of(stop_code(e), value=text))
    ctx.err(f"エラー: {text}")


def publish(ctx: Context, result: RunResult, *, annotate_from: Path | None = None,
            notify: Callable[[RunResult], list[str]] | None = None, folder: Path | None = None) -> int:
    """Write reports/<run_id>/ (result.json, errors.csv, report.html, annotated workbook), update
    reports/index.html, mail the summary when ``notify`` names recipients, record the run in the
    ledger (best effort) and print the summary and ``report: <path>`` as the last stdout line."""
    from etl.report.html import write_index, write_report
    from etl.report.result import write_result_files

    settings = ctx.settings
    result.finished_at = settings.clock.now()
    if ctx._client is not None:
        stats = ctx._client.stats.as_dict()  # the one client of this run: every request of every step
        result.meta["api"] = stats
        result.meta["api_requests"] = stats["requests"]
        for name in ("retries", "throttled"):
            if stats[name]:
                result.meta[f"api_{name}"] = stats[name]
    reports = settings.path("reports")
    if folder is None:
        folder = report_folder(ctx, result)
    if annotate_from is not None and result.problems and annotate_from.is_file():  # a missing workbook: said once
        _annotate(result, annotate_from, folder)
    html_path = folder / "report.html"
    result.outputs.append(str(html_path))
    try:
        write_result_files(result, folder)
        write_report(result, html_path)
        if notify is not None:
            _mail(ctx, result, notify(result), html_path, folder / "errors.csv")
            write_result_files(result, folder)  # again, with the mail's outcome
            write_report(result, html_path)
        write_index(reports)
    except OSError as e:  # a full disk mid-report: say so, and name what was already written
        written = [o for o in result.outputs if o != str(html_path)]
        done = f" 出力済みのファイル: {', '.join(written)}" if written else ""
        raise UsageError(one_line(f"レポートを書き込めません ({e.filename or folder}: {e.strerror or e})。{done}")) from None
    _record_run(ctx, result)
    ctx.out(result.summary_line())
    partial = result.failure_line(html_path)
    if partial:  # exit 1 says little on its own: the counts and where to look, on stderr
        ctx.err(partial)
    ctx.out(f"report: {html_path}")
    return int(result.exit_code)


def _annotate(result: RunResult, source: Path, folder: Path) -> None:
    from etl.records import Masters
    from etl.workbook.annotate import annotate, count_marks
    if not Path(source).is_file():  # no workbook to copy (the stop line already says so)
        return
    try:
        dest = folder / f"検証結果_{source.stem}.xlsx"
        names = result.sections.get("names") or {}
        masters = Masters(names.get("divisionCode") or {}, names.get("typeCode") or {}) if names else None
        annotate(source, result.problems, dest, masters=masters)
        result.outputs.append(str(dest))
        result.meta["annotated_workbook"] = dest.name
        result.meta["annotated_marks"] = count_marks(result.problems)
    except Exception as e:  # the annotated copy is a convenience; the report still goes out and says why
        # not on stderr: a stop is one line there (the report's 実行情報 shows a non-ASCII meta key)
        result.meta["検証結果ブックを作れなかった理由"] = one_line(str(e))
        log.info("annotated workbook not written: %s", e)


def _mail(ctx: Context, result: RunResult, recipients: list[str], html_path: Path, errors_csv: Path) -> None:
    from etl.report.mail import NO_RECIPIENTS, MailOutcome, record_outcome, send_report
    if not recipients:  # the report says why nothing was sent (no warning: nobody expected it)
        outcome = MailOutcome(sent=False, recipients=[], error=NO_RECIPIENTS)
    else:
        outcome = send_report(ctx.settings, result, recipients, html_path,
                              errors_csv if errors_csv.exists() else None)
        if outcome.sent:
            ctx.out(f"結果を {len(recipients)} 件のアドレスにメールしました。")
        else:
            ctx.err(f"警告: 結果のメールを送れませんでした: {ctx.mask(outcome.error)}")
    record_outcome(result, outcome)


def _record_run(ctx: Context, result: RunResult) -> None:
    try:
        ctx.ledger().record_run(result)
    except Exception as e:  # the ledger may be the very thing that is broken
        log.info("run not recorded in the ledger: %s", e)

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

from etl.errors import ERROR, ApiError, ExitCode, InputError, Problem, Retryable, RowFailed, StopRun, UsageError
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
            annotate_from: Path | None = None, notify: Callable[[RunResult], list[str]] | None = None) -> int:
    """Run ``body(result)``; whatever happens, write the report and print its path last.

    ``body`` fills rows/problems/outputs/sections and sets ``result.exit_code``. A StopRun
    (restricted hours, API refused, invalid input) becomes that exit code and one stderr line;
    what was done up to then stays in the report.
    """
    result = new_result(ctx, job, dry_run=dry_run)
    try:
        try:
            body(result)
        except (Retryable, RowFailed) as e:  # a read the API kept failing or refused: the run cannot go on
            raise api_gave_up(e) from e
        except sa_errors() as e:
            raise ledger_failed(e) from e
    except StopRun as e:
        result.exit_code = e.exit_code
        if isinstance(e, InputError):
            result.problems.extend(e.problems)
        text = _mask(ctx, str(e))
        result.meta["error"] = text
        if not any(p.severity == ERROR for p in result.problems):
            result.problems.append(Problem.of(_stop_code(e), value=text))
        ctx.err(f"エラー: {text}")
    return publish(ctx, result, annotate_from=annotate_from, notify=notify)


def api_gave_up(e: Exception) -> ApiError:
    """A read that failed after every retry (5xx, throttling, dropped connections) or that the
    API refused (4xx): the job stops with exit 4 and says what to do."""
    from etl.errors import Throttled
    what = "混雑のため応答を制限されました" if isinstance(e, Throttled) else "から正常な応答を得られませんでした"
    return ApiError(f"勤怠API{what} ({e})。時間をおいて再実行してください。続く場合は勤怠サービスの"
                    "メンテナンス情報とネットワークを確認してください")


def sa_errors() -> tuple[type[BaseException], ...]:
    import sqlalchemy as sa
    return (sa.exc.SQLAlchemyError,)


def ledger_failed(e: Exception) -> UsageError:
    """A ledger database error mid-job: one line without the SQL parameters (personal data)."""
    reason = str(getattr(e, "orig", None) or type(e).__name__).splitlines()[0][:200]
    return UsageError(f"従業員台帳のデータベースでエラーが発生しました ({reason})。台帳がほかのプログラムで"
                      "ロックされていないか、[ledger] url が正しいかを確認して再実行してください")


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


def publish(ctx: Context, result: RunResult, *, annotate_from: Path | None = None,
            notify: Callable[[RunResult], list[str]] | None = None) -> int:
    """Write reports/<run_id>/ (result.json, errors.csv, report.html, annotated workbook), update
    reports/index.html, mail the summary when ``notify`` names recipients, record the run in the
    ledger (best effort) and print the summary and ``report: <path>`` as the last stdout line."""
    from etl.report.result import run_dir, write_result_files

    settings = ctx.settings
    result.finished_at = settings.clock.now()
    reports = settings.path("reports")
    try:
        folder = run_dir(reports, result)
    except OSError as e:
        from etl.errors import UsageError
        raise UsageError(f"レポートの出力先 {reports} に書き込めません ({e.strerror or e})。"
                         "[paths] reports か --reports-dir を確認してください") from None
    if annotate_from is not None and result.problems:
        try:
            from etl.workbook.annotate import annotate
            dest = folder / f"検証結果_{annotate_from.stem}.xlsx"
            annotate(annotate_from, result.problems, dest)
            result.outputs.append(str(dest))
            result.meta["annotated_workbook"] = dest.name
        except Exception as e:  # the annotated copy is a convenience; the report still goes out
            log.warning("annotated workbook not written: %s", e)
    from etl.report.html import write_index, write_report

    html_path = folder / "report.html"
    result.outputs.append(str(html_path))
    write_result_files(result, folder)
    write_report(result, html_path)
    if notify is not None:
        _mail(ctx, result, notify(result), html_path, folder / "errors.csv")
        write_result_files(result, folder)  # again, with the mail's outcome
        write_report(result, html_path)
    write_index(reports)
    _record_run(settings, result)
    ctx.out(result.summary_line())
    ctx.out(f"report: {html_path}")
    return int(result.exit_code)


def _mail(ctx: Context, result: RunResult, recipients: list[str], html_path: Path, errors_csv: Path) -> None:
    from etl.report.mail import MailOutcome, record_outcome, send_report
    if not recipients:
        outcome = MailOutcome(sent=False, recipients=[], error="")
    else:
        outcome = send_report(ctx.settings, result, recipients, html_path,
                              errors_csv if errors_csv.exists() else None)
        if outcome.sent:
            ctx.out(f"結果を {len(recipients)} 件のアドレスにメールしました。")
        else:
            ctx.err(f"警告: 結果のメールを送れませんでした: {_mask(ctx, outcome.error)}")
    record_outcome(result, outcome)


def _record_run(settings: Settings, result: RunResult) -> None:
    try:
        from etl.ledger.store import open_ledger
        open_ledger(settings.ledger_url).record_run(result)
    except Exception as e:  # the ledger may be the very thing that is broken
        log.info("run not recorded in the ledger: %s", e)


# --------------------------------------------------------------------------------------------
# The batch: validate → sync → import when due or asked → report → mail
# --------------------------------------------------------------------------------------------

def import_due(book, today, month_arg: str | None) -> str | None:
    """The month to import: --month, else last month on 勤怠データ自動取込日, else None."""
    from etl.clock import previous_month
    if month_arg:
        return month_arg
    day = book.settings.auto_import_day
    return previous_month(today) if day and today.day == day else None


def worst_exit(codes: list[int]) -> int:
    """The batch's exit code: any stop (2–5) wins, then partial (1), else 0."""
    stops = [c for c in codes if c >= ExitCode.USAGE]
    if stops:
        return stops[0]
    return ExitCode.PARTIAL if ExitCode.PARTIAL in codes else ExitCode.SUCCESS


def run_command(ctx: Context) -> int:
    """`run [--month YYYY-MM] [--dry-run] [--wait]`: the nightly batch as one result with sections."""
    from etl.lock import RunLock, default_lock_path

    settings = ctx.settings
    path = workbook_path(settings, getattr(ctx.args, "workbook", None))
    dry_run = bool(getattr(ctx.args, "dry_run", False))
    recipients: list[str] = []

    def body(result: RunResult) -> None:
        from etl.attendance.command import ImportOptions, import_attendance
        from etl.sync.command import sync_employees

        result.meta["workbook"] = str(path)
        parts: list[dict] = []
        result.sections["sections"] = parts
        book = load_book(settings, str(path))  # a broken workbook stops here (exit 3), before any request
        from etl.report.mail import parse_recipients
        recipients.extend(parse_recipients(",".join(book.settings.notify_emails)))
        codes: list[int] = []
        try:
            sync_employees(ctx, result)
        except StopRun as e:
            parts.append({"job": "sync-employees", "status_label": "異常終了", "summary": str(e)})
            raise
        c = result.counts()
        codes.append(result.exit_code)
        parts.append({"job": "validate", "status_label": "正常終了",
                      "summary": f"警告 {sum(p.severity != ERROR for p in result.problems)}件"})
        parts.append({"job": "sync-employees", "status_label": _label(result.exit_code),
                      "summary": f"作成 {c['created']}件 更新 {c['updated']}件 退職 {c['retired']}件 "
                                 f"変更なし {c['unchanged']}件 失敗 {c['failed']}件"})
        month = import_due(book, settings.clock.today(), getattr(ctx.args, "month", None))
        if month:
            try:
                outcome = import_attendance(ctx, result, ImportOptions(month=month, dry_run=dry_run), book=book)
            except StopRun as e:
                parts.append({"job": "import-attendance", "status_label": "異常終了", "summary": str(e)})
                raise
            parts.append({"job": "import-attendance", "status_label": "正常終了",
                          "summary": f"{month}: {outcome.employees}名 → {outcome.target}"
                                     f"{'' if outcome.is_closed else ' (未締め)'}"})
        else:
            parts.append({"job": "import-attendance", "status_label": "対象外",
                          "summary": "今日は勤怠データ自動取込日ではありません (--month で指定できます)"})
        result.exit_code = worst_exit(codes)

    with RunLock(default_lock_path(settings), settings.clock, command="run"):
        return run_job(ctx, "run", body, dry_run=dry_run, annotate_from=path,
                       notify=lambda _result: recipients)


def _label(code: int) -> str:
    from etl.report.result import STATUS_LABELS
    return STATUS_LABELS["success" if code == 0 else "partial" if code == 1 else "failed"]

"""`run`: the nightly batch — validate → sync → import when due or asked (else the 年5日 check
alone) → reconcile on the days of 照合レポート → report → mail.

One context serves every step: the workbook is read once, one API client (one rate-limit window)
makes every request, and the report counts them all.
"""
from __future__ import annotations

import datetime as dt

from etl.app.context import Context
from etl.app.importing import TARGET_WORDS, import_attendance
from etl.app.options import ImportOptions, ReconcileOptions, RunOptions, SyncCommandOptions
from etl.app.reconcile import compare_now
from etl.app.runner import mail_rule, run_job, status_label, worst_exit
from etl.app.sync import sync_employees
from etl.attendance.fetch import paid_leave_check, people
from etl.attendance.summary import leave_only_section
from etl.clock import month_refusal, previous_month
from etl.errors import ERROR, StopRun, UsageError
from etl.lock import RunLock, default_lock_path
from etl.report.reconcile import nightly_section
from etl.report.result import RunResult
from etl.sync.reconcile import due
from etl.workbook.model import MappingBook


def import_due(book: MappingBook, today: dt.date, month: str | None) -> str | None:
    """The month to import: --month, else last month on 勤怠データ自動取込日, else None."""
    if month:
        return month
    day = book.settings.auto_import_day
    return previous_month(today) if day and today.day == day else None


def _paid_leave(ctx: Context, result: RunResult) -> dict[str, str]:
    """The 年5日 check on a night without an import (an import runs it itself)."""
    settings = ctx.settings
    client, ledger = ctx.client(), ctx.ledger()
    directory, employees = people(client, ledger)
    found, part = paid_leave_check(client, directory, employees, settings.clock.today(),
                                   paid_leave_codes=settings.attendance.paid_leave_codes,
                                   start_month=int(settings.attendance.fiscal_year_start_month))
    result.problems.extend(found)
    result.sections["attendance"] = leave_only_section(part)
    if part.get("unavailable"):
        return {"job": "年5日の確認", "status_label": "確認できず", "summary": " / ".join(part["unavailable"])}
    return {"job": "年5日の確認", "status_label": "正常終了",
            "summary": f"10日以上の付与 {part['checked']}件、取得不足 {len(part['rows'])}件"}


def reconcile_step(ctx: Context, result: RunResult, book: MappingBook, opts: RunOptions) -> dict[str, str]:
    """照合レポート: on its days, compare both sides after the sync (reads only) and add the summary."""
    schedule = book.settings.reconcile_report
    if not due(schedule, ctx.settings.clock.today()):
        why = "照合レポートが「しない」" if schedule == "never" else "今日は照合レポートの日 (毎週月曜) ではありません"
        return {"job": "reconcile", "status_label": "対象外", "summary": f"{why}のため照合していません"}
    try:
        found, _ = compare_now(ctx, ReconcileOptions(wait=opts.wait, workbook=opts.workbook), validate=False)
    except StopRun as e:
        result.sections["sections"].append({"job": "reconcile", "status_label": "異常終了", "summary": str(e)})
        raise
    section = nightly_section(found.section())
    result.sections["reconcile"] = section
    return {"job": "reconcile", "status_label": "正常終了", "summary": section["summary"]}


def run_command(ctx: Context, opts: RunOptions) -> int:
    """The nightly batch as one result with sections."""
    settings = ctx.settings
    path = ctx.workbook_path(opts.workbook)
    refusal = month_refusal(opts.month, settings.clock.today()) if opts.month else None
    if refusal:  # before any request and before the report: one line, exit 2
        raise UsageError(f"--month: {refusal}")

    def body(result: RunResult) -> None:
        result.meta["workbook"] = str(path)
        parts: list[dict[str, str]] = []
        result.sections["sections"] = parts
        book = ctx.book(path)  # a broken workbook stops here (exit 3), before any request
        sync = SyncCommandOptions(dry_run=opts.dry_run, wait=opts.wait, workbook=opts.workbook)
        try:
            sync_employees(ctx, result, sync)
        except StopRun as e:
            parts.append({"job": "sync-employees", "status_label": "異常終了", "summary": str(e)})
            raise
        c = result.counts()
        codes = [result.exit_code]
        parts.append({"job": "validate", "status_label": "正常終了",
                      "summary": f"警告 {sum(p.severity != ERROR for p in result.problems)}件"})
        parts.append({"job": "sync-employees", "status_label": status_label(result.exit_code),
                      "summary": f"作成 {c['created']}件 更新 {c['updated']}件 退職 {c['retired']}件 "
                                 f"変更なし {c['unchanged']}件 失敗 {c['failed']}件"})
        month = import_due(book, settings.clock.today(), opts.month)
        if month:
            try:
                outcome = import_attendance(ctx, result, ImportOptions(month=month, dry_run=opts.dry_run,
                                                                       workbook=opts.workbook))
            except StopRun as e:
                parts.append({"job": "import-attendance", "status_label": "異常終了", "summary": str(e)})
                raise
            parts.append({"job": "import-attendance", "status_label": "正常終了",
                          "summary": f"{month}: {outcome.employees}名 → "
                                     f"{TARGET_WORDS.get(outcome.target, outcome.target)}"
                                     f"{'' if outcome.is_closed else ' (未締め)'}"})
        else:
            parts.append({"job": "import-attendance", "status_label": "対象外",
                          "summary": "今日は勤怠データ自動取込日ではありません (--month で指定できます)"})
            parts.append(_paid_leave(ctx, result))
        parts.append(reconcile_step(ctx, result, book, opts))
        result.exit_code = worst_exit(codes)

    with RunLock(default_lock_path(settings), settings.clock, command="run"):
        return run_job(ctx, "run", body, dry_run=opts.dry_run, annotate_from=path,
                       notify=mail_rule(ctx, path, asked=opts.mail, batch=True, dry_run=opts.dry_run))

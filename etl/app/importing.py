"""`import-attendance --month YYYY-MM`: fetch the month, check it, write the CSV or the ledger.

Flow: workbook (target, encoding, columns; errors → exit 3 before any request) → the ledger's
employees and links + GET /employees (keys → codes) → ``--backfill N``: the earlier months into
the ledger's history → GET /monthly-workings → transform → checks (closing, roster, 36協定 with
the ledger's history and its missing months by name, 年5日 from the yearly leave, closed-month
corrections) → ``--dry-run`` stops here → write the CSV or the ledger → keep the month in the
ledger's history whatever the target → report.

Exit codes: labour-law findings are findings, not failures: the import succeeded, so it exits 0
with them in the report. 3 (nothing written) when the workbook's columns are invalid, a cell
cannot be encoded (without --replace-unencodable), the CSV or the ledger could not be written,
or --require-closed meets an open month. 4 / 5 from the API as everywhere.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from etl.app.context import Context
from etl.app.options import ImportOptions
from etl.app.runner import mail_rule, run_job
from etl.attendance import checks, history
from etl.attendance.cp932 import encoding_label
from etl.attendance.fetch import fetch_month, paid_leave_check, people
from etl.attendance.frame import UnencodableError, bad_cell_problems, build_frame, render_csv
from etl.attendance.items import Column, default_columns, resolve_columns
from etl.attendance.summary import attendance_section
from etl.attendance.transform import MonthTable, transform_month
from etl.attendance.write import csv_path, write_ledger
from etl.clock import month_refusal
from etl.errors import ERROR, InputError, Problem, UsageError
from etl.fileio import from_cwd, write_bytes
from etl.ledger.store import db_reason
from etl.report.labels import IMPORT_TARGET_LABELS
from etl.report.result import RunResult
from etl.workbook.model import ENCODINGS, SHEET_OUTPUT, SHEET_SETTINGS

log = logging.getLogger(__name__)

TARGETS = ("csv", "ledger")
TARGET_WORDS = IMPORT_TARGET_LABELS  # where the month went, as HR reads it
LEDGER_TARGET = "台帳 (月別勤怠の履歴)"  # 出力先 of a ledger import (the table is monthly_attendance)
PREVIEW_ROWS = 5


@dataclass
class ImportOutcome:
    month: str
    target: str  # csv | ledger
    employees: int
    is_closed: bool
    written: bool
    path: Path | None = None  # the CSV (also set in a dry run: where it would go)


def import_command(ctx: Context, opts: ImportOptions) -> int:
    refusal = month_refusal(opts.month, ctx.settings.clock.today())
    if refusal:  # before any request and before the report: one line, exit 2, nothing written
        raise UsageError(f"--month: {refusal}")

    def body(result: RunResult) -> None:
        outcome = import_attendance(ctx, result, opts)
        result.tallies.update(import_counts(outcome))

    return run_job(ctx, "import-attendance", body, dry_run=opts.dry_run,
                   notify=mail_rule(ctx, ctx.workbook_path(opts.workbook), asked=opts.mail))


def import_counts(outcome: ImportOutcome) -> dict[str, int]:
    """result.json counts of an import: employee-months written / not written (a dry run writes none)."""
    n = outcome.employees
    written = n if outcome.written else 0
    return {"total": n, "succeeded": written, "failed": 0, "created": 0, "updated": 0,
            "retired": 0, "unchanged": 0, "skipped": 0}


def import_attendance(ctx: Context, result: RunResult, options: ImportOptions) -> ImportOutcome:
    """Import with the run's workbook, client and ledger (the batch `run` calls this too)."""
    path = ctx.workbook_path(options.workbook)
    result.meta["workbook"] = str(path)
    result.imported.update(month=options.month, target=None, path=None)  # known before the workbook is read
    book = ctx.book(path)
    client = ctx.client()
    result.meta["base_url"] = client.base_url
    return import_month(result, settings=ctx.settings, client=client, ledger=ctx.ledger(), book=book,
                        options=options, say=ctx.out)


def import_month(result: RunResult, *, settings: Any, client: Any, ledger: Any, book: Any,
                 options: ImportOptions, say: Callable[[str], None] | None = None) -> ImportOutcome:
    """Import one month into ``result`` (problems, outputs, sections["attendance"], meta).

    Raises InputError (exit 3, nothing written) as described in the module docstring; adds
    the labour-law findings as problems without changing the exit code.
    """
    say = say or (lambda _text: None)
    month = options.month
    result.imported.update(month=month, target=None, path=None)
    target, encoding, columns = _plan(book, options)
    result.meta["month"] = month
    path = None
    if target == "csv":
        path = _out_path(settings, options.out, month)
        result.meta["出力先"] = f"CSV {path}"
        result.meta["文字コード"] = encoding_label(encoding)
    else:
        result.meta["出力先"] = LEDGER_TARGET
    result.imported.update(target=target, path=str(path) if path is not None else None)

    directory, employees = people(client, ledger)
    imported_at = settings.clock.now().isoformat(timespec="seconds")
    if options.backfill:
        _backfill(result, client, ledger, directory, settings, options, imported_at, say)
    raw: list[Any] = fetch_month(client, month, split_by_division=bool(settings.attendance_api.split_by_division))
    table = transform_month(raw, month, directory, paid_leave_codes=settings.attendance.paid_leave_codes,
                            imported_at=imported_at)
    del raw
    result.problems.extend(table.problems)  # a KOT field no entry of the month has (attendance-field-missing)
    absent = table.optional_absent()  # asked for, optional, sent for no one: said in the report, not warned
    if absent:
        result.meta["勤怠APIの答えになかった任意の項目"] = "、".join(
            f"{path} (「{label}」に 0 として計算)" for path, label in absent)

    is_closed = _check(result, table, employees, book, settings, ledger, options.require_closed,
                       client=client, directory=directory)

    outcome = ImportOutcome(month, target, len(table), is_closed, written=False, path=path)
    where = str(path) if target == "csv" else LEDGER_TARGET
    if options.require_closed and not is_closed:
        raise InputError(f"{month} の勤怠はまだ締められていないため、{where} に書き込みませんでした"
                         "（締め後に再実行するか、--require-closed を外してください）。")
    if options.dry_run:
        _preview(result, table, columns if target == "csv" else default_columns(), target, where, encoding, say)
        return outcome
    if path is not None:  # the CSV target; the month is kept in the ledger's history too
        # encode first (a cell cp932 cannot hold stops here), keep the history, publish the CSV last:
        # payroll never gets a CSV whose month the 36協定 history lacks
        data = _render_csv(result, table, columns, encoding, options.replace_unencodable)
        try:
            history.keep(ledger, table)
        except sa.exc.SQLAlchemyError as e:
            raise UsageError(f"36協定の履歴として台帳に {month} を保存できなかったため、CSV {path} は書き込みませんでした"
                             f" ({db_reason(e)})。台帳の状態を確認して再実行してください。") from None
        _publish_csv(result, path, data)
    else:
        try:
            write_ledger(ledger, table)
        except sa.exc.SQLAlchemyError as e:
            raise UsageError(f"台帳に {month} の勤怠を書き込めませんでした ({db_reason(e)})。台帳の状態を確認して"
                             "再実行してください (書き込みは取り消されています)。") from None
    outcome.written = True
    say(f"勤怠 {month}: {len(table)} 名を {where} に書き込みました"
        f"{'' if is_closed else ' (未締め)'}。")
    return outcome


def _backfill(result: RunResult, client: Any, ledger: Any, directory: Any, settings: Any, options: ImportOptions,
              imported_at: str, say: Callable[[str], None]) -> None:
    """``--backfill N``: the months before ``options.month`` into the ledger's history (not those it
    already holds closed; not before the API's 3-year window: those are named as problems)."""
    month = options.month
    earlier = [checks.add_months(month, -k) for k in range(options.backfill, 0, -1)]
    plan = history.plan_backfill(month, options.backfill, settings.clock.today(), ledger.monthly_months(earlier))
    result.problems.extend(plan.problems)
    if plan.held_closed:
        result.meta["履歴 (締め済みで保持、再取得なし)"] = ", ".join(plan.held_closed)
    if options.dry_run:
        result.meta["履歴の取込"] = f"予定: {', '.join(plan.fetch) or 'なし'}"
        say(f"[dry-run] 履歴 {', '.join(plan.fetch) or 'なし'} を台帳に取り込む予定です (書き込みはしていません)。")
        return
    kept: list[str] = []
    try:
        for m, n in history.backfill(client, ledger, plan, directory,
                                     paid_leave_codes=settings.attendance.paid_leave_codes, imported_at=imported_at,
                                     split_by_division=bool(settings.attendance_api.split_by_division)):
            kept.append(m)
            say(f"履歴 {m}: {n} 名を台帳に保存しました。")
    except sa.exc.SQLAlchemyError as e:
        raise UsageError(f"台帳に履歴 {plan.fetch[len(kept)]} を保存できませんでした ({db_reason(e)})。"
                         "台帳の状態を確認して再実行してください。") from None
    finally:
        left = plan.fetch[len(kept):]
        result.meta["履歴の取込"] = (", ".join(kept) or "なし") + (f" (未取込: {', '.join(left)})" if left else "")


def _check(result: RunResult, table: MonthTable, employees: list, book: Any, settings: Any, ledger: Any,
           require_closed: bool, *, client: Any, directory: Any) -> bool:
    """Every check into result.problems and sections["attendance"]; returns whether the month is closed."""
    month = table.month
    closing = table.column("is_closing")
    is_closed = checks.is_closed(closing)
    result.problems.extend(checks.closing_problems(month, closing, require_closed=require_closed))
    codes = table.column("employee_code")
    excluded = [o.employee_code for o in getattr(book, "overrides", ()) if o.exclude]
    result.problems.extend(checks.roster_problems(
        month, codes, employees, table.unknown_keys, dict(zip(codes, table.column("name"), strict=True)),
        excluded=excluded, hired_only=bool(book.settings.hired_only)))
    limits = checks.Limits.from_settings(settings.attendance)
    current = {c: checks.Figures(int(o), int(o) + int(h)) for c, o, h in zip(
        codes, table.column("overtime_minutes"), table.column("legal_holiday_work_minutes"), strict=True)}
    wanted = checks.history_months(month, limits)
    past = checks.history_index(ledger.monthly_history(wanted))
    missing = checks.missing_months(month, limits, ledger.monthly_months(wanted))
    result.problems.extend(checks.missing_history(month, limits, ledger.monthly_months(wanted)))
    law = checks.labour_law_problems(month, current, past, limits)
    result.problems.extend(law)
    leave_problems, leave_part = paid_leave_check(client, directory, employees, settings.clock.today(),
                                                  paid_leave_codes=settings.attendance.paid_leave_codes,
                                                  start_month=limits.fiscal_year_start_month)
    result.problems.extend(leave_problems)
    # every target keeps the month in the ledger: a closed month that comes back different is a correction
    fixed, changes = checks.corrections(month, table.rows(), ledger.monthly(month))
    result.problems.extend(fixed)
    result.sections["attendance"] = attendance_section(month, is_closed, table, law, current, changes, limits,
                                                       missing=missing, paid_leave=leave_part)
    return is_closed


def _plan(book: Any, options: ImportOptions) -> tuple[str, str, list[Column]]:
    """Target, encoding and CSV columns; every workbook problem that blocks them → InputError."""
    s = book.settings
    problems: list[Problem] = []
    target = (options.to or s.attendance_output or "csv").lower()
    if target not in TARGETS:
        problems.append(Problem.of("invalid-setting", sheet=SHEET_SETTINGS, cell=s.cells.get("attendance_output", ""),
                                   item="勤怠データ出力先", value=s.attendance_output,
                                   hint="CSV または 台帳 を選んでください。"))
    word = str(options.encoding or s.csv_encoding or "cp932").strip().lower()
    encoding = ENCODINGS.get(word) or ENCODINGS.get(word.replace("-", "_")) or ENCODINGS.get(word.replace("_", "-"))
    if encoding is None:
        problems.append(Problem.of("invalid-setting", sheet=SHEET_SETTINGS, cell=s.cells.get("csv_encoding", ""),
                                   item="勤怠CSV文字コード", value=s.csv_encoding,
                                   hint="Shift_JIS または UTF-8 を選んでください。"))
    columns: list[Column] = []
    if target == "csv":
        problems.extend(p for p in getattr(book, "read_problems", ())
                        if p.severity == ERROR and p.sheet == SHEET_OUTPUT)
        if book.output_columns:
            columns, found = resolve_columns(book.output_columns)
            problems.extend(found)
            if not columns and not found:
                problems.append(Problem.of("unknown-output-item", sheet=SHEET_OUTPUT, cell="B2", value="",
                                           severity=ERROR))
        else:
            columns = default_columns()
    errors = [p for p in problems if p.severity == ERROR]
    if errors:
        raise InputError(f"ブックに {len(errors)} 件のエラーがあるため勤怠を取り込みません。最初のエラー: "
                         f"{errors[0].line()}", problems)
    return target, encoding or "cp932", columns


def _out_path(settings: Any, out: str | None, month: str) -> Path:
    if out:
        return from_cwd(out)
    return csv_path(settings.path("output"), month)


def _render_csv(result: RunResult, table: MonthTable, columns: list[Column], encoding: str, replace: bool) -> bytes:
    """The CSV's bytes; a cell the encoding cannot hold is an InputError (nothing written) unless ``replace``."""
    frame = build_frame(table, columns)
    codes = table.column("employee_code")
    try:
        data, replaced = render_csv(frame, encoding, replace=replace)
    except UnencodableError as e:
        problems = bad_cell_problems(e.cells, codes, encoding, replaced=False)
        raise InputError(f"{encoding_label(encoding)} で保存できない文字が {len(e.cells)} か所にあるため、CSV を"
                         f"書き込みませんでした。最初の箇所: {problems[0].line()}", problems) from None
    result.problems.extend(bad_cell_problems(replaced, codes, encoding, replaced=True))
    return data


def _publish_csv(result: RunResult, path: Path, data: bytes) -> None:
    """Atomically (temp file, then rename), owner-only."""
    try:
        write_bytes(path, data)
    except OSError as e:
        raise UsageError(f"CSV を書き込めませんでした: {path} ({e.strerror or e})。出力先フォルダーと"
                         "書き込み権限を確認してください (--out で出力先を変えられます)。") from None
    result.outputs.append(str(path))


def _preview(result: RunResult, table: MonthTable, columns: list[Column], target: str, where: str,
             encoding: str, say: Callable[[str], None]) -> None:
    """What would be written: target, row count and the first rows as CSV lines."""
    head = MonthTable(table.month, {k: v[:PREVIEW_ROWS] for k, v in table.columns.items()})
    frame = build_frame(head, columns)
    lines = [",".join(str(h) for h in frame.columns)]
    lines += [",".join(str(v) for v in row) for row in frame.itertuples(index=False, name=None)]
    label = f"CSV ({encoding_label(encoding)})" if target == "csv" else "台帳"
    result.sections["attendance"]["preview"] = {"target": where, "rows": len(table), "lines": lines}
    say(f"[dry-run] {table.month} の勤怠 {len(table)} 名を {label} {where} に書き込む予定です (書き込みはしていません)。")
    for line in lines:
        say("  " + line)
    if len(table) > PREVIEW_ROWS:
        say(f"  … ほか {len(table) - PREVIEW_ROWS} 行")

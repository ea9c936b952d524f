"""The RunResult model → result.json and errors.csv (DESIGN § result.json).

One RunResult per job. Its status follows its exit code: 0 success (正常終了), 1 partial
(一部エラー), anything else failed (異常終了). ``sections`` carries extra material for the
HTML page (the plan's future-dated queue, the attendance summary, the labour-law alerts…).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.errors import ERROR, ExitCode, Problem, cap_problems, is_labour_law
from etl.fileio import private_dir, write_bytes, write_text
from etl.records import RowResult
from etl.report.labels import job_label
from etl.text import neutralise

STATUS_LABELS = {"success": "正常終了", "partial": "一部エラー", "failed": "異常終了", "interrupted": "中断"}
ACTIONS = ("create", "update", "retire", "unchanged", "skip", "error")
RESULTS = ("ok", "failed", "planned")


@dataclass
class RunResult:
    job: str
    started_at: dt.datetime
    run_id: str = ""
    dry_run: bool = False
    finished_at: dt.datetime | None = None
    exit_code: int = ExitCode.SUCCESS
    problems: list[Problem] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # workbook path, month, base URL, error line…
    # counts a job sets itself when its rows are not employees (an import: employee-months
    # written / not written); they replace the counts taken from the rows
    tallies: dict[str, int] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # more files for the report folder: name → bytes
    # result.json "import": the month an import (import-attendance, or `run` when it imported) was for
    # and where it went: {"month": "2026-10", "target": "csv" | "ledger" | None, "path": CSV path | None}
    imported: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.run_id:
            self.run_id = f"{self.started_at:%Y%m%d-%H%M%S}-{self.job}"

    @property
    def status(self) -> str:
        if self.exit_code == ExitCode.SUCCESS:
            return "success"
        if self.exit_code == ExitCode.INTERRUPTED:
            return "interrupted"
        return "partial" if self.exit_code == ExitCode.PARTIAL else "failed"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def counts(self) -> dict[str, int]:
        """counts of result.json: total, succeeded, failed, created, updated, retired, unchanged,
        skipped, not_run. ``succeeded`` is what the API or the database confirmed (a dry run confirms
        nothing; a row planned but never sent because the run stopped is 未実行, ``not_run``);
        ``tallies`` set by the job win over the counts taken from the rows."""
        c = dict.fromkeys(COUNT_KEYS, 0)
        for r in self.rows:
            c["total"] += 1
            if is_failed(r):
                c["failed"] += 1
                continue
            if r.result == "planned" and not self.dry_run:  # planned but never sent (the run stopped): 未実行
                c["not_run"] += 1
                continue
            if r.result == "ok" and r.action in SUCCEEDED_ACTIONS:
                c["succeeded"] += 1
            if r.action in ROW_COUNT_KEYS:
                c[ROW_COUNT_KEYS[r.action]] += 1
        c.update({k: int(v) for k, v in self.tallies.items()})
        return c

    def failed_rows(self) -> list[RowResult]:
        return [r for r in self.rows if is_failed(r)]

    def row_problems(self) -> list[Problem]:
        """A catalogue problem for each failed row that no error problem already names (a row the
        API refused becomes ``api-row-failed``), so failed rows are among the problems too."""
        named = {p.employee_code for p in self.problems if p.severity == ERROR and p.employee_code}
        return [row_problem(r) for r in self.failed_rows() if r.employee_code not in named]

    def all_problems(self) -> list[Problem]:
        """Every problem of the run, failed rows included: what the banner, errors.csv, the mail
        and result.json count."""
        return [*self.problems, *self.row_problems()]

    def error_count(self) -> int:
        return sum(p.severity == ERROR for p in self.all_problems())

    @property
    def job_label(self) -> str:
        return job_label(self.job)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "status": self.status,
            "status_label": self.status_label,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": (self.finished_at or self.started_at).isoformat(timespec="seconds"),
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "problems": [
                {"severity": p.severity, "code": p.code, "sheet": p.sheet, "cell": p.cell,
                 "employee_code": p.employee_code, "message": p.message}
                for p in cap_problems(self.all_problems())  # the first 100 of a code, then a count
            ],
            "rows": [r.to_dict() for r in self.rows],
            "outputs": list(self.outputs),
            "import": dict(self.imported) or None,
        }

    def headline(self) -> str:
        """The counts as HR reads them: 「成功 120件 / 失敗 1件」 (a dry run: 予定 … / エラー …)."""
        c = self.counts()
        if self.job == "reconcile":  # its rows are findings, not writes
            return f"差異 {len(self.rows):,}件 (書き込みなし)"
        if self.dry_run:
            planned = sum(1 for r in self.rows if r.result == "planned") if self.rows else c["total"]
            return f"予定 {planned:,}件 / エラー {c['failed']:,}件 (送信していません)"
        return f"成功 {c['succeeded']:,}件 / 失敗 {c['failed']:,}件"

    def summary_line(self) -> str:
        """One line for the terminal, e.g. 「状況: 正常終了 成功 120件 / 失敗 0件 (作成 3・更新 1・…)」."""
        c = self.counts()
        problems = [p for p in self.all_problems() if not is_labour_law(p.code)]
        errors = sum(p.severity == ERROR for p in problems)
        law = len({p.employee_code for p in self.problems if is_labour_law(p.code)})
        line = f"状況: {self.status_label}"
        if self.rows or self.tallies:  # a job without rows (validate) has nothing to count
            line += f" {self.headline()}"
        if self.rows and self.job != "reconcile":
            line += (f" (作成 {c['created']}・更新 {c['updated']}・退職 {c['retired']}・変更なし {c['unchanged']}"
                     f"・対象外 {c['skipped']}" + (f"・未実行 {c['not_run']}" if c["not_run"] else "") + ")")
        line += f" エラー {errors}件 警告 {len(problems) - errors}件"
        return line + (f" 労働時間・年休の指摘 {law}名" if law else "")

    def failure_line(self, report_path: Path | str) -> str | None:
        """The stderr line of a partial failure (exit 1): the counts and the report; None otherwise."""
        if self.exit_code != ExitCode.PARTIAL:
            return None
        return f"一部エラー: {self.job_label} {self.headline()} — 詳細: {report_path}"


COUNT_KEYS = ("total", "succeeded", "failed", "created", "updated", "retired", "unchanged", "skipped", "not_run")
ROW_COUNT_KEYS = {"create": "created", "update": "updated", "retire": "retired", "unchanged": "unchanged",
                  "skip": "skipped"}
SUCCEEDED_ACTIONS = ("create", "update", "retire", "unchanged")
ACTION_WORDS = {"create": "新規登録", "update": "更新", "retire": "退職の登録", "unchanged": "処理",
                "skip": "処理", "error": "処理"}


def is_failed(row: RowResult) -> bool:
    return row.result == "failed" or row.action == "error"


def row_problem(row: RowResult) -> Problem:
    """The catalogue problem of a row that failed at the API."""
    name = f" {row.name}" if row.name else ""
    return Problem.of("api-row-failed", employee_code=row.employee_code, value=(row.message or "理由不明").rstrip("。"),
                      name=name, what=ACTION_WORDS.get(row.action, "処理"))


ERRORS_CSV_HEADER = ("重要度", "コード", "シート", "セル", "従業員番号", "内容")


def errors_csv(result: RunResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ERRORS_CSV_HEADER)
    for p in cap_problems(result.all_problems()):  # the first 100 of a code, then a count
        w.writerow([neutralise(v) for v in ("エラー" if p.severity == ERROR else "警告", p.code,
                                            p.sheet, p.cell, p.employee_code, p.message)])
    return buf.getvalue()


def run_dir(reports_dir: Path, result: RunResult) -> Path:
    """reports/<run_id>/, made unique when two runs start in the same second."""
    private_dir(reports_dir)
    base = reports_dir / result.run_id
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = reports_dir / f"{result.run_id}-{n}"
    result.run_id = candidate.name
    return private_dir(candidate)


def write_result_files(result: RunResult, folder: Path) -> list[Path]:
    """result.json (always) and errors.csv (when there are problems or failed rows)."""
    written = []
    needs_errors = bool(result.all_problems())
    if needs_errors:
        p = folder / "errors.csv"
        write_bytes(p, errors_csv(result).encode("utf-8-sig"))
        written.append(p)
    for name, data in result.files.items():
        p = folder / name
        write_bytes(p, data)
        written.append(p)
        if str(p) not in result.outputs:
            result.outputs.append(str(p))
    p = folder / "result.json"
    write_text(p, json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")
    written.append(p)
    return written

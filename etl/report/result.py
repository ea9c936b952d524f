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

from etl.errors import ERROR, ExitCode, Problem, cap_problems
from etl.fileio import private_dir, write_bytes, write_text
from etl.records import RowResult
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
    files: dict[str, bytes] = field(default_factory=dict)  # more files for the report folder: name → bytes

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
        c = dict.fromkeys(("total", "created", "updated", "retired", "unchanged", "skipped", "failed", "not_run"), 0)
        for r in self.rows:
            c["total"] += 1
            if r.result == "failed" or r.action == "error":
                c["failed"] += 1
            elif r.result == "planned" and not self.dry_run:  # planned but never sent (the run stopped): 未実行
                c["not_run"] += 1
            elif r.action == "create":
                c["created"] += 1
            elif r.action == "update":
                c["updated"] += 1
            elif r.action == "retire":
                c["retired"] += 1
            elif r.action == "unchanged":
                c["unchanged"] += 1
            elif r.action == "skip":
                c["skipped"] += 1
        return c

    def error_count(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

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
                for p in cap_problems(self.problems)  # the first 100 of a code, then a count
            ],
            "rows": [r.to_dict() for r in self.rows],
            "outputs": list(self.outputs),
        }

    def summary_line(self) -> str:
        """One line for the terminal, e.g. 「状況: 正常終了 成功 120件 失敗 0件 (作成 3・更新 1・…)」."""
        c = self.counts()
        errors = self.error_count()
        warnings = len(self.problems) - errors
        if self.job == "reconcile":  # its rows are findings, not writes
            return f"状況: {self.status_label} 差異 {len(self.rows)}件 (書き込みなし) エラー {errors}件 警告 {warnings}件"
        if not self.rows:
            return f"状況: {self.status_label} エラー {errors}件 警告 {warnings}件"
        detail = (f"作成 {c['created']}・更新 {c['updated']}・退職 {c['retired']}・変更なし {c['unchanged']}"
                  f"・対象外 {c['skipped']}" + (f"・未実行 {c['not_run']}" if c["not_run"] else ""))
        if self.dry_run:
            return f"状況: {self.status_label} (ドライラン: 送信なし) 予定 {detail} / エラー {c['failed']}件"
        ok = sum(1 for r in self.rows if r.result == "ok" and r.action in ("create", "update", "retire", "unchanged"))
        return f"状況: {self.status_label} 成功 {ok}件 失敗 {c['failed']}件 ({detail})"


ERRORS_CSV_HEADER = ("重要度", "コード", "シート", "セル", "従業員番号", "内容")


def errors_csv(result: RunResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ERRORS_CSV_HEADER)
    for p in cap_problems(result.problems):  # the first 100 of a code, then a count
        w.writerow([neutralise(v) for v in ("エラー" if p.severity == ERROR else "警告", p.code,
                                            p.sheet, p.cell, p.employee_code, p.message)])
    for r in result.rows:
        if r.result == "failed" or r.action == "error":
            w.writerow([neutralise(v) for v in ("エラー", f"row-{r.action}", "", "", r.employee_code, r.message)])
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
    needs_errors = bool(result.problems) or any(r.result == "failed" or r.action == "error" for r in result.rows)
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

"""HR's words for what the code calls by internal names: job names, actions, results, fields.

One mapping each, used by the report, the index, the mail subject and the terminal lines, so a
job is 「従業員の同期」 everywhere and never ``sync-employees``.
"""
from __future__ import annotations

from typing import Any

JOB_LABELS = {
    "run": "一括実行 (夜間バッチ)",
    "sync-employees": "従業員の同期",
    "pull-employees": "従業員の取込 (勤怠→台帳)",
    "import-attendance": "勤怠データの取込",
    "validate": "ブックの検証",
    "reconcile": "台帳と勤怠の突き合わせ",
    "ledger-load": "台帳の読込",
    "ledger-export": "台帳の書出し",
    "template": "ブックの作成・更新",
    "demo": "デモ",
    "test-connection": "接続テスト",
    "schedule": "スケジュール実行",
}
GENDER_LABELS = {"male": "男性", "female": "女性"}
IMPORT_TARGET_LABELS = {"csv": "CSV", "ledger": "台帳"}  # where an imported month went, as HR reads it


def job_label(job: Any) -> str:
    """「従業員の同期」 for ``sync-employees``; an unknown job keeps its own name."""
    return JOB_LABELS.get(str(job), str(job))


def gender_label(value: Any) -> Any:
    return GENDER_LABELS.get(value, value) if isinstance(value, str) else value


def names_section(divisions: dict[str, str], working_types: dict[str, str]) -> dict[str, dict[str, str]]:
    """result.sections["names"]: field → {code: name}, so the report shows 「1000 本社」, not 1000."""
    return {"divisionCode": dict(divisions), "typeCode": dict(working_types)}


def run_label(job: Any, imported: Any) -> str:
    """The index's name of a run: the job in HR's words, and for a run that imported attendance
    the month and where it went (result.json "import"): 「勤怠データの取込 2026-10 → CSV」,
    「一括実行 (夜間バッチ) · 勤怠 2026-10 → 台帳」."""
    label = job_label(job)
    if not isinstance(imported, dict) or not imported.get("month"):
        return label
    what = str(imported["month"])
    target = imported.get("target")
    if target:
        what += f" → {IMPORT_TARGET_LABELS.get(str(target), str(target))}"
    return f"{label} {what}" if str(job) == "import-attendance" else f"{label} · 勤怠 {what}"

"""The reconcile report pieces: the differences CSV (opens in Excel), the summary line, and the
short section the nightly run adds (pure; they take ``Reconciliation.section()``'s plain data)."""
from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from etl.report.labels import gender_label
from etl.text import neutralise

CSV_NAME = "照合結果.csv"
CSV_HEADER = ("種類", "従業員番号", "氏名", "項目", "台帳の値", "勤怠の値", "変更した側", "適用日", "説明", "kind")
SUMMARY_LIMIT = 50  # differences listed in the nightly report (the first 200 of a kind are in `reconcile`'s own)
PAGE_LIMIT = 200  # differences of one kind listed in reconcile's report.html; every one is in the CSV and result.json


def differences_csv(section: dict[str, Any]) -> bytes:
    """UTF-8 with BOM and CRLF (Excel opens it as is); every cell guarded against formulas."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for d in section.get("differences") or []:
        shown = gender_label if d.get("field") == "gender" else _same  # 男性 / 女性, as the report says
        w.writerow([neutralise(v) for v in (
            d.get("kind_label"), d.get("employee_code"), d.get("name"), d.get("field_label"), shown(d.get("ledger")),
            shown(d.get("attendance")), d.get("side_label"), d.get("effective_date"), d.get("reason"), d.get("kind"))])
    return buf.getvalue().encode("utf-8-sig")


def _same(value: Any) -> Any:
    return value


def summary_line(section: dict[str, Any]) -> str:
    """「照合: 差異 5 件 (台帳のみ 1・項目の違い 4)」 or 「照合: 差異なし (比較 120 名)」."""
    counts, kinds = section.get("counts") or {}, section.get("kinds") or {}
    total = sum(counts.values())
    if not total:
        return f"照合: 差異なし (台帳 {section.get('ledger', 0):,} 名・勤怠 {section.get('attendance', 0):,} 名)"
    detail = "・".join(f"{kinds.get(k, k)} {n:,}" for k, n in counts.items() if n)
    return f"照合: 差異 {total:,} 件 ({detail})"


def nightly_section(section: dict[str, Any], limit: int = SUMMARY_LIMIT) -> dict[str, Any]:
    """The nightly report's summary: the counts and the first ``limit`` differences (said when cut)."""
    diffs = list(section.get("differences") or [])
    not_compared = list(section.get("not_compared") or [])
    return section | {"differences": diffs[:limit], "cut": max(0, len(diffs) - limit),
                      "not_compared": not_compared[:limit], "not_compared_cut": max(0, len(not_compared) - limit),
                      "summary": summary_line(section)}


def page_section(section: dict[str, Any] | None, csv_name: str = "",
                 limit: int = PAGE_LIMIT) -> dict[str, Any] | None:
    """report.html's 照合 section: the kinds with their counts, in HR's order, then the first
    ``limit`` rows of each kind (``kind_cuts`` says how many more each kind has and ``csv_name``, the
    differences CSV beside the page, holds them all), then every employee not compared, by code (the
    nightly summary cut them: ``nightly_section``)."""
    if not section:
        return None
    counts, kinds = section.get("counts") or {}, section.get("kinds") or {}
    shown: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for d in section.get("differences") or []:
        kind = str(d.get("kind", ""))
        n = seen[kind] = seen.get(kind, 0) + 1
        if n <= limit:
            shown.append(d)
    return section | {"cards": [(kinds.get(k, k), n) for k, n in counts.items()],
                      "summary": section.get("summary") or summary_line(section),
                      "differences": shown,
                      "kind_cuts": [(kinds.get(k, k), limit, n - limit) for k, n in seen.items() if n > limit],
                      "csv": csv_name, "csv_href": quote(csv_name),
                      "cut": section.get("cut", 0), "not_compared": list(section.get("not_compared") or []),
                      "not_compared_cut": section.get("not_compared_cut", 0)}

"""`template --refresh`: bring an HR-edited workbook up to date with the live masters and the ledger.

Keeps every value and comment HR entered; rewrites the hidden マスタ sheet and every dropdown
(re-applied on every save: openpyxl drops some list validations on a round trip); adds missing
sheets, headers and setting rows from the template; appends a highlighted row for each ledger
department and employee class not yet on its mapping sheet (pale blue 「…を入力してください」, or pale
green 「同じコードの所属 … に自動で連携されます」 when the resolver's same-code/same-name step already
links it); keeps a timestamped backup.
"""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.attendance.items import workbook_items
from etl.records import Masters
from etl.text import formula_cells, sheet_text
from etl.workbook import cells, layout
from etl.workbook.howto import SETTING_HELP
from etl.workbook.model import HEADERS, SETTING_ITEMS, SHEET_DIVISIONS, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.names import AUTO_NOTE, describe_added_rows, fill_names, settle_added_rows
from etl.workbook.opening import open_workbook
from etl.workbook.template import DATA_SHEETS, write_fields


@dataclass
class RefreshResult:
    path: Path
    backup: Path | None
    added_departments: list[str] = field(default_factory=list)
    added_classes: list[str] = field(default_factory=list)
    # of the added rows, those the same code or name links automatically (their note says so)
    auto_departments: list[str] = field(default_factory=list)
    auto_classes: list[str] = field(default_factory=list)


def refresh(path: Path, masters: Masters, departments: dict[str, str], classes: list[str], now: dt.datetime,
            *, dest: Path | None = None, backup_dir: Path | None = None) -> RefreshResult:
    """Refresh the workbook at ``path`` into ``dest`` (default: in place, after a backup). The
    backup goes to ``backup_dir`` (e.g. reports/backups, outside the tracked tree) or beside the
    file."""
    path = Path(path)
    dest = Path(dest) if dest is not None else path
    with open_workbook(path, read_only=False) as wb:
        hr_formulas = frozenset(formula_cells(wb))
        _ensure_sheets(wb)
        added_departments = _append_missing(wb[SHEET_DIVISIONS], HEADERS[SHEET_DIVISIONS], departments, now,
                                            "勤怠所属コード")
        added_classes = _append_missing(wb[SHEET_TYPES], HEADERS[SHEET_TYPES], dict.fromkeys(classes, ""), now,
                                         "勤怠雇用区分コード")
        settle_added_rows(wb)  # rows added earlier whose code HR has filled since
        automatic = describe_added_rows(wb, masters)  # 「…に自動で連携されます」 or 「…を入力してください」
        _ensure_settings(wb[SHEET_SETTINGS])
        fill_names(wb, masters)
        for sheet in DATA_SHEETS:
            layout.style_sheet(wb[sheet], sheet, widths=False)
        ranges = layout.write_master(wb, layout.Lists(dict(masters.divisions), dict(masters.working_types),
                                                      dict(departments), list(classes), workbook_items()))
        layout.apply_validations(wb, ranges)
    backup = None
    if dest.exists():
        backup = _backup_path(dest, now, backup_dir)
        shutil.copy2(dest, backup)
    layout.save_workbook(wb, dest, now, keep_formulas=hr_formulas)
    if backup is not None:
        shutil.copymode(backup, dest)
    return RefreshResult(dest, backup, added_departments, added_classes,
                         [k for k in added_departments if k in automatic[SHEET_DIVISIONS]],
                         [k for k in added_classes if k in automatic[SHEET_TYPES]])


def _backup_path(path: Path, now: dt.datetime, folder: Path | None = None) -> Path:
    from etl.fileio import private_dir

    where = private_dir(Path(folder)) if folder is not None else path.parent
    base = f"{path.stem}.{now:%Y%m%d-%H%M%S}.bak"
    candidate, n = where / (base + path.suffix), 1
    while candidate.exists():
        n += 1
        candidate = where / f"{base}-{n}{path.suffix}"
    return candidate


def _ensure_sheets(wb: Any) -> None:
    """Add a missing data sheet (with its header) and missing header labels (at the end of row 1)."""
    by_label = {cells.norm_label(name): name for name in wb.sheetnames}
    for index, sheet in enumerate(DATA_SHEETS, start=1):
        actual = by_label.get(cells.norm_label(sheet))
        if actual is None:
            ws = wb.create_sheet(sheet, index=min(index, len(wb.sheetnames)))
            ws.append(list(HEADERS[sheet]))
            if sheet == "連携項目":
                write_fields(ws)
            continue
        if actual != sheet:
            wb[actual].title = sheet
        ws = wb[sheet]
        have = layout.header_columns(ws)
        col = max((c.column for c in ws[1] if c.value not in (None, "")), default=0) + 1
        for label in HEADERS[sheet]:
            if cells.norm_label(label) not in have:
                ws.cell(1, col, label)
                col += 1


def _ensure_settings(ws: Any) -> None:
    cols = layout.header_columns(ws)
    item_col = cols.get(cells.norm_label("項目"), "A")
    value_col = cols.get(cells.norm_label("値"), "B")
    help_col = cols.get(cells.norm_label("説明"), "C")
    present = set()
    last = layout.last_used_row(ws)
    for row in range(2, last + 1):
        value = ws[f"{item_col}{row}"].value
        if isinstance(value, str):
            present.add(cells.norm_label(value))
    for label, (_key, default) in SETTING_ITEMS.items():
        if cells.norm_label(label) in present:
            continue
        last += 1
        ws[f"{item_col}{last}"] = label
        ws[f"{value_col}{last}"] = default or None
        ws[f"{help_col}{last}"] = SETTING_HELP[label]
        for letter in (item_col, value_col, help_col):
            ws[f"{letter}{last}"].fill = layout.ADDED_FILL


def _append_missing(ws: Any, headers: tuple[str, ...], wanted: dict[str, str], now: dt.datetime,
                    target_label: str) -> list[str]:
    """Append a highlighted row for each key of ``wanted`` not yet in the sheet's first column."""
    cols = layout.header_columns(ws)
    key_col = cols[cells.norm_label(headers[0])]
    name_col = cols.get(cells.norm_label(headers[1])) if headers[1].endswith("名") else None
    note_col = cols.get(cells.norm_label("備考"))
    last = layout.last_used_row(ws)
    present = set()
    for row in range(2, last + 1):
        present.add(_key(ws[f"{key_col}{row}"].value))
    added = []
    letters = sorted(cols.values(), key=lambda s: (len(s), s))
    for key, name in wanted.items():
        key = _key(key)
        if not key or key in present:
            continue
        present.add(key)
        last += 1
        while ws[f"{key_col}{last}"].value not in (None, ""):  # rows past a blank run: never written over
            last += 1
        cell = ws[f"{key_col}{last}"]
        cell.value = sheet_text(key)
        cell.number_format = "@"
        if name_col and name:
            ws[f"{name_col}{last}"] = sheet_text(name)
        if note_col:
            ws[f"{note_col}{last}"] = f"{now:%Y-%m-%d} {AUTO_NOTE}{target_label}を入力してください"
        for letter in letters:
            ws[f"{letter}{last}"].fill = layout.ADDED_FILL
        added.append(key)
    return added


def _key(value: Any) -> str:
    """A mapping key as text; one the cell rules refuse (a ledger class "=1+1") is kept as its text,
    written as a text cell, so the validator names it instead of refresh failing."""
    try:
        return cells.code(value)
    except cells.CellError:
        return "" if value is None else str(value).strip()

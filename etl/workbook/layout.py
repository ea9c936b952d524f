"""How the workbook looks and guides input: the hidden マスタ lists, dropdowns (list validations
with Japanese input messages), header styles, widths, text-formatted code columns, and a
deterministic save. Used by the template builder, the refresh and the annotated copy.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation, DataValidationList

from etl.fileio import atomic_open
from etl.text import sheet_text, text_cells
from etl.workbook.cells import choice_label, norm_label
from etl.workbook.howto import PROMPTS
from etl.workbook.model import (
    OUTPUT_FORMATS,
    RECONCILE_SCHEDULES,
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_MASTER,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
    SYNC_FIELDS,
)
from etl.workbook.read import BLANK_RUN

LAST_ROW = 1048576
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)  # template properties and zip entries: reproducible bytes

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
REQUIRED_FILL = PatternFill("solid", fgColor="E7E6E6")
# rows the refresh added for HR to fill: pale blue, far from the warning yellow (FFEB9C) of the annotated copy
ADDED_FILL = PatternFill("solid", fgColor="DDEBF7")
# rows the refresh added that need nothing (the same code or name links them automatically): pale green
AUTO_FILL = PatternFill("solid", fgColor="E2EFDA")
THIN = Side(style="thin", color="A6A6A6")
HEADER_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")

# header label → column width, per data sheet
WIDTHS: dict[str, dict[str, float]] = {
    SHEET_SETTINGS: {"項目": 32, "値": 30, "説明": 90},
    SHEET_FIELDS: {"本体項目": 16, "勤怠項目": 22, "連携する": 12, "必須": 8},
    SHEET_DIVISIONS: {"本体部署コード": 16, "本体部署名": 26, "勤怠所属コード": 16, "勤怠所属名": 26, "備考": 50},
    SHEET_TYPES: {"本体社員区分": 18, "勤怠雇用区分コード": 20, "勤怠雇用区分名": 24, "備考": 50},
    SHEET_OVERRIDES: {"従業員番号": 14, "氏名": 20, "勤怠所属コード": 16, "勤怠雇用区分コード": 20, "異動日": 14,
                      "連携除外": 10, "備考": 40, "旧従業員番号": 14},
    SHEET_OUTPUT: {"出力列名": 22, "勤怠データ項目": 22, "形式": 14, "出力する": 10},
}
# columns whose cells are text ("@") so leading zeros survive
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    SHEET_SETTINGS: ("値",),
    SHEET_DIVISIONS: ("本体部署コード", "勤怠所属コード"),
    SHEET_TYPES: ("本体社員区分", "勤怠雇用区分コード"),
    SHEET_OVERRIDES: ("従業員番号", "勤怠所属コード", "勤怠雇用区分コード", "旧従業員番号"),
}
DATE_COLUMNS: dict[str, tuple[str, ...]] = {SHEET_OVERRIDES: ("異動日",)}

# sheet → header label → list name (dropdowns on the whole column below the header)
COLUMN_LISTS: dict[str, dict[str, str]] = {
    SHEET_FIELDS: {"本体項目": "fields", "連携する": "yes_no"},
    SHEET_DIVISIONS: {"本体部署コード": "departments", "勤怠所属コード": "divisions"},
    SHEET_TYPES: {"本体社員区分": "classes", "勤怠雇用区分コード": "types"},
    SHEET_OVERRIDES: {"勤怠所属コード": "divisions", "勤怠雇用区分コード": "types", "異動日": "date", "連携除外": "yes_no"},
    SHEET_OUTPUT: {"勤怠データ項目": "items", "形式": "formats", "出力する": "yes_no"},
}
# 設定 item label → list name (dropdown on that row's 値 cell)
SETTING_LISTS: dict[str, str] = {
    "入社年月日登録者のみ連携": "yes_no",
    "ビジネスネームを姓名として連携": "yes_no",
    "連携結果通知メールアドレス": "emails",
    "自動連携": "do_dont",
    "自動連携時刻": "time",
    "既定の勤怠所属コード": "divisions",
    "既定の勤怠雇用区分コード": "types",
    "勤怠データ出力先": "outputs",
    "勤怠CSV文字コード": "encodings",
    "勤怠データ自動取込日": "day",
    "照合レポート": "reconcile",
}
PROMPT_ONLY = {"emails", "time"}  # an input message, no restriction


@dataclass
class Lists:
    """What the dropdowns offer. Code lists come from the live masters and the ledger."""

    divisions: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    departments: dict[str, str] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    items: dict[str, str] = field(default_factory=dict)

    def columns(self) -> list[tuple[str, str, list[str], str, list[str]]]:
        """(list name, header, values, name header, names) in マスタ column order (a gap between)."""
        return [
            # the dropdowns offer 「1000 本社」: HR picks by name, the reader takes the code part
            ("divisions", "勤怠所属コード", [choice_label(c, n) for c, n in self.divisions.items()],
             "勤怠所属名", list(self.divisions.values())),
            ("types", "勤怠雇用区分コード", [choice_label(c, n) for c, n in self.types.items()],
             "勤怠雇用区分名", list(self.types.values())),
            ("departments", "本体部署コード", list(self.departments), "本体部署名", list(self.departments.values())),
            ("classes", "本体社員区分", list(self.classes), "", []),
            ("yes_no", "はい/いいえ", ["はい", "いいえ"], "", []),
            ("do_dont", "する/しない", ["する", "しない"], "", []),
            ("encodings", "文字コード", ["Shift_JIS", "UTF-8"], "", []),
            ("outputs", "出力先", ["CSV", "台帳"], "", []),
            ("formats", "形式", list(OUTPUT_FORMATS), "", []),
            ("fields", "本体項目", list(SYNC_FIELDS), "", []),
            ("items", "勤怠データ項目", list(self.items), "説明", list(self.items.values())),
        ]


def write_master(wb: Any, lists: Lists) -> dict[str, str]:
    """(Re)write the hidden マスタ sheet as the last sheet; list name → range formula."""
    if SHEET_MASTER in wb.sheetnames:
        wb.remove(wb[SHEET_MASTER])
    ws = wb.create_sheet(SHEET_MASTER)
    ws.sheet_state = "hidden"
    ranges: dict[str, str] = {}
    col = 1
    for name, header, values, name_header, names in lists.columns():
        letter = get_column_letter(col)
        ws.cell(1, col, header).font = Font(bold=True)
        ws.column_dimensions[letter].width = 18
        for r, v in enumerate(values, start=2):
            ws.cell(r, col, sheet_text(v)).number_format = "@"
        if values:
            ranges[name] = f"'{SHEET_MASTER}'!${letter}${2}:${letter}${len(values) + 1}"
        if name_header:
            ws.cell(1, col + 1, name_header).font = Font(bold=True)
            ws.column_dimensions[get_column_letter(col + 1)].width = 24
            for r, v in enumerate(names, start=2):
                ws.cell(r, col + 1, sheet_text(v))
            col += 1
        col += 2
    ws.freeze_panes = "A2"
    return ranges


def text_width(text: str) -> int:
    """Display width in Excel column units: East Asian wide characters count 2."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit_height(ws: Any, row: int, texts: list[tuple[Any, float]], line: float = 15.0) -> None:
    """Set the height of ``row`` so each (text, column width) shows wrapped (Excel does not
    re-measure wrapped rows written by openpyxl)."""
    lines = 1
    for text, width in texts:
        per_line = max(int(width * 1.15), 1)
        n = sum(max(1, -(-text_width(part) // per_line)) for part in str(text or "").split("\n"))
        lines = max(lines, n)
    if lines > 1:
        ws.row_dimensions[row].height = line * lines + 2


def print_setup(ws: Any, *, landscape: bool = True, title_row: bool = True) -> None:
    """Print on A4, one page wide, the header repeated on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_row:
        ws.print_title_rows = "1:1"


def header_columns(ws: Any) -> dict[str, str]:
    """Normalised header label → column letter, from row 1."""
    out: dict[str, str] = {}
    for cell in ws[1]:
        if isinstance(cell.value, str) and cell.value.strip():
            out.setdefault(norm_label(cell.value), cell.column_letter)
    return out


def last_used_row(ws: Any) -> int:
    """The last row holding a value (ws.max_row also counts rows that only have formatting), not
    counting what lies beyond a run of BLANK_RUN empty rows (the reader stops there too): a stray
    value in XFD1048576 must not make every writer walk, style and save a million rows. Found from
    the cells the sheet holds, creating none (``ws[row]`` creates a whole row of cells)."""
    held = getattr(ws, "_cells", None)
    if held is None:  # a read-only sheet
        for row in range(ws.max_row, 1, -1):
            if any(c.value not in (None, "") for c in ws[row]):
                return row
        return 1
    last = 1
    for row in sorted({r for (r, _c), cell in held.items() if r > 1 and cell.value not in (None, "")}):
        if row - last > BLANK_RUN:
            break
        last = row
    return last


def style_sheet(ws: Any, sheet: str, *, widths: bool = True) -> None:
    """Header look, frozen row 1, widths, text-formatted code columns and date columns."""
    ws.freeze_panes = "A2"
    for cell in ws[1]:
        if cell.value is None:
            continue
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    cols = header_columns(ws)
    if widths:
        for label, width in WIDTHS.get(sheet, {}).items():
            letter = cols.get(norm_label(label))
            if letter:
                ws.column_dimensions[letter].width = width
    last = last_used_row(ws)
    for formats, number_format in ((TEXT_COLUMNS, "@"), (DATE_COLUMNS, "yyyy-mm-dd")):
        for label in formats.get(sheet, ()):
            letter = cols.get(norm_label(label))
            if not letter:
                continue
            ws.column_dimensions[letter].number_format = number_format
            for row in range(2, last + 1):
                cell = ws[f"{letter}{row}"]
                if number_format == "@" and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    continue  # a number HR typed stays a number (the reader reads it as text anyway)
                cell.number_format = number_format


def _validation(name: str, ranges: dict[str, str]) -> DataValidation | None:
    title, prompt = PROMPTS[name]
    common = dict(allow_blank=True, showInputMessage=True, promptTitle=title, prompt=prompt)
    if name in PROMPT_ONLY:
        return DataValidation(**common)
    if name == "day":
        return DataValidation(type="whole", operator="between", formula1="1", formula2="28", showErrorMessage=True,
                              errorTitle=title, error="1〜28 の整数を入力してください。", **common)
    if name == "reconcile":  # a fixed list written in the rule itself (not a マスタ column)
        return DataValidation(type="list", formula1='"' + ",".join(RECONCILE_SCHEDULES) + '"', showErrorMessage=True,
                              errorTitle=title, error="しない・毎日・毎週月曜 から選んでください。", **common)
    if name == "date":
        return DataValidation(type="date", operator="greaterThan", formula1="36526", showErrorMessage=True,
                              errorStyle="warning", errorTitle=title,
                              error="日付 (例 2026-04-01) を入力してください。", **common)
    formula = ranges.get(name)
    if formula is None:  # an empty list (no masters yet): a prompt, no dropdown
        return DataValidation(**common)
    return DataValidation(type="list", formula1=formula, showErrorMessage=True, errorStyle="warning",
                          errorTitle=title, error="一覧にない値です。このままでよければ「はい」、選び直すなら「いいえ」。",
                          **common)


def apply_validations(wb: Any, ranges: dict[str, str]) -> None:
    """Replace the dropdowns of every managed sheet (openpyxl drops some on a round trip)."""
    for sheet, lists in COLUMN_LISTS.items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        ws.data_validations = DataValidationList()
        cols = header_columns(ws)
        for label, name in lists.items():
            letter = cols.get(norm_label(label))
            dv = _validation(name, ranges) if letter else None
            if dv is not None:
                dv.add(f"{letter}2:{letter}{LAST_ROW}")
                ws.add_data_validation(dv)
    if SHEET_SETTINGS in wb.sheetnames:
        ws = wb[SHEET_SETTINGS]
        ws.data_validations = DataValidationList()
        cols = header_columns(ws)
        item_col, value_col = cols.get(norm_label("項目")), cols.get(norm_label("値"))
        if item_col and value_col:
            for row in range(2, last_used_row(ws) + 1):
                label = ws[f"{item_col}{row}"].value
                list_name = SETTING_LISTS.get(label.strip()) if isinstance(label, str) else None
                dv = _validation(list_name, ranges) if list_name else None
                if dv is not None:
                    dv.add(f"{value_col}{row}")
                    ws.add_data_validation(dv)


def save_workbook(wb: Any, path: Path, when: dt.datetime, *, private: bool = True,
                  keep_formulas: frozenset[int] = frozenset()) -> Path:
    """Save atomically with ``when`` as the modified time of the properties and of every zip entry.
    Last, every formula cell except ``keep_formulas`` (HR's own, from text.formula_cells at open)
    becomes a text cell: nothing this program writes is ever a live formula."""
    from openpyxl.writer.excel import ExcelWriter

    text_cells(wb, keep_formulas)

    stamp = when.replace(tzinfo=None, microsecond=0) if when.tzinfo is None else (
        when.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0))
    wb.properties.modified = stamp
    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # unlike openpyxl's save_workbook, keeps properties.modified
    out = io.BytesIO()
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    with atomic_open(Path(path), "wb", private=private) as fh:
        fh.write(out.getvalue())
    if not private:  # a template to share: rw-r--r--
        os.chmod(path, 0o644)
    return Path(path)

"""The name columns beside the code columns: 勤怠所属名 from 勤怠所属コード, 勤怠雇用区分名 from
勤怠雇用区分コード, written as plain values (never formulas: HR's Excel may not recalculate them, and
the reader refuses formulas). Used by the refresh and the annotated copy.
"""
from __future__ import annotations

from typing import Any

from etl.records import Masters
from etl.text import sheet_text
from etl.workbook import cells, layout
from etl.workbook.model import HEADERS, SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.resolve import FROM_SAME_CODE, SameMatch

# sheet → (code header, name header, which master list)
NAME_COLUMNS = {
    SHEET_DIVISIONS: ("勤怠所属コード", "勤怠所属名", "divisions"),
    SHEET_TYPES: ("勤怠雇用区分コード", "勤怠雇用区分名", "working_types"),
}
# code columns without a name column: the annotated copy shows 「1000 本社」 in the cell itself
LABELLED_COLUMNS = {SHEET_OVERRIDES: (("勤怠所属コード", "divisions"), ("勤怠雇用区分コード", "working_types"))}
LABELLED_SETTINGS = {"既定の勤怠所属コード": "divisions", "既定の勤怠雇用区分コード": "working_types"}
AUTO_NOTE = "自動追加: "  # the start of the note the refresh leaves on a row it added
# sheet → (what the target is called, its code header) for the note on an added row
ADDED_TARGET = {SHEET_DIVISIONS: ("所属", "勤怠所属コード"), SHEET_TYPES: ("雇用区分", "勤怠雇用区分コード")}


def fill_names(wb: Any, masters: Masters) -> int:
    """Write the master's name beside each code HR picked; returns how many cells changed. A code
    the masters do not know keeps whatever name is there (the validator reports the code)."""
    changed = 0
    for sheet, (code_label, name_label, which) in NAME_COLUMNS.items():
        if sheet not in wb.sheetnames:
            continue
        names: dict[str, str] = getattr(masters, which)
        ws = wb[sheet]
        cols = layout.header_columns(ws)
        code_col, name_col = cols.get(cells.norm_label(code_label)), cols.get(cells.norm_label(name_label))
        if not code_col or not name_col:
            continue
        for row in range(2, layout.last_used_row(ws) + 1):
            try:
                code = cells.choice(ws[f"{code_col}{row}"].value)
            except cells.CellError:
                continue
            name = names.get(code)
            cell = ws[f"{name_col}{row}"]
            if name and cell.value != name:
                cell.value = sheet_text(name)
                changed += 1
    return changed


def label_codes(wb: Any, masters: Masters) -> int:
    """For the annotated copy: a bare code in a column with no name beside it (個別設定's codes,
    設定's 既定の… codes) becomes the dropdown's 「1000 本社」 (read back as its code part). A code the
    masters do not know stays as it is (the validator reports it). Returns how many cells changed."""
    targets: list[tuple[Any, str]] = []
    for sheet, columns in LABELLED_COLUMNS.items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        cols = layout.header_columns(ws)
        for label, which in columns:
            col = cols.get(cells.norm_label(label))
            if col:
                targets += [(ws[f"{col}{row}"], which) for row in range(2, layout.last_used_row(ws) + 1)]
    if SHEET_SETTINGS in wb.sheetnames:
        settings = wb[SHEET_SETTINGS]
        wanted = {cells.norm_label(k): v for k, v in LABELLED_SETTINGS.items()}
        for row in range(2, layout.last_used_row(settings) + 1):
            label = settings.cell(row, 1).value
            item = wanted.get(cells.norm_label(label) if isinstance(label, str) else "")
            if item:
                targets.append((settings.cell(row, 2), item))
    changed = 0
    for cell, which in targets:
        try:
            code = cells.choice(cell.value)
        except cells.CellError:
            continue
        name = getattr(masters, which).get(code)
        if name and code == cells.code(cell.value):  # a bare code, not already 「code name」
            cell.value = cells.choice_label(code, name)
            changed += 1
    return changed


def settle_added_rows(wb: Any) -> int:
    """Rows the refresh added (pale fill, 「… 自動追加: …を入力してください」 in 備考) whose code HR has
    since filled: the note and the fill are cleared. Returns how many rows were settled."""
    settled = 0
    for sheet, (code_label, _name_label, _which) in NAME_COLUMNS.items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        cols = layout.header_columns(ws)
        code_col, note_col = cols.get(cells.norm_label(code_label)), cols.get(cells.norm_label("備考"))
        if not code_col or not note_col:
            continue
        letters = list(cols.values())
        for row in range(2, layout.last_used_row(ws) + 1):
            note = ws[f"{note_col}{row}"]
            if not (isinstance(note.value, str) and AUTO_NOTE in note.value):
                continue
            if ws[f"{code_col}{row}"].value in (None, ""):
                continue
            note.value = None
            for letter in letters:
                cell = ws[f"{letter}{row}"]
                if _is_added_fill(cell.fill):
                    cell.fill = layout.PatternFill()
            settled += 1
    return settled


def added_note(sheet: str, match: tuple[str, str] | None, masters: Masters) -> str:
    """The 備考 text after AUTO_NOTE on a row the refresh added with its target code blank: what
    will happen (the same code / the same name links it automatically) or what to enter."""
    what, header = ADDED_TARGET[sheet]
    if match is None:
        return f"{header}を入力してください"
    code, source = match
    names: dict[str, str] = getattr(masters, NAME_COLUMNS[sheet][2])
    how = "同じコード" if source == FROM_SAME_CODE else "同じ名前"
    return (f"{how}の{what} {cells.choice_label(code, names.get(code, ''))} に自動で連携されます。"
            f"別の{what}にする場合だけ{header}を入力してください")


def describe_added_rows(wb: Any, masters: Masters) -> dict[str, list[str]]:
    """Rows the refresh added whose target code is still blank: the note says what will happen.
    A row whose ledger value resolves automatically (the same code, else the same name: the
    resolver's own rule, ``SameMatch``) gets the pale green AUTO_FILL and 「同じコードの所属 1000 本社 に
    自動で連携されます…」; any other keeps ADDED_FILL and 「…を入力してください」. A cell painted
    otherwise (the annotated copy's red/yellow) keeps its fill. Returns sheet → the ledger values
    that resolve automatically."""
    automatic: dict[str, list[str]] = {}
    for sheet, (code_label, _name_label, which) in NAME_COLUMNS.items():
        automatic[sheet] = []
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        cols = layout.header_columns(ws)
        key_col = cols.get(cells.norm_label(HEADERS[sheet][0]))
        name_label = HEADERS[sheet][1] if HEADERS[sheet][1].endswith("名") else HEADERS[sheet][0]
        name_col = cols.get(cells.norm_label(name_label))
        code_col, note_col = cols.get(cells.norm_label(code_label)), cols.get(cells.norm_label("備考"))
        if not key_col or not code_col or not note_col or not name_col:
            continue
        same = SameMatch(getattr(masters, which))
        letters = list(cols.values())
        for row in range(2, layout.last_used_row(ws) + 1):
            note = ws[f"{note_col}{row}"]
            if not (isinstance(note.value, str) and AUTO_NOTE in note.value):
                continue
            if ws[f"{code_col}{row}"].value not in (None, ""):
                continue
            key, name = (_text(ws[f"{c}{row}"].value) for c in (key_col, name_col))
            match = same.find(key, name) if key else None
            note.value = note.value[:note.value.index(AUTO_NOTE) + len(AUTO_NOTE)] + added_note(sheet, match, masters)
            fill = layout.ADDED_FILL if match is None else layout.AUTO_FILL
            for letter in letters:
                cell = ws[f"{letter}{row}"]
                if _is_added_fill(cell.fill):
                    cell.fill = fill
            if match is not None:
                automatic[sheet].append(key)
    return automatic


def _text(value: Any) -> str:
    try:
        return cells.code(value)
    except cells.CellError:
        return "" if value is None else str(value).strip()


def _is_added_fill(fill: Any) -> bool:
    rgb = str(getattr(getattr(fill, "fgColor", None), "rgb", "") or "")
    # ADDED_FILL, AUTO_FILL, and the pale yellow of earlier versions
    return getattr(fill, "fill_type", None) == "solid" and rgb[-6:] in ("DDEBF7", "E2EFDA", "FFF2CC")

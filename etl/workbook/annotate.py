"""Write the validator's problems into a copy of the workbook: each problem cell filled red
(error) or yellow (warning) with a comment holding the message, a 検証結果 sheet listing every
problem with a hyperlink to its cell, and (given the live masters) the resolved name beside each
code. The user's file is never modified.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.hyperlink import Hyperlink

from etl.errors import CATALOGUE, ERROR, Problem, cap_problems, is_labour_law
from etl.records import Masters
from etl.text import formula_cells, sheet_text
from etl.workbook import layout
from etl.workbook.model import HEADERS
from etl.workbook.names import describe_added_rows, fill_names, label_codes
from etl.workbook.opening import open_workbook

SHEET_RESULTS = "検証結果"
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
LINK_FONT = Font(color="0563C1", underline="single")
RESULT_HEADERS = ("重要度", "種類", "コード", "シート", "セル", "従業員番号", "内容")
CELL_COLUMN, MESSAGE_COLUMN = 5, 7
COMMENT_AUTHOR = "kintai-etl 検証"
MESSAGE_WIDTH = 90


def count_marks(problems: list[Problem]) -> int:
    """How many cells of the mapping sheets the annotated copy marks (0: nothing to point HR at,
    e.g. when the API was down or the problems concern the ledger file)."""
    return len({(p.sheet, p.cell) for p in problems if p.sheet in HEADERS and _valid_cell(p.cell)})


def annotate(src: Path, problems: list[Problem], dest: Path, masters: Masters | None = None) -> Path:
    """Copy ``src`` to ``dest`` with the problems painted in (and, given ``masters``, the names
    beside the codes); returns ``dest``."""
    src, dest = Path(src), Path(dest)
    problems = [p for p in problems if not is_labour_law(p.code)]  # working hours: the report's own section
    if dest.resolve() == src.resolve():
        raise ValueError("annotate() never writes over the workbook it reads")
    with open_workbook(src, read_only=False) as wb:
        hr_formulas = frozenset(formula_cells(wb))
        if SHEET_RESULTS in wb.sheetnames:  # annotating an annotated copy
            wb.remove(wb[SHEET_RESULTS])
        by_cell: dict[tuple[str, str], list[Problem]] = defaultdict(list)
        for p in problems:
            if p.sheet in wb.sheetnames and _valid_cell(p.cell):
                by_cell[(p.sheet, p.cell)].append(p)
        for (sheet, ref), found in by_cell.items():
            _paint(_anchor(wb[sheet], ref), found)
        if masters is not None:
            describe_added_rows(wb, masters)  # an added row the live masters now link: its note says so
            fill_names(wb, masters)
            label_codes(wb, masters)
        _results_sheet(wb, problems, set(by_cell))
        layout.apply_validations(wb, _master_ranges(wb))
    return layout.save_workbook(wb, dest, dt.datetime.now(dt.UTC), keep_formulas=hr_formulas)


def _valid_cell(ref: str) -> bool:
    if not ref:
        return False
    try:
        col, row = coordinate_from_string(ref)
    except Exception:  # CellCoordinatesException and friends
        return False
    return 1 <= row <= layout.LAST_ROW and len(col) <= 3


def _anchor(ws, ref: str):
    """The cell to paint: a cell inside a merged range cannot hold a comment, so its range's
    top-left cell carries it."""
    cell = ws[ref]
    if isinstance(cell, MergedCell):
        merged = next((r for r in ws.merged_cells.ranges if ref in r), None)
        if merged is not None:
            return ws.cell(merged.min_row, merged.min_col)
    return cell


def _paint(cell, found: list[Problem]) -> None:
    is_error = any(p.severity == ERROR for p in found)
    cell.fill = ERROR_FILL if is_error else WARNING_FILL
    text = "\n".join(f"[{'エラー' if p.severity == ERROR else '警告'}] {p.message}" for p in found)
    if cell.comment is not None and cell.comment.text:
        text = f"{cell.comment.text}\n---\n{text}"
    comment = Comment(sheet_text(text), COMMENT_AUTHOR)
    comment.width = 360
    comment.height = min(60 + 40 * len(found) + len(text) // 2, 600)
    cell.comment = comment


def _results_sheet(wb, problems: list[Problem], linked: set[tuple[str, str]]) -> None:
    ws = wb.create_sheet(SHEET_RESULTS, 0)
    ws.append(list(RESULT_HEADERS))
    errors = sum(p.severity == ERROR for p in problems)
    # errors first (what stops the sync), then warnings, each in the order found; the first 100 of
    # a code, then how many more (as errors.csv): thousands of rows would bury the list
    for row, p in enumerate(cap_problems(sorted(problems, key=lambda p: p.severity != ERROR)), start=2):
        title = CATALOGUE[p.code].title if p.code in CATALOGUE else ""
        ws.append([sheet_text(v) for v in ("エラー" if p.severity == ERROR else "警告", title, p.code, p.sheet, p.cell,
                                            p.employee_code, p.message)])
        ws.cell(row, 1).fill = ERROR_FILL if p.severity == ERROR else WARNING_FILL
        for column in range(1, len(RESULT_HEADERS) + 1):  # not ws[row] / ws.max_row: each walks every cell
            ws.cell(row, column).alignment = Alignment(wrap_text=column in (2, MESSAGE_COLUMN), vertical="top")
        layout.fit_height(ws, row, [(p.message, MESSAGE_WIDTH)])
        if (p.sheet, p.cell) in linked:
            link = ws.cell(row, CELL_COLUMN)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{p.sheet}'!{p.cell}", display=p.cell)
            link.font = LINK_FONT
    if not problems:
        ws.append([""] * (MESSAGE_COLUMN - 1) + ["問題は見つかりませんでした。"])
    summary = ws.cell(1, len(RESULT_HEADERS) + 2, f"エラー {errors} 件・警告 {len(problems) - errors} 件 "
                                                  "(セル列のリンクで該当セルへ移動します)")
    summary.font = Font(bold=True)
    for letter, width in zip("ABCDEFGI", (8, 20, 24, 16, 8, 12, MESSAGE_WIDTH, 50), strict=True):
        ws.column_dimensions[letter].width = width
    layout.style_sheet(ws, SHEET_RESULTS)
    summary.font = Font(bold=True)
    summary.fill = PatternFill()
    summary.border = layout.Border()
    ws.auto_filter.ref = f"A1:G{max(ws.max_row, 2)}"
    layout.print_setup(ws)
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False


def _master_ranges(wb) -> dict[str, str]:
    """The list ranges of the workbook's own マスタ sheet (so the copy keeps its dropdowns)."""
    from etl.workbook.model import SHEET_MASTER

    if SHEET_MASTER not in wb.sheetnames:
        return {}
    ws = wb[SHEET_MASTER]
    names = {header: name for name, header, *_ in layout.Lists().columns()}
    ranges = {}
    for cell in ws[1]:
        name = names.get(cell.value)
        if name is None:
            continue
        letter = cell.column_letter
        last = 1
        for (value,) in ws.iter_rows(min_row=2, min_col=cell.column, max_col=cell.column, values_only=True):
            if value in (None, ""):
                break
            last += 1
        if last > 1:
            ranges[name] = f"'{SHEET_MASTER}'!${letter}$2:${letter}${last}"
    return ranges

"""Build templates/mapping.xlsx (DESIGN § The mapping workbook) (the `template` command is etl/app/template.py).

``build_template`` is deterministic: the same arguments give the same bytes (fixed workbook
properties and zip timestamps), so the committed template can be compared with the generator.
``refresh`` (etl/workbook/refresh.py) rewrites the lists of an existing workbook.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from etl.attendance.items import DEFAULT_COLUMNS, workbook_items
from etl.records import Masters
from etl.text import sheet_text
from etl.workbook import layout
from etl.workbook.howto import FIELD_HELP, HOWTO, SETTING_HELP
from etl.workbook.model import (
    HEADERS,
    SETTING_ITEMS,
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_HOWTO,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
    SYNC_FIELDS,
)

DATA_SHEETS = (SHEET_SETTINGS, SHEET_FIELDS, SHEET_DIVISIONS, SHEET_TYPES, SHEET_OVERRIDES, SHEET_OUTPUT)
REQUIRED_MARK = "※1"


def build_template(path: Path, masters: Masters | None = None, departments: dict[str, str] | None = None,
                   classes: list[str] | None = None, output_catalogue: dict[str, str] | None = None) -> Path:
    """Write a new mapping workbook to ``path``.

    Without arguments this is the committed template (no master lists). With the live masters
    and the ledger's departments/classes, the dropdowns list them and the mapping sheets get
    one row per department and class (target left blank for HR to choose).
    """
    wb = new_workbook(masters, departments, classes, output_catalogue)
    return layout.save_workbook(wb, Path(path), layout.FIXED_TIME, private=False)


def new_workbook(masters: Masters | None = None, departments: dict[str, str] | None = None,
                 classes: list[str] | None = None, output_catalogue: dict[str, str] | None = None) -> Any:
    masters = masters or Masters()
    departments = dict(departments or {})
    classes = list(classes or [])
    items = dict(output_catalogue) if output_catalogue is not None else workbook_items()
    wb = Workbook()
    wb.properties.creator = "kintai-etl"
    wb.properties.lastModifiedBy = "kintai-etl"
    wb.properties.title = "kintai-etl マッピングブック"
    wb.properties.created = layout.FIXED_TIME

    write_howto(wb.active)
    for sheet in DATA_SHEETS:
        ws = wb.create_sheet(sheet)
        ws.append(list(HEADERS[sheet]))
    write_settings(wb[SHEET_SETTINGS])
    write_fields(wb[SHEET_FIELDS])
    for code, name in departments.items():
        wb[SHEET_DIVISIONS].append([sheet_text(code), sheet_text(name), None, None, None])
    for employee_class in classes:
        wb[SHEET_TYPES].append([sheet_text(employee_class), None, None, None])
    for header, item, fmt in DEFAULT_COLUMNS:
        wb[SHEET_OUTPUT].append([header, item, fmt, "はい"])
    for sheet in DATA_SHEETS:
        layout.style_sheet(wb[sheet], sheet)
        layout.print_setup(wb[sheet])
    ranges = layout.write_master(wb, layout.Lists(dict(masters.divisions), dict(masters.working_types),
                                                  departments, classes, items))
    layout.apply_validations(wb, ranges)
    wb.active = 0
    return wb


HOWTO_WIDTH = 100


def write_howto(ws: Any) -> None:
    ws.title = SHEET_HOWTO
    ws.column_dimensions["A"].width = HOWTO_WIDTH
    ws.sheet_view.showGridLines = False
    row = 1
    for n, (title, paragraphs) in enumerate(HOWTO):
        cell = ws.cell(row, 1, title)
        cell.font = Font(bold=True, size=14 if n == 0 else 12, color="1F4E78")
        ws.row_dimensions[row].height = 24 if n == 0 else 20
        row += 1
        for text in paragraphs:
            ws.cell(row, 1, text).alignment = Alignment(wrap_text=True, vertical="top")
            layout.fit_height(ws, row, [(text, HOWTO_WIDTH)])
            row += 1
        row += 1
    layout.print_setup(ws, title_row=False)


def write_settings(ws: Any) -> None:
    width = layout.WIDTHS[SHEET_SETTINGS]["説明"]
    for label, (_key, default) in SETTING_ITEMS.items():
        ws.append([label, default or None, SETTING_HELP[label]])
        for cell in ws[ws.max_row]:
            cell.alignment = layout.WRAP
        layout.fit_height(ws, ws.max_row, [(SETTING_HELP[label], width)])


def write_fields(ws: Any) -> None:
    for label, (api_field, required) in SYNC_FIELDS.items():
        ws.append([label, api_field, "はい", REQUIRED_MARK if required else None])
        if required:
            for cell in ws[ws.max_row]:
                cell.fill = layout.REQUIRED_FILL
    note = ws.cell(2, len(HEADERS[SHEET_FIELDS]) + 2, FIELD_HELP)  # beside the table, not read
    note.alignment = layout.WRAP
    ws.column_dimensions[note.column_letter].width = 50
    ws.merge_cells(f"{note.column_letter}2:{note.column_letter}5")

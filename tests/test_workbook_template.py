"""The template: the committed file is what the generator makes; its layout follows DESIGN."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from support.workbook import MASTERS

from etl.attendance.items import workbook_items
from etl.workbook.howto import SETTING_HELP
from etl.workbook.model import (
    HEADERS,
    SETTING_ITEMS,
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_HOWTO,
    SHEET_MASTER,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
    SYNC_FIELDS,
)
from etl.workbook.read import read_workbook
from etl.workbook.template import build_template

COMMITTED = Path(__file__).resolve().parent.parent / "templates" / "mapping.xlsx"
ORDER = [SHEET_HOWTO, SHEET_SETTINGS, SHEET_FIELDS, SHEET_DIVISIONS, SHEET_TYPES, SHEET_OVERRIDES, SHEET_OUTPUT,
         SHEET_MASTER]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory.mktemp("t") / "mapping.xlsx")


@pytest.fixture(scope="module")
def wb(template):
    return openpyxl.load_workbook(template)


def test_committed_template_matches_the_generator(template):
    """Regenerate with `python run_etl.py template --out templates/mapping.xlsx` when this fails."""
    assert COMMITTED.is_file(), "templates/mapping.xlsx is missing"
    with zipfile.ZipFile(COMMITTED) as a, zipfile.ZipFile(template) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        changed = [name for name in a.namelist() if a.read(name) != b.read(name)]
    assert changed == [], f"templates/mapping.xlsx is stale ({changed}); regenerate it"


def test_generation_is_deterministic(template, tmp_path):
    again = build_template(tmp_path / "again.xlsx")
    assert again.read_bytes() == template.read_bytes()


def test_sheets_in_design_order_with_a_hidden_master(wb):
    assert wb.sheetnames == ORDER
    assert wb[SHEET_MASTER].sheet_state == "hidden"
    assert all(wb[s].sheet_state == "visible" for s in ORDER[:-1])
    assert wb.active.title == SHEET_HOWTO


@pytest.mark.parametrize("sheet", list(HEADERS))
def test_headers_frozen_and_styled(wb, sheet):
    ws = wb[sheet]
    assert tuple(c.value for c in ws[1][: len(HEADERS[sheet])]) == HEADERS[sheet]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert all(ws.column_dimensions[c.column_letter].width >= 8 for c in ws[1][: len(HEADERS[sheet])])


@pytest.mark.parametrize("sheet, letters", [
    (SHEET_DIVISIONS, "AC"), (SHEET_TYPES, "AB"), (SHEET_OVERRIDES, "ACD"), (SHEET_SETTINGS, "B"),
])
def test_code_columns_are_text_formatted(wb, sheet, letters):
    for letter in letters:
        assert wb[sheet].column_dimensions[letter].number_format == "@"


def test_settings_prefilled_with_defaults_and_explained(wb):
    ws = wb[SHEET_SETTINGS]
    rows = {r[0]: (r[1], r[2]) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == list(SETTING_ITEMS)
    for label, (_key, default) in SETTING_ITEMS.items():
        assert (rows[label][0] or "") == default
        assert rows[label][1] == SETTING_HELP[label]


def test_howto_explains_every_sheet_and_setting(wb):
    text = "\n".join(str(c.value) for c in wb[SHEET_HOWTO]["A"] if c.value)
    for name in (*HEADERS, *SETTING_ITEMS, "※1", "validate", "template --refresh"):
        assert name in text


def test_required_fields_are_marked(wb):
    rows = list(wb[SHEET_FIELDS].iter_rows(min_row=2, max_col=4, values_only=True))
    marked = {r[0] for r in rows if r[0] and r[3] == "※1"}
    assert marked == {label for label, (_, req) in SYNC_FIELDS.items() if req}
    assert [r[:3] for r in rows[: len(SYNC_FIELDS)]] == [(k, v[0], "はい") for k, v in SYNC_FIELDS.items()]


def test_output_columns_default_to_a_payroll_set(template):
    book = read_workbook(template)
    items = workbook_items()
    assert len(book.output_columns) >= 10
    assert all(c.enabled and c.item in items for c in book.output_columns)
    assert {"従業員番号", "出勤日数", "残業時間"} <= {c.item for c in book.output_columns}


def test_template_reads_without_problems(template):
    assert read_workbook(template).read_problems == ()


def _validations(ws):
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def test_dropdowns_point_at_the_master_sheet_with_japanese_messages(wb):
    dv = _validations(wb[SHEET_OUTPUT])
    items = dv["B2:B1048576"]
    assert items.type == "list" and items.formula1.startswith(f"'{SHEET_MASTER}'!$")
    assert items.showInputMessage and items.prompt and items.promptTitle == "勤怠データ項目"
    assert dv["C2:C1048576"].type == "list" and dv["D2:D1048576"].type == "list"
    settings = _validations(wb[SHEET_SETTINGS])
    assert settings["B3"].type == "list"  # 入社年月日登録者のみ連携
    assert settings["B12"].type == "whole" and (settings["B12"].formula1, settings["B12"].formula2) == ("1", "28")
    assert _validations(wb[SHEET_OVERRIDES])["F2:F1048576"].type == "list"
    # the list behind the 勤怠データ項目 dropdown is the catalogue
    ref = items.formula1.split("!")[1].replace("$", "")
    values = [c.value for row in wb[SHEET_MASTER][ref] for c in row]
    assert values == list(workbook_items())


def test_with_masters_the_dropdowns_list_them_and_mapping_rows_are_added(tmp_path):
    path = build_template(tmp_path / "m.xlsx", MASTERS, {"100": "総務部", "0110": "営業部"}, ["正社員", "嘱託"],
                          output_catalogue=workbook_items())
    wb = openpyxl.load_workbook(path)
    dv = _validations(wb[SHEET_DIVISIONS])["C2:C1048576"]
    ref = dv.formula1.split("!")[1].replace("$", "")
    # HR picks 「1000 本社」; the reader takes the code part
    assert [c.value for row in wb[SHEET_MASTER][ref] for c in row] == [f"{c} {n}" for c, n in MASTERS.divisions.items()]
    rows = list(wb[SHEET_DIVISIONS].iter_rows(min_row=2, values_only=True))
    assert rows == [("100", "総務部", None, None, None), ("0110", "営業部", None, None, None)]
    assert wb[SHEET_DIVISIONS]["A3"].number_format == "@"
    assert [r[0] for r in wb[SHEET_TYPES].iter_rows(min_row=2, values_only=True)] == ["正社員", "嘱託"]
    book = read_workbook(path)
    assert book.read_problems == () and [m.department_code for m in book.divisions] == ["100", "0110"]

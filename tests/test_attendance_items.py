"""The 勤怠データ項目 catalogue: lookup, column resolution with positions, the docs table."""
from __future__ import annotations

import pytest

from etl.attendance.items import (
    DEFAULT_COLUMNS,
    FORMATS,
    ITEMS,
    LEDGER_KEYS,
    default_columns,
    find_item,
    markdown_table,
    normalise_format,
    resolve_columns,
)
from etl.ledger.schema import MONTHLY_COLUMNS
from etl.workbook.model import OUTPUT_FORMATS, SHEET_OUTPUT, OutputColumn, Pos

COLS = {"header": "A", "item": "B", "fmt": "C", "enabled": "D"}


def col(item: str, fmt: str = "", header: str = "", enabled: bool = True, row: int = 2) -> OutputColumn:
    return OutputColumn(header, item, fmt, enabled, Pos(SHEET_OUTPUT, row, cols=COLS))


def test_ledger_keys_are_the_ledger_columns():
    assert set(LEDGER_KEYS) == set(MONTHLY_COLUMNS)


def test_formats_match_the_workbook_dropdown():
    assert FORMATS == OUTPUT_FORMATS


@pytest.mark.parametrize("text, key", [
    ("残業時間", "overtime_minutes"), ("所定内", "assigned_minutes"), ("ｻﾞﾝｷﾞｮｳ", None),
    (" 総労働時間 ", "total_work_minutes"), ("overtime_minutes", "overtime_minutes"), ("従業員コード", "employee_code"),
], ids=["label", "alias", "unknown", "spaces", "key", "code-alias"])
def test_find_item(text, key):
    found = find_item(text)
    assert (found.key if found else None) == key


@pytest.mark.parametrize("text, fmt", [
    ("時間(10進)", "時間(10進)"), ("時間（10進, 2桁）", "時間(10進)"), ("hh:mm", "HH:MM"), ("", ""), ("秒", None),
])
def test_normalise_format(text, fmt):
    assert normalise_format(text) == fmt


def test_resolve_columns_in_order_with_defaults_and_disabled_rows_skipped():
    cols, problems = resolve_columns([col("従業員番号", header="社員番号"), col("残業時間", "時間(10進)"),
                                      col("欠勤日数", enabled=False), col("出勤日数")])
    assert problems == []
    assert [(c.header, c.item.key, c.fmt) for c in cols] == [
        ("社員番号", "employee_code", "文字"), ("残業時間", "overtime_minutes", "時間(10進)"),
        ("出勤日数", "working_days", "日")]


def test_resolve_columns_reports_every_problem_with_its_cell():
    _, problems = resolve_columns([col("残業", "秒", row=3), col("存在しない", row=4), col("出勤日数", "HH:MM", row=5),
                                   col("存在しない", enabled=False, row=6)])
    assert [(p.code, p.cell) for p in problems] == [
        ("invalid-output-format", "C3"), ("unknown-output-item", "B4"), ("output-format-mismatch", "C5")]
    assert "出勤日数" in problems[2].message and "日 / 回 / 文字" in problems[2].message


def test_default_columns_resolve():
    assert [c.header for c in default_columns()] == [h for h, _, _ in DEFAULT_COLUMNS]


def test_markdown_table_names_every_item_and_its_kot_fields():
    table = markdown_table()
    for item in ITEMS:
        assert f"| {item.label} |" in table
        for source in item.sources:
            assert f"`{source}`" in table
    assert "時間外労働 + 休日労働" in table and "`legal_holiday_work_minutes`" in table

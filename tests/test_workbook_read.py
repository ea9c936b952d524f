"""The reader: typed values with their cells, order-free headers, lenient cells, broken files."""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from support.workbook import hr_workbook

from etl.errors import ExitCode, WorkbookError
from etl.workbook import cells
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OUTPUT, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.read import read_workbook

# --- cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    (1, "1"), (1.0, "1"), ("0300", "0300"), (" 100 ", "100"), ("１０００", "1000"), ("ＡＢ－１", "AB-1"),
    (None, ""), ("正社員", "正社員"), ("ﾊﾟｰﾄ", "パート"),
], ids=repr)
def test_code(raw, expected):
    assert cells.code(raw) == expected


@pytest.mark.parametrize("raw", ["=A1", 1.5, True, dt.date(2026, 1, 1)], ids=repr)
def test_code_rejects(raw):
    with pytest.raises(cells.CellError):
        cells.code(raw)


@pytest.mark.parametrize("raw, expected", [
    (dt.datetime(2026, 5, 1, 0, 0), dt.date(2026, 5, 1)),
    (dt.date(2026, 5, 1), dt.date(2026, 5, 1)),
    (46143, dt.date(2026, 5, 1)),  # Excel serial number
    (46143.0, dt.date(2026, 5, 1)),
    ("2026-05-01", dt.date(2026, 5, 1)),
    ("2026/5/1", dt.date(2026, 5, 1)),
    ("２０２６／０５／０１", dt.date(2026, 5, 1)),
    ("2026年5月1日", dt.date(2026, 5, 1)),
    ("20260501", dt.date(2026, 5, 1)),
    ("令和8年5月1日", dt.date(2026, 5, 1)),
    ("令和元年5月1日", dt.date(2019, 5, 1)),
    ("平成31年4月30日", dt.date(2019, 4, 30)),
    ("昭和64年1月7日", dt.date(1989, 1, 7)),
    ("R8.5.1", dt.date(2026, 5, 1)),
    ("2026-05-01 00:00:00", dt.date(2026, 5, 1)),
    (None, None), ("  ", None),
], ids=repr)
def test_date(raw, expected):
    assert cells.date(raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30", "令和8年13月1日", "来月", "=TODAY()", 0, -5, 1.5, True], ids=repr)
def test_date_rejects(raw):
    with pytest.raises(cells.CellError):
        cells.date(raw)


@pytest.mark.parametrize("raw, expected", [
    ("はい", True), ("いいえ", False), ("する", True), ("しない", False), ("TRUE", True), ("false", False),
    ("○", True), ("〇", True), ("×", False), (1, True), (0, False), (True, True), (False, False),
    ("ＹＥＳ", True), (None, False), ("", False),
], ids=repr)
def test_boolean(raw, expected):
    assert cells.boolean(raw) is expected


@pytest.mark.parametrize("raw, expected", [
    ("02:00", dt.time(2, 0)), ("２：３０", dt.time(2, 30)), ("23:59", dt.time(23, 59)), (dt.time(4, 15), dt.time(4, 15)),
    (0.125, dt.time(3, 0)), ("3時30分", dt.time(3, 30)),
], ids=repr)
def test_time_of_day(raw, expected):
    assert cells.time_of_day(raw) == expected


@pytest.mark.parametrize("raw", ["24:00", "2:75", "夜中", 1.5], ids=repr)
def test_time_rejects(raw):
    with pytest.raises(cells.CellError):
        cells.time_of_day(raw)


@pytest.mark.parametrize("a, b", [("本体部署コード", " 本体部署 ｺｰﾄﾞ "), ("出力列名", "出力列名"), ("Abc", "ＡＢＣ")])
def test_header_labels_ignore_case_spaces_and_width(a, b):
    assert cells.norm_label(a) == cells.norm_label(b)


# --- the workbook ----------------------------------------------------------------------------


def test_reads_typed_values_with_their_cells(tmp_path):
    book = read_workbook(hr_workbook(tmp_path))
    assert book.read_problems == ()
    assert book.settings.hired_only is True and book.settings.csv_encoding == "cp932"
    assert book.settings.notify_emails == ("hr@example.co.jp", "payroll@example.co.jp")
    assert book.settings.cells["notify_emails"] == "B5"
    assert book.division_map() == {"100": "1000", "110": "1100", "120": "1200"}
    assert book.type_map() == {"正社員": "1", "契約社員": "2", "パート": "3"}
    [o] = book.overrides
    assert (o.employee_code, o.division_code, o.type_code, o.effective_date, o.exclude) == (
        "000105", "1100", "", dt.date(2026, 5, 1), False)
    assert (o.pos.sheet, o.pos.row, o.pos.cell("effective_date"), o.pos.cell("異動日")) == (SHEET_OVERRIDES, 2, "E2", "E2")
    assert [f.api_field for f in book.fields if f.required] == ["code", "lastName", "firstName", "divisionCode",
                                                                 "typeCode", "gender"]
    assert book.output_columns[0].item == "従業員番号" and book.output_columns[0].enabled


def test_columns_are_found_by_label_in_any_order_and_spelling(tmp_path):
    def edit(wb):
        ws = wb[SHEET_DIVISIONS]
        ws.delete_rows(1, ws.max_row)
        ws.append(["備考", "勤怠所属 コード", "本体部署名", "本体部署ｺｰﾄﾞ", "勤怠所属名", "メモ"])
        ws.append(["移管", 1100.0, "営業部", "０１１０", None, "ignored"])
        ws.append([None, None, None, None, None, "a note beside the table"])
    book = read_workbook(hr_workbook(tmp_path, edit))
    # 本体部署ｺｰﾄﾞ (half-width kana) is 本体部署コード after NFKC
    assert book.read_problems == ()
    [m] = book.divisions
    assert (m.department_code, m.division_code, m.note, m.pos.cell("department_code")) == ("0110", "1100", "移管", "D2")


def test_formula_is_not_evaluated_and_is_a_problem(tmp_path):
    book = read_workbook(hr_workbook(tmp_path, lambda wb: wb[SHEET_OVERRIDES].__setitem__("A2", "=TEXT(105,\"000000\")")))
    assert [(p.code, p.cell) for p in book.read_problems] == [("formula-in-cell", "A2")]


def test_many_bad_cells_in_one_row_are_all_reported(tmp_path):
    def edit(wb):
        wb[SHEET_OVERRIDES].append(["000101", "", 1.5, "=X1", "2026-13-01", "maybe"])
    book = read_workbook(hr_workbook(tmp_path, edit))
    assert [(p.code, p.cell) for p in book.read_problems] == [
        ("invalid-code", "C3"), ("formula-in-cell", "D3"), ("invalid-date", "E3"), ("invalid-boolean", "F3")]


def test_missing_settings_rows_fall_back_to_defaults(tmp_path):
    def edit(wb):
        wb[SHEET_SETTINGS].delete_rows(11, 3)  # 勤怠CSV文字コード, 勤怠データ自動取込日, 照合レポート
    book = read_workbook(hr_workbook(tmp_path, edit))
    assert book.settings.csv_encoding == "cp932" and book.settings.auto_import_day is None
    assert book.settings.reconcile_report == "never"
    assert [(p.code, p.severity, p.cell) for p in book.read_problems] == [("missing-setting", "warning", "A11")] * 3


def test_settings_values(tmp_path):
    def edit(wb):
        ws = wb[SHEET_SETTINGS]
        ws["B3"], ws["B6"], ws["B7"], ws["B10"], ws["B11"], ws["B12"] = "×", "○", dt.time(3, 30), "台帳", "utf8", 15
    s = read_workbook(hr_workbook(tmp_path, edit)).settings
    assert (s.hired_only, s.auto_sync, s.auto_sync_time, s.attendance_output, s.csv_encoding, s.auto_import_day) == (
        False, True, dt.time(3, 30), "ledger", "utf-8-sig", 15)


def test_a_sheet_whose_key_header_is_missing_yields_no_rows(tmp_path):
    book = read_workbook(hr_workbook(tmp_path, lambda wb: wb[SHEET_TYPES].__setitem__("A1", "区分")))
    assert book.types == ()
    assert [(p.code, p.sheet, p.cell) for p in book.read_problems] == [("missing-header", SHEET_TYPES, "E1")]


def test_output_columns_keep_order(tmp_path):
    book = read_workbook(hr_workbook(tmp_path, lambda wb: wb[SHEET_OUTPUT].__setitem__("D3", "いいえ")))
    assert [c.enabled for c in book.output_columns[:3]] == [True, False, True]
    assert book.output_columns[2].pos.row == 4


# --- files that are not workbooks ---------------------------------------------------------------


def _encrypted_ole(path):
    # what Excel writes for a password-protected workbook: an OLE file with an EncryptedPackage stream
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le")
                     + b"\0" * 1024)


def _truncated(path, tmp_path):
    good = hr_workbook(tmp_path, name="good.xlsx").read_bytes()
    path.write_bytes(good[: len(good) // 2])


def _zip_without_workbook(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a workbook")


BROKEN = {
    "not-found": (lambda p, t: None, "見つかりません"),
    "text-file": (lambda p, t: p.write_text("従業員番号,氏名\n1,山田\n", encoding="utf-8"), "Excel ブックではありません"),
    "empty-file": (lambda p, t: p.write_bytes(b""), "Excel ブックではありません"),
    "truncated": (_truncated, "途中で切れているか壊れています"),
    "password-protected": (lambda p, t: _encrypted_ole(p), "パスワード"),
    "old-xls": (lambda p, t: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000), "97-2003"),
    "zip-not-xlsx": (lambda p, t: _zip_without_workbook(p), "xlsx の構造がありません"),
    "directory": (lambda p, t: p.mkdir(), "フォルダー"),
    "some-other-workbook": (lambda p, t: openpyxl.Workbook().save(p), "マッピングブックのシート"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_files_raise_one_line_naming_the_file(tmp_path, name):
    make, words = BROKEN[name]
    path = tmp_path / "mapping.xlsx"
    make(path, tmp_path)
    with pytest.raises(WorkbookError) as info:
        read_workbook(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text and words in text
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert info.value.problems and info.value.problems[0].code.startswith("workbook-")


def test_a_workbook_with_other_extension_is_still_read(tmp_path):
    path = hr_workbook(tmp_path, name="mapping.dat")
    assert read_workbook(path).division_map()


def test_dimension_tag_that_lies_does_not_hide_columns(tmp_path):
    """Some tools write a wrong <dimension ref=…/>: the reader must not trust it."""
    src = hr_workbook(tmp_path)
    dest = tmp_path / "lying.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/"):
                import re
                data, n = re.subn(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:B2"/>', data)
                assert n == 1
            zout.writestr(info, data)
    assert read_workbook(dest).division_map() == {"100": "1000", "110": "1100", "120": "1200"}


def test_openpyxl_can_still_open_what_we_read(tmp_path):
    # the reader never keeps the file open or locked
    path = hr_workbook(tmp_path)
    read_workbook(path)
    path.rename(tmp_path / "moved.xlsx")
    assert openpyxl.load_workbook(tmp_path / "moved.xlsx", read_only=True).sheetnames

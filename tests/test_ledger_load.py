"""Reading ledger files: one real fixture per input variant or defect (tests/fixtures/ledger/)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from etl.errors import ERROR, WARNING, LedgerFileError
from etl.ledger.load import MAX_LINE_BYTES, read_ledger
from etl.records import Employee

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
D = dt.date

HAPPY = [
    Employee("00012", "山田", "太郎", "ヤマダ", "タロウ", "", "", "010", "営業部", "正社員", "male",
             D(1985, 4, 1), D(2015, 4, 1), None, "taro.yamada@example.co.jp"),
    Employee("00013", "鈴木", "花子", "スズキ", "ハナコ", "佐藤", "花子", "010", "営業部", "契約社員", "female",
             D(1990, 2, 28), D(2020, 4, 1), None, "hanako@example.co.jp"),
    Employee("A0100", "髙橋", "一郎", "タカハシ", "イチロウ", "", "", "020", "開発部", "正社員", "male",
             D(1991, 5, 6), D(2024, 4, 1), D(2026, 3, 31), ""),
]


def fail(name: str) -> LedgerFileError:
    with pytest.raises(LedgerFileError) as err:
        read_ledger(FIXTURES / name)
    return err.value


def where(err: LedgerFileError) -> list[tuple[str, str]]:
    return [(p.code, p.cell) for p in err.problems if p.severity == ERROR]


@pytest.mark.parametrize("name", ["happy_utf8.csv", "utf8_bom.csv", "lf_line_endings.csv"])
def test_happy_files(name):
    rows = read_ledger(FIXTURES / name)
    assert rows.employees == HAPPY
    assert rows.problems == []
    assert "email" in rows.fields and "code" in rows.fields


def test_cp932_file_is_detected():
    rows = read_ledger(FIXTURES / "cp932_shift_jis.csv")
    assert rows.employees[:3] == HAPPY
    assert (rows.employees[3].last_name, rows.employees[3].first_name) == ("﨑田", "①子")


def test_full_width_codes_become_half_width_with_zeros_kept():
    rows = read_ledger(FIXTURES / "fullwidth_codes.csv")
    assert [(e.code, e.department_code) for e in rows.employees] == [("00123", "010"), ("A001", "020")]


def test_hiragana_and_half_width_kana_become_full_width_katakana():
    rows = read_ledger(FIXTURES / "hiragana_and_halfwidth_kana.csv")
    assert [(e.last_name_kana, e.first_name_kana) for e in rows.employees] == [
        ("ヤマダ", "タロウ"), ("スズキ", "ハナコ"), ("サトウ", "パピプペポ")]
    assert rows.employees[2].first_name == "ゞ"  # names are kept as written, only kana columns change


def test_serial_and_wareki_dates():
    rows = read_ledger(FIXTURES / "serial_and_wareki_dates.csv")
    assert [(e.birth_date, e.hired_date, e.resignation_date) for e in rows.employees] == [
        (D(1985, 4, 1), D(2024, 4, 1), D(2026, 3, 31)),
        (D(1990, 2, 28), D(2024, 4, 1), None),
        (D(2019, 4, 30), D(2019, 5, 1), None),
        (D(1999, 12, 31), D(2024, 4, 1), D(2026, 3, 31)),
    ]


def test_header_aliases_nfkc_spacing_and_unknown_columns():
    rows = read_ledger(FIXTURES / "header_aliases_and_spacing.csv")
    (e,) = rows.employees
    assert (e.code, e.last_name, e.last_name_kana, e.first_name_kana, e.department_name,
            e.business_last_name, e.email) == ("7", "山田", "ヤマダ", "タロウ", "営業部", "ヤマ", "taro@example.co.jp")
    assert "department_code" not in rows.fields
    assert [(p.severity, p.code, p.value) for p in rows.problems] == [(WARNING, "ledger-unknown-header", "メモ")]


def test_excel_text_tricks_are_undone():
    rows = read_ledger(FIXTURES / "excel_formula_text.csv")
    assert [(e.code, e.last_name, e.first_name, e.department_code) for e in rows.employees] == [
        ("00077", "山田", "太郎", "001"), ("00078", "=SUM(A1)", "-1", "")]


def test_xlsx_numeric_codes_date_cells_and_serials():
    rows = read_ledger(FIXTURES / "happy_numeric_codes.xlsx")  # the ledger is on the 2nd sheet
    assert [(e.code, e.department_code) for e in rows.employees] == [("00012", "010"), ("13", "010"), ("A0100", "020")]
    assert [(e.last_name_kana, e.first_name_kana) for e in rows.employees] == [
        ("ヤマダ", "タロウ"), ("スズキ", "ハナコ"), ("タカハシ", "イチロウ")]
    assert [(e.birth_date, e.hired_date, e.resignation_date) for e in rows.employees] == [
        (D(1985, 4, 1), D(2024, 4, 1), None), (D(2020, 4, 1), D(2020, 4, 1), None),
        (D(1991, 5, 6), D(2024, 4, 1), D(2026, 3, 31))]
    assert [e.gender for e in rows.employees] == ["male", "female", "male"]


def test_missing_required_header():
    err = fail("missing_required_header.csv")
    assert where(err) == [("ledger-missing-header", "行 1")]
    assert "「名」" in str(err)


def test_duplicate_header_even_through_an_alias():
    err = fail("duplicate_header.csv")
    assert where(err) == [("ledger-duplicate-header", "行 1")]
    assert "従業員番号" in str(err) and "社員番号" in str(err)


def test_duplicate_code_names_both_lines():
    err = fail("duplicate_code.csv")
    assert where(err) == [("ledger-duplicate-code", "行 4")]
    assert "「001」が 2行目 にも" in err.problems[0].message
    assert str(err).startswith("台帳ファイル duplicate_code.csv 4行目: ")


def test_impossible_date_is_reported_with_its_line():
    err = fail("impossible_date.csv")
    assert where(err) == [("ledger-invalid-date", "行 3")]
    p = err.problems[0]
    assert (p.sheet, p.employee_code, p.value) == ("impossible_date.csv", "002", "2023-02-29")
    assert "ほか" not in str(err)


def test_every_bad_row_is_reported_and_blank_lines_still_count():
    err = fail("many_bad_rows.csv")
    assert where(err) == [
        ("ledger-missing-value", "行 3"),
        ("ledger-missing-value", "行 4"), ("ledger-invalid-gender", "行 4"), ("ledger-invalid-date", "行 4"),
        ("ledger-invalid-code", "行 6"), ("ledger-invalid-email", "行 6"),
        ("ledger-bad-row", "行 7"),
    ]
    message = str(err)
    assert "\n" not in message
    assert message.startswith("台帳ファイル many_bad_rows.csv 3行目: 「従業員番号」が空です")
    assert message.count("ほか 6 件") == 1
    assert "指数表記" in err.problems[4].message


def test_xlsx_problems_name_their_cells():
    err = fail("bad_cells.xlsx")
    assert where(err) == [("ledger-invalid-date", "D3"), ("ledger-missing-value", "B4"),
                          ("ledger-duplicate-code", "A5")]
    assert str(err).startswith("台帳ファイル bad_cells.xlsx セル D3: ")
    assert all(p.sheet == "bad_cells.xlsx" for p in err.problems)


@pytest.mark.parametrize(("name", "code"), [
    ("empty.csv", "ledger-empty"),
    ("blank_lines_only_header.csv", "ledger-empty"),
    ("neither_utf8_nor_cp932.csv", "ledger-encoding"),
    ("unterminated_quote.csv", "ledger-bad-row"),
    ("not_a_workbook.xlsx", "ledger-unreadable"),
    ("no_such_file.csv", "ledger-file-not-found"),
])
def test_unusable_files(name, code):
    err = fail(name)
    assert [p.code for p in err.problems] == [code]
    assert name in str(err)


def test_encoding_error_says_where_decoding_failed():
    err = fail("neither_utf8_nor_cp932.csv")
    assert err.problems[0].cell == "行 3"
    assert "3行目の 5 バイト目" in str(err)


def test_utf16_file_is_refused_clearly(tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("従業員番号,姓,名\r\n001,山田,太郎\r\n".encode("utf-16"))
    with pytest.raises(LedgerFileError, match="UTF-16"):
        read_ledger(path)


def test_a_huge_line_is_refused_without_reading_it_into_memory(tmp_path):
    path = tmp_path / "huge_line.csv"
    with open(path, "wb") as fh:
        fh.write("従業員番号,姓,名\n001,山田,太郎\n002,".encode())
        fh.write(b"x" * (3 * MAX_LINE_BYTES))
        fh.write(b",b\n")
    with pytest.raises(LedgerFileError) as err:
        read_ledger(path)
    (p,) = err.value.problems
    assert (p.code, p.cell) == ("ledger-line-too-long", "行 3")
    assert "3,000,007 バイト" in p.message  # "002," + 3 MB + ",b" + newline


def test_tab_separated_export_is_read(tmp_path):
    path = tmp_path / "tabs.txt"
    path.write_text("従業員番号\t姓\t名\n001\t山田\t太郎\n", encoding="utf-8")
    assert read_ledger(path).employees == [Employee("001", "山田", "太郎")]


def _raw_xlsx(path: Path, sheet_xml: str, *, date1904: bool = False, target: str = "worksheets/sheet1.xml") -> Path:
    """A minimal workbook written by hand, shaped like other writers' files (inline strings,
    furigana in shared strings, cells without r, the 1904 date system)."""
    import zipfile
    main_ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", f'<workbook {main_ns} {rel_ns}><workbookPr date1904="{int(date1904)}"/>'
                                      '<sheets><sheet name="台帳" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="worksheet" Target="{target}"/></Relationships>')
        z.writestr("xl/sharedStrings.xml", f'<sst {main_ns}>'
                   '<si><t>従業員番号</t></si>'
                   '<si><t>姓</t><rPh sb="0" eb="1"><t>セイ</t></rPh><phoneticPr fontId="1"/></si>'
                   '<si><r><t>名</t></r></si>'
                   '<si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh></si>'
                   '<si><t>一_x000D_郎</t></si></sst>')
        z.writestr("xl/styles.xml", f'<styleSheet {main_ns}><numFmts count="1">'
                   '<numFmt numFmtId="164" formatCode="0000"/></numFmts><cellXfs count="3">'
                   '<xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>')
        z.writestr(target.lstrip("/") if target.startswith("/") else "xl/" + target,
                   f'<worksheet {main_ns}><dimension ref="A1"/><sheetData>{sheet_xml}</sheetData></worksheet>')
    return path


def test_xlsx_from_other_writers(tmp_path):
    sheet = ('<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c>'
             '<c t="inlineStr"><is><t>生年月日</t></is></c><c r="E1" t="inlineStr"><is><t>入社年月日</t></is></c></row>'
             '<row r="3"><c r="A3" s="2"><v>7</v></c><c r="B3" t="s"><v>3</v></c><c r="C3" t="s"><v>4</v></c>'
             '<c r="D3" s="1"><v>0</v></c><c r="E3" t="d"><v>2024-04-01T00:00:00</v></c></row>')
    path = _raw_xlsx(tmp_path / "other.xlsx", sheet, date1904=True, target="/xl/worksheets/sheet1.xml")
    (e,) = read_ledger(path).employees
    assert (e.code, e.last_name, e.first_name) == ("0007", "山田", "一\r郎")
    assert (e.birth_date, e.hired_date) == (D(1904, 1, 1), D(2024, 4, 1))


def test_broken_xlsx_parts_are_reported_not_raised(tmp_path):
    path = _raw_xlsx(tmp_path / "broken.xlsx", '<row r="1"><c t="s"><v>0</v></c>')  # unclosed row
    with pytest.raises(LedgerFileError) as err:
        read_ledger(path)
    assert [p.code for p in err.value.problems] == ["ledger-unreadable"]


@pytest.mark.parametrize("last, first", [("ビジネスネーム(セイ)", "ビジネスネーム(メイ)"),
                                         ("ビジネスネーム（セイ）", "ビジネスネームメイ"),
                                         ("ビジネスネーム姓(カナ)", "ビジネスネーム(名カナ)")],
                         ids=["labels", "full-width-brackets", "aliases"])
def test_business_name_kana_columns_with_their_aliases(tmp_path, last, first):
    path = tmp_path / "ledger.csv"
    path.write_text(f"従業員番号,姓,名,ビジネスネーム(姓),{last},{first}\n00012,山田,太郎,鈴木,すずき,ﾊﾅ\n",
                    encoding="utf-8")
    rows = read_ledger(path)
    assert rows.problems == []
    (e,) = rows.employees
    assert (e.business_last_name, e.business_last_name_kana, e.business_first_name_kana) == ("鈴木", "スズキ", "ハナ")


EXCEL_ERRORS = ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#GETTING_DATA", "#SPILL!",
                "#CALC!"]


@pytest.mark.parametrize("value", EXCEL_ERRORS)
def test_an_excel_error_value_in_a_csv_is_refused_not_loaded_as_a_name(tmp_path, value):
    path = tmp_path / "errors.csv"
    path.write_text(f"従業員番号,姓,名,部署コード,性別\r\n001,山田,太郎,,男性\r\n002,{value},花子,{value},女性\r\n",
                    encoding="utf-8")
    with pytest.raises(LedgerFileError) as err:
        read_ledger(path)
    assert where(err.value) == [("ledger-excel-error-value", "行 3")] * 2  # one problem per cell
    first = err.value.problems[0]
    assert (first.value, first.employee_code) == (value, "002")
    assert f"「姓」の「{value}」は Excel のエラー値" in first.message and "数式" in first.message
    assert str(err.value).startswith("台帳ファイル errors.csv 3行目: ")


def test_excel_error_cells_in_an_xlsx_are_refused_cell_by_cell(tmp_path):
    sheet = ('<row r="1"><c r="A1" t="inlineStr"><is><t>従業員番号</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>姓</t></is></c><c r="C1" t="inlineStr"><is><t>名</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>001</t></is></c><c r="B2" t="e"><v>#N/A</v></c>'
             '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
             '<row r="3"><c r="A3" t="inlineStr"><is><t>002</t></is></c><c r="B3" t="e"><v>#SPILL!</v></c>'
             '<c r="C3" t="inlineStr"><is><t>花子</t></is></c></row>')
    path = _raw_xlsx(tmp_path / "errors.xlsx", sheet)
    with pytest.raises(LedgerFileError) as err:
        read_ledger(path)
    assert where(err.value) == [("ledger-excel-error-value", "B2"), ("ledger-excel-error-value", "C2"),
                                ("ledger-excel-error-value", "B3")]
    assert [p.value for p in err.value.problems] == ["#N/A", "#DIV/0!", "#SPILL!"]


def test_text_that_only_looks_like_an_error_value_is_a_name(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("従業員番号,姓,名\r\n001,#N/A様,#1\r\n", encoding="utf-8")
    (e,) = read_ledger(path).employees
    assert (e.last_name, e.first_name) == ("#N/A様", "#1")

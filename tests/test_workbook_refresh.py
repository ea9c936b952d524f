"""`template --refresh`: keeps what HR entered, rewrites the lists, adds unmapped rows, backs up."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.worksheet.datavalidation import DataValidationList
from support.workbook import EMPLOYEES, MASTERS, TODAY, hr_workbook

from etl.clock import JST
from etl.records import Employee, Masters
from etl.workbook.layout import ADDED_FILL, AUTO_FILL
from etl.workbook.model import SHEET_DIVISIONS, SHEET_MASTER, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.read import read_workbook
from etl.workbook.refresh import refresh
from etl.workbook.validate import validate_book

NOW = dt.datetime(2026, 4, 10, 12, 0, tzinfo=JST)
LIVE = Masters({**MASTERS.divisions, "1300": "新規事業部"}, {**MASTERS.working_types, "4": "嘱託"})
DEPARTMENTS = {"100": "総務部", "110": "営業部", "120": "開発部", "0300": "物流", "130": "新規事業部"}
CLASSES = ["パート", "契約社員", "嘱託", "正社員"]


def _hr_edits(wb):
    wb[SHEET_DIVISIONS]["E2"].comment = Comment("総務は本社に寄せる", "人事 山田")
    wb[SHEET_OVERRIDES]["G2"] = "5月から営業部 (辞令 2026-041)"
    wb[SHEET_SETTINGS]["B5"] = "hr@example.co.jp"
    wb[SHEET_OVERRIDES].data_validations = DataValidationList()  # what a round trip through some tools does


@pytest.fixture
def refreshed(tmp_path):
    path = hr_workbook(tmp_path, _hr_edits)
    before = read_workbook(path)
    result = refresh(path, LIVE, DEPARTMENTS, CLASSES, NOW)
    return path, before, result


def test_values_and_comments_are_kept(refreshed):
    path, before, _ = refreshed
    after = read_workbook(path)
    assert after.settings == before.settings
    assert after.overrides == before.overrides
    assert after.fields == before.fields and after.output_columns == before.output_columns
    assert [m for m in after.divisions if m.division_code] == list(before.divisions)
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_DIVISIONS]["E2"].comment.text.startswith("総務は本社に寄せる")
    assert wb[SHEET_OVERRIDES]["G2"].value == "5月から営業部 (辞令 2026-041)"


def test_unmapped_departments_and_classes_are_appended_highlighted(refreshed):
    path, _, result = refreshed
    assert result.added_departments == ["0300", "130"]
    assert result.added_classes == ["嘱託"]
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_DIVISIONS]
    assert [c.value for c in ws[5]][:3] == ["0300", "物流", None]
    assert [c.value for c in ws[6]][:3] == ["130", "新規事業部", None]
    assert ws["A6"].number_format == "@"
    # 130 新規事業部 is linked by the same name, 0300 by the same code: nothing to enter
    assert ws["A6"].fill.fgColor.rgb.endswith(AUTO_FILL.fgColor.rgb[-6:])
    assert ws["E6"].value == ("2026-04-10 自動追加: 同じ名前の所属 1300 新規事業部 に自動で連携されます。"
                              "別の所属にする場合だけ勤怠所属コードを入力してください")
    assert result.auto_departments == ["0300", "130"] and result.auto_classes == ["嘱託"]
    assert [c.value for c in wb[SHEET_TYPES][5]][:2] == ["嘱託", None]


def test_master_lists_and_dropdowns_are_rewritten(refreshed):
    path, _, _ = refreshed
    wb = openpyxl.load_workbook(path)
    assert wb[SHEET_MASTER].sheet_state == "hidden" and wb.sheetnames[-1] == SHEET_MASTER
    dvs = {str(dv.sqref): dv for dv in wb[SHEET_OVERRIDES].data_validations.dataValidation}
    division_list = dvs["C2:C1048576"].formula1
    ref = division_list.split("!")[1].replace("$", "")
    assert [c.value for row in wb[SHEET_MASTER][ref] for c in row] == [f"{c} {n}" for c, n in LIVE.divisions.items()]
    settings = {str(dv.sqref): dv for dv in wb[SHEET_SETTINGS].data_validations.dataValidation}
    assert settings["B8"].formula1 == division_list  # 既定の勤怠所属コード


def test_backup_of_the_previous_file(refreshed, tmp_path):
    path, _, result = refreshed
    assert result.backup == tmp_path / "mapping.20260410-120000.bak.xlsx"
    assert len(read_workbook(result.backup).divisions) == 3  # as it was before the refresh
    assert len(read_workbook(path).divisions) == 5


def test_second_refresh_adds_nothing_and_keeps_both_backups(refreshed):
    path, _, first = refreshed
    second = refresh(path, LIVE, DEPARTMENTS, CLASSES, NOW)
    assert second.added_departments == [] and second.added_classes == []
    assert second.backup != first.backup and second.backup.exists() and first.backup.exists()


def test_refreshed_workbook_validates_once_hr_fills_the_new_rows(refreshed):
    path, _, _ = refreshed
    wb = openpyxl.load_workbook(path)
    wb[SHEET_DIVISIONS]["C5"], wb[SHEET_DIVISIONS]["C6"] = "0300", "1300"
    wb[SHEET_TYPES]["B5"] = "4"
    wb.save(path)
    newcomers = [Employee("000301", "新井", "広", department_code="130", department_name="新規事業部",
                          employee_class="嘱託", hired_date=dt.date(2026, 4, 1))]
    assert validate_book(read_workbook(path), LIVE, EMPLOYEES + newcomers, TODAY) == []


def test_missing_sheet_and_setting_rows_are_restored(tmp_path):
    def edit(wb):
        del wb[SHEET_TYPES]
        wb[SHEET_SETTINGS].delete_rows(12)
    path = hr_workbook(tmp_path, edit)
    refresh(path, LIVE, DEPARTMENTS, CLASSES, NOW)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames.index(SHEET_TYPES) == 4
    book = read_workbook(path)
    assert book.read_problems == ()
    assert [m.employee_class for m in book.types] == CLASSES


def test_refresh_to_another_file_leaves_the_source_alone(tmp_path):
    path = hr_workbook(tmp_path)
    data = path.read_bytes()
    result = refresh(path, LIVE, DEPARTMENTS, CLASSES, NOW, dest=tmp_path / "new.xlsx")
    assert path.read_bytes() == data and result.backup is None and result.path.exists()


def test_added_rows_are_not_the_warning_yellow():
    from etl.workbook.annotate import WARNING_FILL
    assert ADDED_FILL.fgColor.rgb[-6:] != WARNING_FILL.fgColor.rgb[-6:]
    r, g, b = (int(ADDED_FILL.fgColor.rgb[-6:][i:i + 2], 16) for i in (0, 2, 4))
    assert b > r  # a blue, not a yellow


def test_refresh_fills_the_name_columns_as_values(refreshed):
    path, _, _ = refreshed
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_DIVISIONS]
    for row in range(2, 5):
        code = ws[f"C{row}"].value
        assert ws[f"D{row}"].value == LIVE.divisions[code] and not str(ws[f"D{row}"].value).startswith("=")
    ts = wb[SHEET_TYPES]
    assert all(ts[f"C{row}"].value == LIVE.working_types[ts[f"B{row}"].value] for row in range(2, 5))


def test_a_dropdown_choice_reads_as_its_code_and_settles_the_added_row(refreshed):
    path, _, _ = refreshed
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_DIVISIONS]
    assert "自動で連携されます" in ws["E6"].value
    ws["C6"] = "1300 新規事業部"  # what HR picks from the dropdown
    wb[SHEET_TYPES]["B5"] = "4 嘱託"
    wb.save(path)
    book = read_workbook(path)
    assert [m.division_code for m in book.divisions][-1] == "1300"
    assert [m.type_code for m in book.types][-1] == "4"
    refresh(path, LIVE, DEPARTMENTS, CLASSES, NOW + dt.timedelta(days=1))
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_DIVISIONS]
    assert ws["E6"].value is None and ws["A6"].fill.fill_type is None  # note and fill cleared
    assert ws["D6"].value == "新規事業部"
    assert "同じコードの所属 0300 物流センター に自動で連携されます" in ws["E5"].value  # 0300: still its note
    assert ws["A5"].fill.fgColor.rgb.endswith(AUTO_FILL.fgColor.rgb[-6:])
    assert wb[SHEET_TYPES]["C5"].value == "嘱託"


def test_backups_go_to_the_folder_given(tmp_path):
    path = hr_workbook(tmp_path)
    result = refresh(path, LIVE, DEPARTMENTS, CLASSES, NOW, backup_dir=tmp_path / "reports" / "backups")
    assert result.backup.parent == tmp_path / "reports" / "backups"
    assert not list(path.parent.glob("*.bak*.xlsx"))


# --- added rows the resolver already links (same code / same name) vs rows that need a code ---------
PLAIN = {"140": "品質保証部", "0300": "物流", "130": "新規事業部"}  # 140: no division of that code or name


def _fill(cell) -> str:
    return cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type == "solid" else ""


def _newcomer(code, department_code, department_name, employee_class):
    return Employee(code, "新井", "広", department_code=department_code, department_name=department_name,
                    employee_class=employee_class, hired_date=dt.date(2026, 4, 1))


def test_added_rows_say_what_will_happen(tmp_path):
    from etl.workbook.annotate import ERROR_FILL, WARNING_FILL
    from etl.workbook.resolve import FROM_SAME_CODE, FROM_SAME_NAME, Resolver

    path = hr_workbook(tmp_path)
    result = refresh(path, LIVE, PLAIN, ["嘱託", "アルバイト"], NOW)
    assert result.added_departments == ["140", "0300", "130"] and result.auto_departments == ["0300", "130"]
    assert result.added_classes == ["嘱託", "アルバイト"] and result.auto_classes == ["嘱託"]
    wb = openpyxl.load_workbook(path)
    ws, ts = wb[SHEET_DIVISIONS], wb[SHEET_TYPES]
    notes = {ws[f"A{r}"].value: (ws[f"E{r}"].value, {_fill(c) for c in ws[r][:5]}) for r in (5, 6, 7)}
    assert notes == {
        "140": ("2026-04-10 自動追加: 勤怠所属コードを入力してください", {"DDEBF7"}),
        "0300": ("2026-04-10 自動追加: 同じコードの所属 0300 物流センター に自動で連携されます。"
                 "別の所属にする場合だけ勤怠所属コードを入力してください", {"E2EFDA"}),
        "130": ("2026-04-10 自動追加: 同じ名前の所属 1300 新規事業部 に自動で連携されます。"
                "別の所属にする場合だけ勤怠所属コードを入力してください", {"E2EFDA"}),
    }
    assert {ts[f"A{r}"].value: (ts[f"D{r}"].value, {_fill(c) for c in ts[r][:4]}) for r in (5, 6)} == {
        "嘱託": ("2026-04-10 自動追加: 同じ名前の雇用区分 4 嘱託 に自動で連携されます。"
               "別の雇用区分にする場合だけ勤怠雇用区分コードを入力してください", {"E2EFDA"}),
        "アルバイト": ("2026-04-10 自動追加: 勤怠雇用区分コードを入力してください", {"DDEBF7"}),
    }
    assert AUTO_FILL.fgColor.rgb[-6:] not in {f.fgColor.rgb[-6:] for f in (ADDED_FILL, WARNING_FILL, ERROR_FILL)}
    # the note names what the sync will use: the same resolver decides
    book = read_workbook(path)
    resolver = Resolver(book, LIVE)
    assert resolver.division(_newcomer("000301", "0300", "物流", "嘱託")) == ("0300", FROM_SAME_CODE)
    assert resolver.division(_newcomer("000302", "130", "新規事業部", "嘱託")) == ("1300", FROM_SAME_NAME)
    assert resolver.employment_type(_newcomer("000302", "130", "新規事業部", "嘱託")) == ("4", FROM_SAME_NAME)
    # validate: nothing at the green rows; the blue rows are what it names (as before)
    employees = EMPLOYEES + [_newcomer("000301", "130", "新規事業部", "嘱託"),
                             _newcomer("000302", "140", "品質保証部", "アルバイト")]
    problems = validate_book(book, LIVE, employees, TODAY)
    assert sorted((p.code, p.sheet, p.cell) for p in problems) == [
        ("unresolved-division", SHEET_DIVISIONS, "C5"), ("unresolved-employment-type", SHEET_TYPES, "B6")]


def test_an_added_row_turns_green_once_the_masters_link_it(tmp_path):
    """Added with 「…を入力してください」; the attendance side then registers 品質保証部: the next
    refresh, and the annotated copy, say it is linked automatically."""
    from etl.workbook.annotate import annotate

    path = hr_workbook(tmp_path)
    refresh(path, LIVE, PLAIN, [], NOW)
    assert openpyxl.load_workbook(path)[SHEET_DIVISIONS]["E5"].value.endswith("勤怠所属コードを入力してください")
    later = Masters({**LIVE.divisions, "1400": "品質保証部"}, LIVE.working_types)
    copy = annotate(path, [], tmp_path / "検証結果_mapping.xlsx", later)
    ws = openpyxl.load_workbook(copy)[SHEET_DIVISIONS]
    assert ws["E5"].value == ("2026-04-10 自動追加: 同じ名前の所属 1400 品質保証部 に自動で連携されます。"
                              "別の所属にする場合だけ勤怠所属コードを入力してください")
    assert _fill(ws["A5"]) == "E2EFDA"
    refresh(path, later, PLAIN, [], NOW + dt.timedelta(days=1))
    ws = openpyxl.load_workbook(path)[SHEET_DIVISIONS]
    assert ws["E5"].value.startswith("2026-04-10 自動追加: 同じ名前の所属 1400 品質保証部")  # the date it was added
    assert _fill(ws["A5"]) == "E2EFDA" and ws["C5"].value is None

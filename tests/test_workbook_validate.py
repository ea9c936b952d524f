"""The validator: the HR-filled workbook is clean; each planted mistake is reported at its exact cell."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from support.workbook import EMPLOYEES, MASTERS, TODAY, hr_workbook, problems_of, where

from etl.errors import ERROR, WARNING
from etl.records import Employee
from etl.workbook.model import (
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
)
from etl.workbook.read import read_workbook
from etl.workbook.validate import validate_book


def test_hr_filled_workbook_is_clean(tmp_path):
    assert problems_of(hr_workbook(tmp_path)) == []


def _set(sheet, ref, value):
    def edit(wb):
        wb[sheet][ref] = value
    return edit


def _append(sheet, row):
    def edit(wb):
        wb[sheet].append(row)
    return edit


# (id, edit, expected (code, sheet, cell), severity)
DEFECTS = [
    ("template-version", _set(SHEET_SETTINGS, "B2", "2"), ("template-version", SHEET_SETTINGS, "B2"), ERROR),
    ("unknown-division-in-mapping", _set(SHEET_DIVISIONS, "C3", "1110"),
     ("unknown-division", SHEET_DIVISIONS, "C3"), ERROR),
    ("unknown-type-in-mapping", _set(SHEET_TYPES, "B3", "9"), ("unknown-employment-type", SHEET_TYPES, "B3"), ERROR),
    ("department-not-in-ledger", _append(SHEET_DIVISIONS, ["999", "廃止した部", "1000"]),
     ("unknown-department", SHEET_DIVISIONS, "A5"), WARNING),
    ("class-not-in-ledger", _append(SHEET_TYPES, ["嘱託", "1"]), ("unknown-employee-class", SHEET_TYPES, "A5"), WARNING),
    ("duplicate-department-conflict", _append(SHEET_DIVISIONS, ["100", "総務部", "1100"]),
     ("duplicate-mapping-conflict", SHEET_DIVISIONS, "A5"), ERROR),
    ("duplicate-department-same", _append(SHEET_DIVISIONS, ["100", "総務部", "1000"]),
     ("duplicate-mapping", SHEET_DIVISIONS, "A5"), WARNING),
    ("duplicate-class-conflict", _append(SHEET_TYPES, ["パート", "2"]),
     ("duplicate-mapping-conflict", SHEET_TYPES, "A5"), ERROR),
    ("duplicate-override-conflict", _append(SHEET_OVERRIDES, ["000105", "", "1200"]),
     ("duplicate-mapping-conflict", SHEET_OVERRIDES, "A3"), ERROR),
    ("override-unknown-employee", _set(SHEET_OVERRIDES, "A2", "999999"),
     ("override-unknown-employee", SHEET_OVERRIDES, "A2"), ERROR),
    ("override-unknown-division", _set(SHEET_OVERRIDES, "C2", "7777"), ("unknown-division", SHEET_OVERRIDES, "C2"), ERROR),
    ("override-unknown-type", _set(SHEET_OVERRIDES, "D2", "7"), ("unknown-employment-type", SHEET_OVERRIDES, "D2"), ERROR),
    ("impossible-date", _set(SHEET_OVERRIDES, "E2", "2026-02-30"), ("invalid-date", SHEET_OVERRIDES, "E2"), ERROR),
    ("unreadable-date", _set(SHEET_OVERRIDES, "E2", "来月"), ("invalid-date", SHEET_OVERRIDES, "E2"), ERROR),
    ("effective-date-in-the-past", _set(SHEET_OVERRIDES, "E2", "2026/03/31"),
     ("effective-date-past", SHEET_OVERRIDES, "E2"), WARNING),
    ("effective-date-over-a-year-ahead", _set(SHEET_OVERRIDES, "E2", dt.datetime(2027, 4, 11)),
     ("effective-date-far", SHEET_OVERRIDES, "E2"), ERROR),
    ("invalid-boolean", _set(SHEET_OVERRIDES, "F2", "たぶん"), ("invalid-boolean", SHEET_OVERRIDES, "F2"), ERROR),
    ("formula-in-code-cell", _set(SHEET_DIVISIONS, "C2", '="1000"'), ("formula-in-cell", SHEET_DIVISIONS, "C2"), ERROR),
    ("time-out-of-range", _set(SHEET_SETTINGS, "B7", "25:00"), ("invalid-setting", SHEET_SETTINGS, "B7"), ERROR),
    ("day-out-of-range", _set(SHEET_SETTINGS, "B12", 31), ("invalid-setting", SHEET_SETTINGS, "B12"), ERROR),
    ("day-not-a-number", _set(SHEET_SETTINGS, "B12", "毎月末"), ("invalid-setting", SHEET_SETTINGS, "B12"), ERROR),
    ("unknown-encoding", _set(SHEET_SETTINGS, "B11", "EUC-JP"), ("invalid-setting", SHEET_SETTINGS, "B11"), ERROR),
    ("unknown-output-target", _set(SHEET_SETTINGS, "B10", "PDF"), ("invalid-setting", SHEET_SETTINGS, "B10"), ERROR),
    ("setting-boolean", _set(SHEET_SETTINGS, "B3", "多分"), ("invalid-setting", SHEET_SETTINGS, "B3"), ERROR),
    ("malformed-email", _set(SHEET_SETTINGS, "B5", "hr@example.co.jp\npayroll@example"),
     ("invalid-email", SHEET_SETTINGS, "B5"), ERROR),
    ("auto-sync-in-restricted-hours", lambda wb: (_set(SHEET_SETTINGS, "B6", "する")(wb),
                                                  _set(SHEET_SETTINGS, "B7", "09:00")(wb)),
     ("auto-sync-restricted-hours", SHEET_SETTINGS, "B7"), WARNING),
    ("unknown-default-division", _set(SHEET_SETTINGS, "B8", "1111"),
     ("unknown-default-division", SHEET_SETTINGS, "B8"), ERROR),
    ("unknown-default-type", _set(SHEET_SETTINGS, "B9", "9"), ("unknown-default-type", SHEET_SETTINGS, "B9"), ERROR),
    ("unknown-setting-label", _append(SHEET_SETTINGS, ["謎の設定", "1"]), ("unknown-setting", SHEET_SETTINGS, "A14"),
     WARNING),
    ("duplicate-setting", _append(SHEET_SETTINGS, ["自動連携", "する"]), ("duplicate-setting", SHEET_SETTINGS, "A14"),
     ERROR),
    ("required-field-off", _set(SHEET_FIELDS, "C3", "いいえ"), ("required-field-off", SHEET_FIELDS, "C3"), WARNING),
    ("unknown-field", _set(SHEET_FIELDS, "A4", "ニックネーム"), ("unknown-field", SHEET_FIELDS, "A4"), ERROR),
    ("unknown-output-item", _set(SHEET_OUTPUT, "B3", "給与"), ("unknown-output-item", SHEET_OUTPUT, "B3"), ERROR),
    ("invalid-output-format", _set(SHEET_OUTPUT, "C5", "秒"), ("invalid-output-format", SHEET_OUTPUT, "C5"), ERROR),
    ("duplicate-output-column", _set(SHEET_OUTPUT, "A3", "従業員番号"),
     ("duplicate-output-column", SHEET_OUTPUT, "A3"), WARNING),
    ("target-without-key", _append(SHEET_DIVISIONS, [None, "名無し", "1000"]),
     ("mapping-key-missing", SHEET_DIVISIONS, "A5"), ERROR),
    ("missing-header", _set(SHEET_OVERRIDES, "E1", None), ("missing-header", SHEET_OVERRIDES, "E1"), ERROR),
    ("renamed-header", _set(SHEET_TYPES, "B1", "雇用区分"), ("missing-header", SHEET_TYPES, "E1"), ERROR),
]


@pytest.mark.parametrize("edit, expected, severity", [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_each_defect_is_reported_at_its_cell(tmp_path, edit, expected, severity):
    problems = problems_of(hr_workbook(tmp_path, edit))
    found = [p for p in problems if (p.code, p.sheet, p.cell) == expected]
    assert found, where(problems)
    assert found[0].severity == severity
    assert found[0].message  # Japanese, says what to do
    if expected[1] in (SHEET_SETTINGS, SHEET_FIELDS, SHEET_OUTPUT) or "date" in expected[0] or expected[0].startswith(
            ("unknown-d", "unknown-e", "invalid", "formula")):
        assert len(problems) == 1, where(problems)  # nothing else is disturbed


def test_missing_sheet_is_one_problem_and_the_rest_is_still_checked(tmp_path):
    def edit(wb):
        del wb[SHEET_OVERRIDES]
        wb[SHEET_TYPES]["B3"] = "9"
    problems = problems_of(hr_workbook(tmp_path, edit))
    assert where(problems) == [("unknown-employment-type", SHEET_TYPES, "B3"), ("missing-sheet", SHEET_OVERRIDES, "")]


def test_did_you_mean_suggests_a_near_code_and_explains_a_name(tmp_path):
    def edit(wb):
        wb[SHEET_DIVISIONS]["C3"] = "1110"
        wb[SHEET_DIVISIONS]["C4"] = "開発部"
    problems = {p.cell: p for p in problems_of(hr_workbook(tmp_path, edit))}
    assert "もしかして「1100」(営業部)" in problems["C3"].message
    assert "「開発部」は所属名です。所属コード「1200」を入力してください" in problems["C4"].message


def test_effective_date_boundaries_are_accepted(tmp_path):
    for value in (dt.datetime(2026, 4, 10), dt.datetime(2027, 4, 10)):  # today, one year ahead
        assert problems_of(hr_workbook(tmp_path, _set(SHEET_OVERRIDES, "E2", value))) == []


def test_past_effective_date_is_sent_as_entered_with_a_warning(tmp_path):
    [p] = problems_of(hr_workbook(tmp_path, _set(SHEET_OVERRIDES, "E2", "2026-04-09")))
    assert p.severity == WARNING and "入力どおりこの日付で勤怠に送信します" in p.message
    assert "締め済みの期間" in p.message and "2026-04-09" in p.message
    assert p.employee_code == "000105"


def test_effective_date_more_than_a_year_ahead_is_an_error_naming_the_limit(tmp_path):
    [p] = problems_of(hr_workbook(tmp_path, _set(SHEET_OVERRIDES, "E2", "2027-04-11")))
    assert p.severity == ERROR and "2027-04-10" in p.message


def test_several_email_separators(tmp_path):
    text = "a@example.co.jp,b@example.co.jp；c@example.jp\nd@example.com"
    book = read_workbook(hr_workbook(tmp_path, _set(SHEET_SETTINGS, "B5", text)))
    assert book.settings.notify_emails == ("a@example.co.jp", "b@example.co.jp", "c@example.jp", "d@example.com")
    assert validate_book(book, MASTERS, EMPLOYEES, TODAY) == []


def _emp(code, dept="130", cls="正社員", **kw):
    return Employee(code, "試験", "太郎", department_code=dept, department_name="新設部", employee_class=cls,
                    hired_date=kw.pop("hired_date", dt.date(2025, 4, 1)), **kw)


def test_unresolved_employees_are_counted_per_department_at_the_row_to_add(tmp_path):
    employees = EMPLOYEES + [
        _emp("000201"), _emp("000202"),
        _emp("000203", resignation_date=dt.date(2026, 3, 31)),  # retired: out of scope
        _emp("000204", hired_date=None),  # not hired yet and 入社年月日登録者のみ連携 = はい
        _emp("000205", dept="140", cls="アルバイト"),
        _emp("000105", dept="150"),  # has a 個別設定 (division 1100): resolved
    ]
    employees = [e for e in employees if not (e.code == "000105" and e.department_code == "120")]
    problems = problems_of(hr_workbook(tmp_path), employees)
    assert where(problems) == [
        ("unresolved-division", SHEET_DIVISIONS, "A5"),
        ("unresolved-division", SHEET_DIVISIONS, "A6"),
        ("unresolved-employment-type", SHEET_TYPES, "A5"),
    ]
    assert "部署「130 (新設部)」の従業員 2 名" in problems[0].message
    assert "「アルバイト」" in problems[2].message and "1 名" in problems[2].message


def test_unresolved_points_at_an_existing_row_with_a_blank_target(tmp_path):
    edit = _append(SHEET_DIVISIONS, ["130", "新設部", None])
    problems = problems_of(hr_workbook(tmp_path, edit), EMPLOYEES + [_emp("000201")])
    assert where(problems) == [("unresolved-division", SHEET_DIVISIONS, "C5")]


def test_scope_follows_hired_only_and_exclusion(tmp_path):
    employees = EMPLOYEES + [_emp("000204", hired_date=None), _emp("000206")]
    def edit(wb):
        wb[SHEET_SETTINGS]["B3"] = "いいえ"
        wb[SHEET_OVERRIDES].append(["000206", "", None, None, None, "はい"])
    problems = problems_of(hr_workbook(tmp_path, edit), employees)
    assert [(p.code, p.cell) for p in problems] == [("unresolved-division", "A5")]
    assert "1 名" in problems[0].message


def test_default_division_resolves_everyone_and_says_whom(tmp_path):
    edit = _set(SHEET_SETTINGS, "B8", "1000")
    problems = problems_of(hr_workbook(tmp_path, edit), EMPLOYEES + [_emp("000201"), _emp("000202")])
    assert [(p.code, p.severity, p.sheet, p.cell) for p in problems] == \
        [("default-division-used", WARNING, SHEET_SETTINGS, "B8")]
    message = problems[0].message
    assert "2 名" in message and "「1000」" in message and "000201, 000202" in message


def test_a_blank_type_mapping_falls_to_the_same_name_before_the_default(tmp_path):
    """The issue's case: 正社員's mapping code blank, default 契約社員 — 正社員 still goes to 「正社員」."""
    def edit(wb):
        ws = wb[SHEET_TYPES]
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "正社員")
        ws.cell(row, 2).value = None
        _set(SHEET_SETTINGS, "B9", "2")(wb)
    book = read_workbook(hr_workbook(tmp_path, edit))
    from etl.workbook.resolve import Resolver
    resolver = Resolver(book, MASTERS)
    assert resolver.employment_type(EMPLOYEES[0]) == ("1", "同じ名前")
    assert [p.code for p in validate_book(book, MASTERS, EMPLOYEES, TODAY)] == []


def test_a_class_without_row_code_or_name_is_decided_by_the_default_with_a_warning(tmp_path):
    employees = EMPLOYEES + [dataclasses.replace(EMPLOYEES[0], code="000301", employee_class="嘱託")]
    problems = problems_of(hr_workbook(tmp_path, _set(SHEET_SETTINGS, "B9", "2")), employees)
    assert [(p.code, p.value) for p in problems] == [("default-type-used", "嘱託")]
    assert "1 名" in problems[0].message and "000301" in problems[0].message


def test_problems_come_sorted_by_sheet_and_row(tmp_path):
    def edit(wb):
        wb[SHEET_OVERRIDES]["E2"] = "2026-02-30"
        wb[SHEET_SETTINGS]["B2"] = "3"
        wb[SHEET_DIVISIONS]["C4"] = "x"
        wb[SHEET_DIVISIONS]["C2"] = "y"
    cells = [(p.sheet, p.cell) for p in problems_of(hr_workbook(tmp_path, edit))]
    assert cells == [(SHEET_SETTINGS, "B2"), (SHEET_DIVISIONS, "C2"), (SHEET_DIVISIONS, "C4"), (SHEET_OVERRIDES, "E2")]


def test_validator_is_pure_on_a_book_built_in_code():
    from etl.workbook.model import DivisionMapping, MappingBook, Pos, WorkbookSettings
    book = MappingBook(path="x.xlsx", settings=WorkbookSettings(auto_import_day=0),
                       divisions=(DivisionMapping("100", "", "9", "", "", Pos(SHEET_DIVISIONS, 2, {"division_code": "C2"})),))
    problems = validate_book(book, MASTERS, [dataclasses.replace(EMPLOYEES[0])], TODAY)
    # 正社員 has no mapping row: the working type with the same name decides
    assert [(p.code, p.cell) for p in problems] == [("invalid-setting", ""), ("unknown-division", "C2")]


def test_no_department_points_to_the_default_or_an_override_not_a_blank_mapping_row(tmp_path):
    employees = EMPLOYEES + [_emp("000401", dept="")]
    problems = [p for p in problems_of(hr_workbook(tmp_path), employees) if p.code == "unresolved-division"]
    assert len(problems) == 1
    message = problems[0].message
    assert "既定の勤怠所属コード" in message and "個別設定" in message
    assert "行 (なければ追加)" not in message

"""The annotated copy: fills and comments at the problem cells, a 検証結果 sheet with links."""
from __future__ import annotations

import openpyxl
import pytest
from openpyxl.comments import Comment
from support.workbook import hr_workbook, problems_of

from etl.errors import Problem
from etl.workbook.annotate import ERROR_FILL, SHEET_RESULTS, WARNING_FILL, annotate
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_SETTINGS


def _broken(wb):
    wb[SHEET_DIVISIONS]["C3"] = "1110"  # error
    wb[SHEET_OVERRIDES]["E2"] = "2026-03-01"  # warning
    wb[SHEET_OVERRIDES]["E2"].comment = Comment("HR のメモ", "人事")
    wb[SHEET_SETTINGS]["B12"] = 31  # error


@pytest.fixture
def annotated(tmp_path):
    src = hr_workbook(tmp_path, _broken)
    before = src.read_bytes()
    problems = problems_of(src)
    dest = annotate(src, problems, tmp_path / "reports" / "検証結果_mapping.xlsx")
    assert src.read_bytes() == before  # the user's file is never modified
    return problems, openpyxl.load_workbook(dest)


def test_problem_cells_are_filled_and_commented(annotated):
    problems, wb = annotated
    assert {(p.code, p.sheet, p.cell) for p in problems} == {
        ("unknown-division", SHEET_DIVISIONS, "C3"), ("effective-date-past", SHEET_OVERRIDES, "E2"),
        ("invalid-setting", SHEET_SETTINGS, "B12")}
    error = wb[SHEET_DIVISIONS]["C3"]
    assert error.fill.fgColor.rgb.endswith(ERROR_FILL.fgColor.rgb[-6:])
    assert "1110" in error.comment.text and "[エラー]" in error.comment.text
    warning = wb[SHEET_OVERRIDES]["E2"]
    assert warning.fill.fgColor.rgb.endswith(WARNING_FILL.fgColor.rgb[-6:])
    assert warning.comment.text.startswith("HR のメモ")  # HR's own comment is kept, ours appended
    assert "[警告]" in warning.comment.text
    assert wb[SHEET_SETTINGS]["B12"].comment is not None
    untouched = wb[SHEET_DIVISIONS]["C2"]
    assert untouched.comment is None and untouched.fill.fgColor.rgb in ("00000000", None)


def test_results_sheet_lists_every_problem_with_a_link(annotated):
    problems, wb = annotated
    assert wb.sheetnames[0] == SHEET_RESULTS and wb.active.title == SHEET_RESULTS
    ws = wb[SHEET_RESULTS]
    rows = list(ws.iter_rows(min_row=2, max_col=7, values_only=True))
    # errors first, then warnings; each with its catalogue title beside the code
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    assert [(r[2], r[3], r[4]) for r in rows] == [(p.code, p.sheet, p.cell) for p in ordered]
    assert [r[0] for r in rows] == ["エラー", "エラー", "警告"]
    assert dict((r[2], r[1]) for r in rows)["unknown-division"] == "存在しない所属コード"
    links = {ws.cell(r, 5).value: ws.cell(r, 5).hyperlink.location for r in range(2, ws.max_row + 1)}
    assert links["C3"] == f"'{SHEET_DIVISIONS}'!C3"
    assert links["E2"] == f"'{SHEET_OVERRIDES}'!E2"


def test_values_and_dropdowns_survive_in_the_copy(annotated):
    _, wb = annotated
    assert wb[SHEET_DIVISIONS]["A2"].value == "100"
    assert any(dv.type == "list" for dv in wb[SHEET_OVERRIDES].data_validations.dataValidation)


def test_problems_without_a_cell_are_listed_without_a_link(tmp_path):
    src = hr_workbook(tmp_path)
    problems = [Problem.of("missing-sheet", sheet="個別設定"), Problem(severity="error", code="api-unavailable",
                                                                        message="勤怠APIに接続できません")]
    wb = openpyxl.load_workbook(annotate(src, problems, tmp_path / "copy.xlsx"))
    ws = wb[SHEET_RESULTS]
    assert [ws.cell(r, 3).value for r in (2, 3)] == ["missing-sheet", "api-unavailable"]
    assert ws.cell(2, 5).hyperlink is None


def test_annotating_an_annotated_copy_replaces_the_results(tmp_path):
    src = hr_workbook(tmp_path)
    first = annotate(src, [Problem.of("template-version", sheet=SHEET_SETTINGS, cell="B2", value="2")],
                     tmp_path / "a.xlsx")
    second = annotate(first, [], tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames.count(SHEET_RESULTS) == 1
    assert wb[SHEET_RESULTS]["G2"].value == "問題は見つかりませんでした。"


def test_never_writes_over_its_source(tmp_path):
    src = hr_workbook(tmp_path)
    with pytest.raises(ValueError):
        annotate(src, [], src)


def test_the_annotated_copy_writes_the_name_beside_each_code(tmp_path):
    from support.workbook import MASTERS

    from etl.workbook.annotate import count_marks
    src = hr_workbook(tmp_path, _broken)
    problems = problems_of(src)
    dest = annotate(src, problems, tmp_path / "out.xlsx", masters=MASTERS)
    ws = openpyxl.load_workbook(dest)[SHEET_DIVISIONS]
    code = ws["C2"].value
    assert ws["D2"].value == MASTERS.divisions[code]
    assert ws["C3"].value == "1110" and ws["D3"].value == openpyxl.load_workbook(src)[SHEET_DIVISIONS]["D3"].value  # an unknown code: its name left as it was
    assert count_marks(problems) == 3
    assert count_marks([Problem.of("api-unavailable", value="down"),
                        Problem.of("ledger-bad-row", sheet="台帳.csv", cell="行 3", reason="x")]) == 0


def test_codes_without_a_name_column_read_as_code_and_name_in_the_copy(tmp_path):
    """個別設定 and 設定's 既定の… codes have no name column: the copy shows 「1200 開発部」 there;
    a code already labelled, an unknown code and an empty cell stay as they are."""
    from support.workbook import MASTERS

    from etl.workbook import cells
    from etl.workbook.model import SHEET_OVERRIDES

    def edit(wb):
        ws = wb[SHEET_OVERRIDES]
        ws.append(["0009", "山田 太郎", "1200", 2, None, "いいえ"])
        ws.append(["0010", "佐藤 花子", "1100 営業部", None, None, "いいえ"])
        ws.append(["0011", "鈴木 一郎", "9999", None, None, "いいえ"])
        settings = wb[SHEET_SETTINGS]
        for row in range(2, settings.max_row + 1):
            if settings.cell(row, 1).value == "既定の勤怠所属コード":
                settings.cell(row, 2).value = "1000"
    src = hr_workbook(tmp_path, edit)
    wb = openpyxl.load_workbook(annotate(src, problems_of(src), tmp_path / "out.xlsx", masters=MASTERS))
    ws = wb[SHEET_OVERRIDES]
    rows = {ws.cell(r, 1).value: (ws.cell(r, 3).value, ws.cell(r, 4).value) for r in range(2, ws.max_row + 1)}
    assert rows["0009"] == ("1200 開発部", "2 契約社員")
    assert rows["0010"] == ("1100 営業部", None) and rows["0011"] == ("9999", None)
    settings = wb[SHEET_SETTINGS]
    values = {settings.cell(r, 1).value: settings.cell(r, 2).value for r in range(2, settings.max_row + 1)}
    assert values["既定の勤怠所属コード"] == "1000 本社"
    assert cells.choice(values["既定の勤怠所属コード"]) == "1000"  # read back as its code
    # the copy reads back with the same codes (HR may keep working in it)
    from support.workbook import read_workbook
    assert problems_of(tmp_path / "out.xlsx") == problems_of(src)
    assert read_workbook(tmp_path / "out.xlsx").settings.default_division_code == "1000"
    # without the masters (the API was not reached) the copy keeps HR's values
    plain = openpyxl.load_workbook(annotate(src, [], tmp_path / "plain.xlsx"))
    assert plain[SHEET_OVERRIDES].cell(ws.max_row - 2, 3).value == "1200"

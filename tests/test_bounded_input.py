"""Unbounded work and output, and one person twice (issue 16, kinds 2 and 3): every reader has a
row cap, stops after a long run of rows blank in the used columns, checks the expanded size of
an xlsx before parsing and refuses special files; reports keep 100 problems per code."""
from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import cli_env, make_config
from make_corpus import LEDGER_HEADER, LEDGER_ROWS, ZIP_TIME, stray_column_rows, template_bytes, text_file

from etl.cli import main
from etl.errors import PROBLEMS_PER_CODE, LedgerFileError, Problem, WorkbookError, cap_problems
from etl.ledger.load import Limits, read_ledger
from etl.ledger.rows import leading_zero_clashes, parse_rows
from etl.workbook.read import BLANK_RUN, read_workbook


def run(argv, env) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def ledger_csv(tmp_path: Path, *codes: str) -> Path:
    rest = [r.split(",", 1)[1] for r in LEDGER_ROWS]
    path = tmp_path / "ledger.csv"
    path.write_bytes(text_file([LEDGER_HEADER, *(f"{c},{rest[i % 3]}" for i, c in enumerate(codes))]))
    return path


# --- kind 2: one person twice -----------------------------------------------------------------

@pytest.mark.parametrize("existing,loaded", [("00123", "123"), ("123", "00123"), ("0A7", "A7"), ("0", "000")],
                         ids=["zeros-dropped", "zeros-added", "alphanumeric", "all-zeros"])
def test_a_code_equal_to_a_ledger_code_up_to_leading_zeros_is_an_error_naming_both(tmp_path, existing, loaded):
    path = ledger_csv(tmp_path, loaded, "E9")
    with pytest.raises(LedgerFileError) as e:
        read_ledger(path, existing=[existing, "E1"])
    assert f"「{loaded}」" in str(e.value) and f"「{existing}」" in str(e.value) and "2行目" in str(e.value)
    assert [p.code for p in e.value.problems] == ["ledger-code-leading-zeros"]


def test_the_same_code_or_a_different_number_is_no_clash(tmp_path):
    rows = read_ledger(ledger_csv(tmp_path, "00123", "1230", "10123"), existing=["00123", "1230"])
    assert [e.code for e in rows.employees] == ["00123", "1230", "10123"]


@pytest.mark.parametrize("new_people", [True, ["123"]], ids=["all-new", "this-code-new"])
def test_the_load_can_say_it_means_a_new_person(tmp_path, new_people):
    rows = read_ledger(ledger_csv(tmp_path, "123"), existing=["00123"], new_people=new_people)
    assert [e.code for e in rows.employees] == ["123"]
    assert [(p.code, p.severity, p.value) for p in rows.problems] == [
        ("ledger-code-leading-zeros-accepted", "warning", "123")]  # the sync still waits for 「なし」


def test_twins_inside_one_file_are_named_both_ways(tmp_path):
    with pytest.raises(LedgerFileError) as e:
        read_ledger(ledger_csv(tmp_path, "7", "E1", "007", "0007"))
    found = [(p.cell, p.value) for p in e.value.problems]
    assert found == [("行 4", "007"), ("行 5", "0007")]


def test_clashes_are_pure_data():
    from etl.ledger.rows import Rows
    from etl.records import Employee
    rows = Rows(employees=[Employee(code="12", last_name="a", first_name="b")], cells={"12": "A2"})
    [p] = leading_zero_clashes(rows, ["00012"], sheet="x.xlsx")
    assert (p.sheet, p.cell, p.employee_code) == ("x.xlsx", "A2", "12") and "「00012」" in p.message


def test_pull_never_adds_a_leading_zero_twin_of_a_ledger_employee(tmp_path, make_sandbox):
    """123 typed on the attendance side, 00123 in the ledger: pull-employees adds no second person."""
    import dataclasses

    from support.sync import Harness, empty_company, ledger_employees
    state = empty_company()
    for code in ("123", "0E0001", "E0009"):
        state.add({"code": code, "lastName": "山田", "firstName": "太郎", "divisionCode": "1100", "typeCode": "1",
                   "gender": "male"})
    h = Harness(tmp_path, make_sandbox(state))
    first = ledger_employees(1)[0]
    h.load([first, dataclasses.replace(first, code="00123")])
    run = h.pull()
    assert run.code == 1, run.err
    held = {p["employee_code"]: p["message"] for p in run.result["problems"] if p["code"] == "pull-code-leading-zeros"}
    assert set(held) == {"123", "0E0001"} and "「00123」" in held["123"] and "「E0001」" in held["0E0001"]
    assert sorted(e.code for e in h.ledger.employees()) == ["00123", "E0001", "E0009"]
    assert run.counts["created"] == 1 and run.counts["failed"] == 2
    assert {r["employee_code"] for r in run.rows(result="failed")} == {"123", "0E0001"}
    assert "123" not in h.ledger.links() and "E0009" in h.ledger.links()
    h.close()


# --- kind 3: bounded readers -------------------------------------------------------------------

def test_row_cap_and_blank_run_are_configurable():
    header = ["従業員番号", "姓", "名"]
    rows = [(n, [f"E{n}", "山田", "太郎"]) for n in range(2, 20)]
    out = parse_rows(header, rows, sheet="f.csv", cell=lambda r, c: f"line {r}", max_rows=10)
    assert [p.code for p in out.problems] == ["ledger-too-many-rows"] and out.problems[0].cell == "line 12"
    blank = [(2, ["E1", "山田", "太郎"]), *((n, [None, None, None, "x"]) for n in range(3, 100))]
    out = parse_rows(header + [""], blank, sheet="f.csv", cell=lambda r, c: f"line {r}", blank_run=5)
    assert out.problems[-1].code == "ledger-blank-run" and out.problems[-1].cell == "line 3"


def test_a_million_stray_rows_stop_early_and_the_report_stays_small(tmp_path, sandbox):
    path = tmp_path / "stray.xlsx"
    stray_column_rows(path, 1_000_000)
    config = make_config(tmp_path, sandbox)
    code, out, err = run(["--config", str(config), "ledger", "load", str(path)], cli_env(sandbox))
    assert code == 3 and len(err.splitlines()) == 1 and "stray.xlsx" in err
    folder = Path(out.splitlines()[-1].removeprefix("report: ")).parent
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert (folder / "result.json").stat().st_size < 300_000 and (folder / "errors.csv").stat().st_size < 300_000
    by_code: dict[str, int] = {}
    for p in result["problems"]:
        by_code[p["code"]] = by_code.get(p["code"], 0) + 1
    assert max(by_code.values()) <= PROBLEMS_PER_CODE and "more-problems" in by_code
    assert "ledger-blank-run" in by_code


def test_cap_problems_keeps_the_first_of_each_code_and_counts_the_rest():
    problems = [Problem.of("ledger-missing-value", cell=f"A{i}", column="姓") for i in range(250)]
    problems += [Problem.of("ledger-unknown-header", value="備考")]
    kept = cap_problems(problems, per_code=100)
    assert [p.cell for p in kept[:100]] == [f"A{i}" for i in range(100)]
    assert kept[100].code == "ledger-unknown-header"
    assert kept[-1].code == "more-problems" and "150 件" in kept[-1].message and kept[-1].severity == "error"


def test_a_ledger_xlsx_that_expands_too_far_is_refused_before_parsing(tmp_path):
    from make_corpus import ledger_bomb
    path = tmp_path / "bomb.xlsx"
    ledger_bomb(path, 8 << 20)
    with pytest.raises(LedgerFileError, match="大きすぎ"):
        read_ledger(path, limits=Limits(max_expanded_bytes=4 << 20))
    assert read_ledger(path).employees  # within the default limit it reads


def test_a_csv_beyond_the_size_limit_is_refused(tmp_path):
    path = ledger_csv(tmp_path, *(f"E{i}" for i in range(200)))
    with pytest.raises(LedgerFileError, match="大きすぎ"):
        read_ledger(path, limits=Limits(max_csv_bytes=1000))


def test_a_csv_of_too_many_fields_is_refused_as_it_is_read(tmp_path):
    from etl.ledger.load import FIELDS_PER_ROW
    path = tmp_path / "wide.csv"
    path.write_bytes(text_file([LEDGER_HEADER, *(f"E{i},山田,太郎" + "," * 300 for i in range(10))]))
    with pytest.raises(LedgerFileError, match="大きすぎ") as e:
        read_ledger(path, limits=Limits(max_rows=5))  # 5 × 100 fields: the third line passes 500
    assert e.value.problems[0].cell == "行 3" and 5 * FIELDS_PER_ROW == 500
    assert len(read_ledger(path, limits=Limits(max_rows=100)).employees) == 10  # trailing blanks: fine
    path.write_bytes(text_file([LEDGER_HEADER, "E1,山田,太郎" + "," * 16_384]))
    with pytest.raises(LedgerFileError, match="16,384 列"):
        read_ledger(path)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("name", ["ledger.csv", "ledger.xlsx"])
def test_a_fifo_ledger_is_refused_without_blocking(tmp_path, name):
    path = _fifo(tmp_path, name)
    with pytest.raises(LedgerFileError, match="通常のファイルではありません"):
        read_ledger(path)


def test_a_device_or_a_folder_is_refused(tmp_path):
    with pytest.raises(LedgerFileError, match="通常のファイルではありません"):
        read_ledger(Path("/dev/zero"))
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(LedgerFileError, match="フォルダー"):
        read_ledger(tmp_path / "dir.csv")


def test_a_fifo_workbook_is_one_line_exit_3(tmp_path, sandbox):
    path = _fifo(tmp_path, "mapping.xlsx")
    done: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: done.append(
        run(["--config", str(make_config(tmp_path, sandbox)), "validate", "--workbook", str(path)], cli_env(sandbox))))
    worker.start()
    worker.join(timeout=60)
    if worker.is_alive():  # it blocked on the FIFO: unblock it so the suite ends, then fail
        with open(path, "wb"):
            pass
        worker.join()
        pytest.fail("validate blocked on a FIFO")
    code, _, err = done[0]
    assert code == 3 and len(err.splitlines()) == 1 and "通常のファイルではありません" in err


def _template_with(sheet_rows: str, size_pad: int = 0) -> bytes:
    out = io.BytesIO()
    sheet = "xl/worksheets/sheet6.xml"  # 個別設定
    with zipfile.ZipFile(io.BytesIO(template_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == sheet:
                head, tail = data.decode("utf-8").split("</row></sheetData>", 1)
                data = (head + "</row>" + sheet_rows + "</sheetData>" + tail).encode("utf-8")
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=ZIP_TIME), data)
    return out.getvalue()


def test_rows_filled_only_in_an_unused_column_end_the_sheet_with_a_warning(tmp_path):
    rows = "".join(f'<row r="{r}"><c r="Z{r}"><v>1</v></c></row>' for r in range(2, 200_002))
    path = tmp_path / "mapping.xlsx"
    path.write_bytes(_template_with(rows))
    book = read_workbook(path)
    [p] = [p for p in book.read_problems if p.code == "sheet-blank-run"]
    assert (p.sheet, p.cell, p.severity) == ("個別設定", "A2", "warning") and f"{BLANK_RUN:,}" in p.message


def test_a_workbook_that_expands_too_far_is_refused_before_parsing(tmp_path):
    from make_corpus import workbook_bomb

    from etl.workbook.opening import open_workbook
    path = tmp_path / "bomb.xlsx"
    workbook_bomb(path, 8 << 20)
    with pytest.raises(WorkbookError, match="大きすぎ"), open_workbook(path, read_only=True, max_expanded=4 << 20):
        pass
    assert read_workbook(path).settings is not None  # within the default limit it reads


def test_an_employees_file_that_expands_too_far_is_refused_before_parsing(tmp_path):
    from make_corpus import ledger_bomb

    from etl.errors import InputError
    from etl.sync.selection import read_codes_file
    path = tmp_path / "codes.xlsx"
    ledger_bomb(path, 300 << 20)
    with pytest.raises(InputError, match="大きすぎ"):
        read_codes_file(path)
    fifo = _fifo(tmp_path, "codes.csv")
    with pytest.raises(InputError, match="通常のファイルではありません"):
        read_codes_file(fifo)  # a FIFO is not a file: refused, never opened (not "not found")
    with pytest.raises(InputError, match="フォルダー"):
        read_codes_file(tmp_path)


def test_a_stray_value_in_the_last_cell_of_a_sheet_does_not_make_the_writers_walk_a_million_rows(tmp_path):
    """A value in XFD1048576 of every sheet: the reader stops at the blank run, and so do the
    writers (annotate styled and saved a million rows: 59 s, 1.7 GB for validate)."""
    from etl.workbook.annotate import annotate
    path = tmp_path / "far.xlsx"
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"</sheetData>", far.encode())
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=ZIP_TIME), data)
    path.write_bytes(out.getvalue())
    book = read_workbook(path)
    assert {p.code for p in book.read_problems} == {"sheet-blank-run"}
    copy = annotate(path, book.read_problems, tmp_path / "annotated.xlsx")
    with zipfile.ZipFile(copy) as zf:
        rows = {n: zf.read(n).count(b"<row") for n in zf.namelist() if n.startswith("xl/worksheets/sheet")}
    assert max(rows.values()) < 2_000, rows  # the sheets' own rows, not a million styled empty ones


def test_the_annotated_results_sheet_lists_the_first_100_of_a_code_and_counts_the_rest(tmp_path):
    """20,000 unknown codes given to --employees: each is a problem; the results sheet was built
    row by row through ws.max_row (quadratic: 20,000 took minutes). Now capped like errors.csv."""
    from support.workbook import hr_workbook

    from etl.workbook.annotate import SHEET_RESULTS, annotate
    problems = [Problem.of("selection-unknown-employee", employee_code=str(i), value=str(i)) for i in range(5_000)]
    problems.append(Problem.of("unknown-division", sheet="所属マッピング", cell="C2", value="9"))
    out = annotate(hr_workbook(tmp_path), problems, tmp_path / "annotated.xlsx")
    import openpyxl
    ws = openpyxl.load_workbook(out)[SHEET_RESULTS]
    codes = [ws.cell(r, 3).value for r in range(2, ws.max_row + 1)]
    assert codes.count("selection-unknown-employee") == PROBLEMS_PER_CODE and "unknown-division" in codes
    assert codes[-1] == "more-problems" and "4,900" in ws.cell(ws.max_row, 7).value
    assert "エラー 5001 件" in ws.cell(1, 9).value  # the summary counts them all

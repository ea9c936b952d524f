"""--employees / --employees-file: the chosen employee codes."""
from __future__ import annotations

import openpyxl
import pytest

from etl.errors import ExitCode, InputError
from etl.sync.selection import parse_codes, selection_from_args


@pytest.mark.parametrize("text, codes", [
    ("001,002", ["001", "002"]),
    (" 001 、 ００２ ; 003\n004 ", ["001", "002", "003", "004"]),
    ("A01,,A02,", ["A01", "A02"]),
], ids=["comma", "mixed-separators-and-full-width", "empty-parts"])
def test_parse_codes(text, codes):
    assert parse_codes(text) == codes


def test_none_means_everyone():
    assert selection_from_args(None, None) is None


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_csv_with_a_code_column_among_others(tmp_path, encoding):
    path = tmp_path / "targets.csv"
    path.write_text("氏名,従業員番号\n山田,00012\n佐藤,00034\n,\n", encoding=encoding)
    assert selection_from_args(None, str(path)) == {"00012", "00034"}


def test_xlsx_keeps_leading_zeros_of_formatted_numbers(tmp_path):
    path = tmp_path / "targets.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["従業員コード", "備考"])
    ws.append([12, "x"])
    ws["A2"].number_format = "00000"
    ws.append(["A0099", None])
    wb.save(path)
    assert selection_from_args(None, str(path)) == {"00012", "A0099"}


@pytest.mark.parametrize("content, code", [
    (None, "selection-file-not-found"),
    ("氏名\n山田\n", "selection-missing-column"),
    ("従業員番号\n", "selection-empty"),
    (b"PK\x03\x04broken", "selection-file-unreadable"),
], ids=["missing", "no-code-column", "no-codes", "broken-xlsx"])
def test_bad_files_are_input_errors(tmp_path, content, code):
    path = tmp_path / ("targets.xlsx" if isinstance(content, bytes) else "targets.csv")
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        selection_from_args(None, str(path))
    assert err.value.exit_code == ExitCode.INVALID_INPUT
    assert [p.code for p in err.value.problems] == [code]
    assert "\n" not in str(err.value)


def test_blank_codes_option_is_an_input_error():
    with pytest.raises(InputError) as err:
        selection_from_args(" , ", None)
    assert err.value.problems[0].code == "selection-empty"

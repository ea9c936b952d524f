"""The CSV's frame and bytes: each 形式, injection, cp932 edge characters (pure)."""
from __future__ import annotations

import csv
import io

import pytest

from etl.attendance.cp932 import make_safe, unencodable_chars
from etl.attendance.frame import UnencodableError, bad_cell_problems, build_frame, render_csv
from etl.attendance.items import BY_KEY, Column
from etl.attendance.transform import MonthTable


def one(key: str, fmt: str, values: list) -> list[str]:
    table = MonthTable("2026-10", {key: values})
    return build_frame(table, [Column("x", BY_KEY[key], fmt)]).iloc[:, 0].tolist()


@pytest.mark.parametrize("fmt, minutes, shown", [
    ("分", [0, 2699, 2700, 2701], ["0", "2699", "2700", "2701"]),
    ("HH:MM", [0, 5, 2699, 2700, 2701, 5999, 6000, 60 * 250 + 7], ["00:00", "00:05", "44:59", "45:00", "45:01",
                                                                   "99:59", "100:00", "250:07"]),
    ("時間(10進)", [0, 1, 30, 45, 2701, 2699, 6000, 61], ["0.00", "0.02", "0.50", "0.75", "45.02", "44.98",
                                                           "100.00", "1.02"]),
    ("文字", [2701], ["2701"]),
], ids=["minutes", "hhmm", "decimal-hours", "text"])
def test_minute_formats(fmt, minutes, shown):
    assert one("overtime_minutes", fmt, minutes) == shown


@pytest.mark.parametrize("key, fmt, values, shown", [
    ("working_days", "日", [20, 0, 21.0], ["20", "0", "21"]),
    ("paid_leave_days", "日", [0.5, 1.5, 2.0, 0.25], ["0.5", "1.5", "2", "0.25"]),
    ("late_count", "回", [0, 3], ["0", "3"]),
    ("is_closing", "文字", [True, False], ["締め済み", "未締め"]),
    ("month", "文字", ["2026-10"], ["2026-10"]),
], ids=["days", "half-days", "count", "closing", "month"])
def test_other_formats(key, fmt, values, shown):
    assert one(key, fmt, values) == shown


def test_dates_as_text():
    import datetime as dt
    assert one("period_start", "文字", [dt.date(2026, 10, 1), None]) == ["2026/10/01", ""]


@pytest.mark.parametrize("name", ["=1+2", "+81", "-1", "@SUM(A1)", "\tx"])
def test_formula_injection_is_neutralised(name):
    assert one("name", "文字", [name]) == ["'" + name]


def test_a_safe_text_column_is_left_alone():
    assert one("name", "文字", ["山田 太郎", ""]) == ["山田 太郎", ""]


def frame(names: list[str], headers=("従業員番号", "氏名")):
    table = MonthTable("2026-10", {"employee_code": [f"{i:04d}" for i in range(1, len(names) + 1)], "name": names})
    return build_frame(table, [Column(headers[0], BY_KEY["employee_code"], "文字"),
                               Column(headers[1], BY_KEY["name"], "文字")])


def test_cp932_is_crlf_without_bom_and_keeps_nec_and_ibm_characters():
    data, replaced = render_csv(frame(["髙橋 一郎", "山﨑 ①"]), "cp932")
    assert replaced == []
    assert data == "従業員番号,氏名\r\n0001,髙橋 一郎\r\n0002,山﨑 ①\r\n".encode("cp932")
    assert not data.startswith(b"\xef\xbb\xbf")


def test_wave_dash_and_minus_become_their_cp932_equivalents():
    data, _ = render_csv(frame(["〜−"]), "cp932")
    assert data.endswith(b"0001,\x81\x60\x81\x7c\r\n")
    assert data.decode("cp932").endswith("～－\r\n")


def test_an_unencodable_character_names_employee_and_column_and_nothing_is_rendered():
    with pytest.raises(UnencodableError) as e:
        render_csv(frame(["山田 太郎", "𠮷田 花子", "é"]), "cp932")
    cells = e.value.cells
    assert [(c.row, c.column, c.value, c.chars) for c in cells] == [(1, "氏名", "𠮷田 花子", "𠮷"), (2, "氏名", "é", "é")]
    problems = bad_cell_problems(cells, ["0001", "0002", "0003"], "cp932", replaced=False)
    assert problems[0].code == "unencodable-character" and problems[0].employee_code == "0002"
    assert "氏名" in problems[0].message and "𠮷田 花子" in problems[0].message
    assert "Shift_JIS" in problems[0].message


def test_replace_unencodable_writes_question_marks():
    data, replaced = render_csv(frame(["𠮷田 〜"]), "cp932", replace=True)
    assert data.decode("cp932") == "従業員番号,氏名\r\n0001,?田 ～\r\n"
    assert [c.row for c in replaced] == [0]
    problems = bad_cell_problems(replaced, ["0001"], "cp932", replaced=True)
    assert problems[0].code == "unencodable-replaced" and problems[0].severity == "warning"


def test_a_header_cp932_cannot_hold_is_reported_too():
    with pytest.raises(UnencodableError) as e:
        render_csv(frame(["山田"], headers=("従業員番号", "𠮷")), "cp932")
    assert e.value.cells[0].row == -1 and e.value.cells[0].column == "𠮷"


def test_utf8_has_a_bom_and_holds_everything():
    data, _ = render_csv(frame(["𠮷田 〜−"]), "utf-8-sig")
    assert data == "\ufeff従業員番号,氏名\r\n0001,𠮷田 〜−\r\n".encode()


def test_quoting_matches_the_csv_module():
    names = ['a,b', 'say "hi"', "two\nlines", "plain"]
    data, _ = render_csv(frame(names), "utf-8-sig")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[1:] == [["0001", "a,b"], ["0002", 'say "hi"'], ["0003", "two\nlines"], ["0004", "plain"]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([["従業員番号", "氏名"], *rows[1:]])
    assert data.decode("utf-8-sig") == buf.getvalue()


def test_the_frame_is_what_pandas_writes():
    f = frame(["山田", "鈴木"])
    data, _ = render_csv(f, "cp932")
    assert f.to_csv(index=False, lineterminator="\r\n", encoding="cp932").encode("cp932") == data


@pytest.mark.parametrize("text, safe", [("〜", "～"), ("−", "－"), ("—", "―"), ("\u00a0", " "), ("葛\U000E0100", "葛"),
                                        ("か\u3099", "が"), ("¥", "￥")])
def test_safe_equivalents(text, safe):
    assert make_safe(text) == safe
    assert unencodable_chars(safe, "cp932") == ""


def test_a_missing_figure_is_an_empty_cell():
    assert one("overtime_minutes", "HH:MM", [None, 61]) == ["", "01:01"]
    assert one("working_days", "日", [None, 1]) == ["", "1"]

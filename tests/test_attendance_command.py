"""import-attendance end to end: the sandbox on loopback, a real SQLite ledger, a real workbook,
through etl.cli.main as a user runs it."""
from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import cli_env, make_config
from support.index import index_of

from etl.cli import main
from etl.ledger.store import close_ledger, open_ledger
from etl.records import Employee
from etl.sandbox.state import load_state
from etl.workbook.model import SHEET_OUTPUT, SHEET_SETTINGS
from etl.workbook.template import build_template

FIXTURES = Path(__file__).parent / "fixtures" / "attendance"
MONTH = "2026-10"
H = 60

# the golden CSV's columns: every 形式, one disabled row
GOLDEN_COLUMNS = [
    ("社員番号", "従業員番号", "文字", "はい"), ("氏名", "氏名", "文字", "はい"), ("所属", "所属名", "文字", "はい"),
    ("開始日", "集計開始日", "文字", "はい"), ("出勤日数", "出勤日数", "日", "はい"), ("欠勤", "欠勤日数", "日", "いいえ"),
    ("有休", "有休取得日数", "日", "はい"), ("遅刻回数", "遅刻回数", "回", "はい"), ("遅刻(分)", "遅刻時間", "分", "はい"),
    ("早退", "早退時間", "HH:MM", "はい"), ("総労働(時間)", "総労働時間", "時間(10進)", "はい"),
    ("残業", "残業時間", "HH:MM", "はい"), ("残業(分)", "残業時間", "分", "はい"),
    ("残業(時間)", "残業時間", "時間(10進)", "はい"), ("深夜", "深夜時間", "HH:MM", "はい"),
    ("休日労働", "休日労働時間", "HH:MM", "はい"), ("法定休日", "法定休日労働時間", "HH:MM", "はい"),
    ("締め", "締め状況", "文字", "はい"),
]


def ledger_employees() -> list[Employee]:
    hired = dt.date(2020, 4, 1)
    return [Employee("E0001", "山田", "太郎〜−", hired_date=hired), Employee("E0002", "髙橋", "一郎", hired_date=hired),
            Employee("E0003", "山﨑", "花子①", hired_date=hired), Employee("E0004", "=SUM(A1)", "次郎", hired_date=hired),
            Employee("E0006", "伊藤", "四郎", hired_date=hired)]


class Run:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err
        last = out.strip().splitlines()[-1]
        assert last.startswith("report: "), out + err
        self.report = Path(last[8:])
        self.result: dict[str, Any] = json.loads((self.report.parent / "result.json").read_text(encoding="utf-8"))

    def problems(self, code: str | None = None) -> list[tuple[str, str, str]]:
        return [(p["code"], p["severity"], p["employee_code"]) for p in self.result["problems"]
                if code is None or p["code"] == code]


class Harness:
    def __init__(self, tmp_path: Path, sandbox, **settings: Any):
        self.tmp, self.sandbox = tmp_path, sandbox
        self.config = make_config(tmp_path, sandbox, **settings)
        self.ledger_url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
        self.ledger = open_ledger(self.ledger_url)
        self.ledger.upsert_employees(ledger_employees())
        self.book(GOLDEN_COLUMNS)
        self.csv = tmp_path / "output" / f"attendance_{MONTH}.csv"

    def book(self, columns=None, **settings: str) -> None:
        path = build_template(self.tmp / "mapping.xlsx")
        wb = openpyxl.load_workbook(path)
        if columns is not None:
            ws = wb[SHEET_OUTPUT]
            ws.delete_rows(2, ws.max_row)
            for row in columns:
                ws.append(list(row))
        ws = wb[SHEET_SETTINGS]
        for label, value in settings.items():
            row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == label)
            ws.cell(row, 2).value = value
        wb.save(path)

    def run(self, *argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--config", str(self.config), "import-attendance", *argv], env=cli_env(self.sandbox),
                     stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    def set_month(self, month: str, entries: list[dict]) -> None:
        self.sandbox.state.set_monthly(month, entries)

    def month_entries(self, month: str = MONTH) -> list[dict]:
        return copy.deepcopy(self.sandbox.state.monthly[month])


@pytest.fixture
def h(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(load_state(FIXTURES / "state.json")))
    yield harness
    close_ledger(harness.ledger_url)


def test_golden_csv(h):
    run = h.run("--month", MONTH)
    assert run.code == 0, run.err
    golden = (FIXTURES / "attendance_2026-10.csv").read_bytes()
    assert h.csv.read_bytes() == golden
    assert run.result["outputs"][0] == str(h.csv)
    text = golden.decode("cp932")
    assert "\r\n" in text and not golden.startswith(b"\xef\xbb\xbf")
    assert "髙橋 一郎" in text and "山﨑 花子①" in text and "山田 太郎～－" in text
    assert "\"'=SUM(A1) 次郎\"" not in text and "'=SUM(A1) 次郎" in text  # neutralised
    assert "欠勤" not in text.splitlines()[0]  # 出力する = いいえ


def test_findings_do_not_fail_the_import(h):
    run = h.run("--month", MONTH)
    assert run.code == 0 and run.result["status"] == "success"
    found = run.problems()
    assert ("overtime-month-45h", "warning", "E0002") in found  # 46:00
    assert ("overtime-month-45h", "warning", "E0003") in found and ("overtime-month-100h", "error", "E0003") in found
    assert not any(c == "E0004" and code.startswith("overtime-") for code, _, c in found)  # exactly 45:00
    assert ("no-attendance", "warning", "E0006") in found
    assert ("unknown-attendance-employee", "warning", "E0005") in found
    e3 = next(p for p in run.result["problems"] if p["code"] == "overtime-month-100h")
    assert "101:00" in e3["message"]
    html = run.report.read_text(encoding="utf-8")
    assert "上限を超えた従業員" in html and "E0003" in html and "大阪支店" in html


def test_utf8_from_the_workbook_setting(h):
    h.book(GOLDEN_COLUMNS[:2], 勤怠CSV文字コード="UTF-8")
    assert h.run("--month", MONTH).code == 0
    data = h.csv.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "山田 太郎〜−" in data.decode("utf-8-sig")


def test_unencodable_character_writes_nothing_unless_replaced(h):
    h.ledger.upsert_employees([Employee("E0002", "𠮷田", "一郎", hired_date=dt.date(2020, 4, 1))])
    run = h.run("--month", MONTH)
    assert run.code == 3 and not h.csv.exists()
    (problem,) = [p for p in run.result["problems"] if p["code"] == "unencodable-character"]
    assert problem["employee_code"] == "E0002" and "「氏名」" in problem["message"]
    assert "エラー" in run.err and "E0002" in run.err

    run = h.run("--month", MONTH, "--replace-unencodable")
    assert run.code == 0
    assert "E0002,?田 一郎," in h.csv.read_bytes().decode("cp932")
    assert run.problems("unencodable-replaced") == [("unencodable-replaced", "warning", "E0002")]

    assert h.run("--month", MONTH, "--encoding", "utf-8-sig").code == 0
    assert "𠮷田 一郎" in h.csv.read_bytes().decode("utf-8-sig")


def test_out_and_dry_run(h, tmp_path):
    target = tmp_path / "payroll" / "kintai.csv"
    run = h.run("--month", MONTH, "--out", str(target), "--dry-run")
    assert run.code == 0 and not target.exists() and not h.csv.exists()
    assert "[dry-run]" in run.out and "5 名" in run.out and "社員番号,氏名" in run.out
    assert run.result["dry_run"] is True and run.result["outputs"] == [run.result["outputs"][-1]]  # the report only
    assert h.run("--month", MONTH, "--out", str(target)).code == 0
    assert target.read_bytes() == (FIXTURES / "attendance_2026-10.csv").read_bytes()


def test_result_and_index_say_which_month_and_where(h, tmp_path):
    """result.json "import" records the month and the target; the index names the run by them."""
    run = h.run("--month", MONTH)
    assert run.code == 0, run.err
    assert run.result["import"] == {"month": MONTH, "target": "csv", "path": str(h.csv)}
    assert index_of(run.report)[0][1] == "勤怠データの取込 2026-10 → CSV"
    run = h.run("--month", "2026-09", "--to", "ledger")
    assert run.code == 0, run.err
    assert run.result["import"] == {"month": "2026-09", "target": "ledger", "path": None}
    assert [r[1] for r in index_of(run.report)] == ["勤怠データの取込 2026-09 → 台帳", "勤怠データの取込 2026-10 → CSV"]
    # a workbook that stops the import before its target is known: the month is still said
    h.book(GOLDEN_COLUMNS, 勤怠データ出力先="FTP")
    run = h.run("--month", MONTH)
    assert run.code == 3
    assert run.result["import"] == {"month": MONTH, "target": None, "path": None}
    assert index_of(run.report)[0][1] == "勤怠データの取込 2026-10"


def ledger_rows(h, month=MONTH) -> list[dict]:
    return h.ledger.monthly(month)


def test_ledger_import_is_idempotent(h):
    first = h.run("--month", MONTH, "--to", "ledger")
    assert first.code == 0, first.err
    rows = ledger_rows(h)
    assert [r["employee_code"] for r in rows] == ["E0001", "E0002", "E0003", "E0004", "E0005"]
    e2 = rows[1]
    assert (e2["overtime_minutes"], e2["paid_leave_days"], e2["early_leave_minutes"], e2["is_closing"]) == \
        (46 * H, 0.5, 95, True)
    assert e2["period_start"] == dt.date(2026, 10, 1)
    # 実行情報 says where in HR's words, not the table's name
    assert "<dd>台帳 (月別勤怠の履歴)</dd>" in first.report.read_text(encoding="utf-8")
    second = h.run("--month", MONTH, "--to", "ledger")
    assert second.code == 0 and second.problems("closed-month-corrected") == []
    assert len(ledger_rows(h)) == 5
    assert not h.csv.exists()


def test_dry_run_leaves_the_ledger_alone(h):
    run = h.run("--month", MONTH, "--to", "ledger", "--dry-run")
    assert run.code == 0 and ledger_rows(h) == [] and "台帳" in run.out
    # the index: the month, where it would go, and the plan (never 「成功 0」)
    assert run.result["import"] == {"month": MONTH, "target": "ledger", "path": None}
    row = index_of(run.report)[0]
    assert row[1] == "勤怠データの取込 2026-10 → 台帳 ドライラン: 予定 5件 (書き込みなし)" and row[3] == "—"


def test_a_closed_month_that_comes_back_different(h):
    assert h.run("--month", MONTH, "--to", "ledger").code == 0
    entries = h.month_entries()
    entries[0]["overtime"] = entries[0]["unassigned"] = 720
    h.set_month(MONTH, entries)
    run = h.run("--month", MONTH, "--to", "ledger")
    assert run.code == 0
    assert run.problems("closed-month-corrected") == [("closed-month-corrected", "warning", "E0001")]
    message = next(p["message"] for p in run.result["problems"] if p["code"] == "closed-month-corrected")
    assert "残業時間 10:01 → 12:00" in message
    assert "締め後の修正" in run.report.read_text(encoding="utf-8")
    assert ledger_rows(h)[0]["overtime_minutes"] == 720 and len(ledger_rows(h)) == 5


def test_an_open_month(h):
    entries = [{k: v for k, v in e.items() if k != "isClosing"} for e in h.month_entries()]
    h.set_month("2026-11", entries)  # the current month: the sandbox reports it open
    run = h.run("--month", "2026-11")
    assert run.code == 0 and run.problems("month-not-closed") == [("month-not-closed", "warning", "")]
    assert "未締め" in h.tmp.joinpath("output", "attendance_2026-11.csv").read_bytes().decode("cp932")
    kept = ledger_rows(h, "2026-11")
    assert len(kept) == 5  # the CSV import kept the month in the ledger's history too

    h.tmp.joinpath("output", "attendance_2026-11.csv").unlink()
    h.set_month("2026-11", [{**e, "overtime": 6000, "unassigned": 6000} for e in entries])  # changed since
    run = h.run("--month", "2026-11", "--require-closed")
    assert run.code == 3 and not h.tmp.joinpath("output", "attendance_2026-11.csv").exists()
    assert run.problems("month-not-closed") == [("month-not-closed", "error", "")]
    run = h.run("--month", "2026-11", "--require-closed", "--to", "ledger")
    assert run.code == 3 and ledger_rows(h, "2026-11") == kept  # nothing written, history included


def test_averages_and_the_fiscal_year_use_the_ledger_history(h):
    base = {"employeeCode": "E0001", "workingDayCount": 20, "assigned": 9600}
    for month, overtime in (("2026-08", 70 * H), ("2026-09", 90 * H)):
        h.set_month(month, [{**base, "overtime": overtime, "unassigned": overtime}])
        assert h.run("--month", month, "--to", "ledger").code == 0
    h.set_month(MONTH, [{**base, "overtime": 80 * H, "unassigned": 80 * H}])
    run = h.run("--month", MONTH)  # CSV: the history still comes from the ledger
    found = [p for p in run.result["problems"] if p["code"] == "overtime-average-80h"]
    assert [p["employee_code"] for p in found] == ["E0001"]
    assert "2026-09〜2026-10 (2か月)" in found[0]["message"] and "85:00" in found[0]["message"]
    assert run.result["status"] == "success"


def test_split_by_division(tmp_path, make_sandbox):
    sandbox = make_sandbox(load_state(FIXTURES / "state.json"))
    h = Harness(tmp_path, sandbox, attendance_api={"base_url": sandbox.url, "split_by_division": True})
    try:
        sandbox.reset_counts()
        run = h.run("--month", MONTH)
        assert run.code == 0, run.err
        assert h.csv.read_bytes() == (FIXTURES / "attendance_2026-10.csv").read_bytes()
        # employees, divisions, one month per division (2); the 年5日 check: working types, 3 年度 × 1 type
        assert sandbox.counts["GET"] == 4 + 1 + 3
    finally:
        close_ledger(h.ledger_url)


def test_an_invalid_output_sheet_stops_before_any_request(h):
    h.book([("残業", "残業時間", "日", "はい"), ("x", "ない項目", "", "はい")])
    h.sandbox.reset_counts()
    run = h.run("--month", MONTH)
    assert run.code == 3 and not h.csv.exists()
    assert [(p["code"], p["cell"]) for p in run.result["problems"]] == [("output-format-mismatch", "C2"),
                                                                        ("unknown-output-item", "B3")]
    assert h.sandbox.counts.get("GET", 0) == 0


def test_a_csv_that_cannot_be_written_is_exit_2(h, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    run = h.run("--month", MONTH, "--out", str(blocker / "kintai.csv"))
    assert run.code == 2 and "CSV を書き込めませんでした" in run.err  # a destination problem, not bad input (issue 16)
    assert run.result["status"] == "failed"


def test_a_history_the_ledger_refuses_publishes_no_csv(h):
    """The CSV goes out last: when the ledger refuses the month's history (here a real SQLite trigger),
    payroll gets no CSV and the run says why in one line (exit 2: the database failed, not the input)."""
    import sqlalchemy as sa
    with open_ledger(h.ledger_url).engine.begin() as conn:
        conn.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON monthly_attendance "
                             "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
    run = h.run("--month", MONTH)
    assert run.code == 2 and not h.csv.exists()
    assert "CSV" in run.err and "書き込みませんでした" in run.err and "disk is full" in run.err
    assert len(run.err.strip().splitlines()) == 1


# --- history always, backfill, 年5日 (issue 14) ------------------------------------------------

def test_a_csv_import_keeps_the_history_and_names_the_missing_months(h):
    base = {"employeeCode": "E0001", "workingDayCount": 20, "assigned": 9600}
    runs = []
    for month in ("2026-08", "2026-09", "2026-10"):
        h.set_month(month, [{**base, "overtime": 85 * H, "unassigned": 85 * H}])
        h.sandbox.state.close_month(month)
        runs.append(h.run("--month", month))  # the workbook's target: CSV
        assert runs[-1].code == 0 and (h.tmp / "output" / f"attendance_{month}.csv").exists()
    assert [r["overtime_minutes"] for r in h.ledger.monthly_history(["2026-08", "2026-09", "2026-10"])] == [85 * H] * 3
    averages = [p for p in runs[2].result["problems"] if p["code"] == "overtime-average-80h"]
    assert [p["employee_code"] for p in averages] == ["E0001"] and "85:00" in averages[0]["message"]
    missing = [p["message"] for p in runs[0].result["problems"] if p["code"] == "history-month-missing"]
    assert missing[0].startswith("2026-03 が未取込のため平均を計算できません")
    assert "2026-07 が未取込のため平均と年度の合計を計算できません" in missing[-1]
    assert [p["message"][:7] for p in runs[2].result["problems"] if p["code"] == "history-month-missing"] == [
        "2026-04", "2026-05", "2026-06", "2026-07"]
    html = runs[2].report.read_text(encoding="utf-8")
    assert "台帳に未取込の月があります" in html and "2026-07 (平均と年度の合計)" in html


def test_backfill_seeds_the_history_first(h):
    h.sandbox.state.close_month("2026-08")
    h.ledger.upsert_monthly("2026-08", [{"employee_code": "E0001", "overtime_minutes": 10, "is_closing": True}])
    run = h.run("--month", MONTH, "--backfill", "6", "--dry-run")
    assert run.code == 0 and h.ledger.monthly("2026-05") == []
    assert "[dry-run] 履歴 2026-04, 2026-05, 2026-06, 2026-07, 2026-09 を台帳に取り込む予定です" in run.out
    h.sandbox.reset_counts()
    run = h.run("--month", MONTH, "--backfill", "6")
    assert run.code == 0, run.err
    assert "履歴 2026-04:" in run.out and "履歴 2026-08" not in run.out  # held closed: not fetched again
    assert run.result["problems"] and not [p for p in run.result["problems"] if p["code"] == "history-month-missing"]
    held = h.ledger.monthly_months(["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"])
    assert sorted(held) == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    assert h.ledger.monthly("2026-08")[0]["overtime_minutes"] == 10
    html = run.report.read_text(encoding="utf-8")
    assert "2026-04, 2026-05, 2026-06, 2026-07, 2026-09" in html and "締め済みで保持" in html


@pytest.mark.parametrize("value", ["0", "37", "x"])
def test_backfill_takes_1_to_36_months(h, value):
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(h.config), "import-attendance", "--month", MONTH, "--backfill", value],
                env=cli_env(h.sandbox), stdout=out, stderr=err)
    assert code == 2 and "--backfill" in err.getvalue() and "Traceback" not in err.getvalue()


def test_the_import_checks_the_five_day_rule(h):
    key = h.sandbox.state.record_by_code("E0002").key
    h.sandbox.state.set_yearly_holidays(2025, [{"employeeCode": "E0001", "holidays": [
        {"code": 1, "name": "有休", "granted": [{"date": "2025-10-01", "days": 10, "minutes": 0}],
         "obtained": [{"date": "2025-12-01", "days": 4, "minutes": 0}, {"date": "2026-01-05", "days": 0.5, "minutes": 0},
                      {"date": "2026-02-02", "days": 0, "minutes": 240}]}]},  # 4.5 days and an hour-based leave
        {"employeeKey": key, "holidays": [{"code": 1, "name": "有休",
                                           "granted": [{"date": "2026-01-10", "days": 11, "minutes": 0}],
                                           "obtained": [{"date": "2026-02-10", "days": 2, "minutes": 0}]}]}])
    h.sandbox.state.set_yearly_holidays(2026, [{"employeeCode": "E0002", "holidays": [
        {"code": 1, "name": "有休", "obtained": [{"date": "2026-05-01", "days": 1, "minutes": 0}]}]}])
    run = h.run("--month", MONTH)
    assert run.code == 0 and run.result["status"] == "success"
    assert run.problems("paid-leave-5days-missed") == [("paid-leave-5days-missed", "error", "E0001")]
    assert run.problems("paid-leave-5days-short") == [("paid-leave-5days-short", "warning", "E0002")]
    short = next(p["message"] for p in run.result["problems"] if p["code"] == "paid-leave-5days-short")
    assert "取得が 3日" in short and "期限 2027-01-09" in short and "あと 2日" in short  # both 年度 counted
    html = run.report.read_text(encoding="utf-8")
    assert "年5日の年次有給休暇" in html and 'id="leave-table"' in html


def test_run_without_an_import_still_checks_the_five_day_rule(h):
    h.sandbox.state.set_yearly_holidays(2025, [{"employeeCode": "E0001", "holidays": [
        {"code": 1, "name": "有休", "granted": [{"date": "2025-10-01", "days": 10, "minutes": 0}], "obtained": []}]}])
    h.book(GOLDEN_COLUMNS, **{"既定の勤怠所属コード": "1000", "既定の勤怠雇用区分コード": "1"})  # the sync can run
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(h.config), "run"], env=cli_env(h.sandbox), stdout=out, stderr=err)
    result = Run(code, out.getvalue(), err.getvalue()).result
    assert [p["employee_code"] for p in result["problems"] if p["code"] == "paid-leave-5days-missed"] == ["E0001"]
    html = Run(code, out.getvalue(), err.getvalue()).report.read_text(encoding="utf-8")
    assert "年5日の確認" in html and "取得不足 1件" in html and 'id="leave-table"' in html


def test_a_backfill_stopped_by_the_restricted_hours_keeps_what_it_saved(h):
    """The API closes (17:30) after the first month of the backfill is saved: exit 5, that month
    stays in the ledger, and the report names the months not fetched."""
    from etl.clock import ManualClock

    clock = ManualClock("2026-11-26T17:29:00+09:00")
    h.sandbox.clock = clock

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("履歴 2026-07:"):
                clock.advance(60)
            return super().write(text)

    out, err = Out(), io.StringIO()
    code = main(["--config", str(h.config), "import-attendance", "--month", MONTH, "--backfill", "3"],
                env=cli_env(h.sandbox), stdout=out, stderr=err, clock=clock)
    run = Run(code, out.getvalue(), err.getvalue())
    assert code == 5 and "利用制限時間帯" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1
    assert sorted(h.ledger.monthly_months(["2026-07", "2026-08", "2026-09", MONTH])) == ["2026-07"]
    assert run.result["status"] == "failed" and not h.csv.exists()
    assert "2026-07 (未取込: 2026-08, 2026-09)" in run.report.read_text(encoding="utf-8")


@pytest.mark.parametrize("argv", [["--to", "ledger"], ["--to", "csv"], ["--to", "ledger", "--backfill", "1"]],
                         ids=["ledger", "csv-history", "backfill"])
def test_a_ledger_database_that_refuses_the_month_is_exit_2_and_publishes_no_csv(h, argv):
    """The database, not the input, failed (locked, full, I/O): exit 2, one line, no CSV (issue 16)."""
    import sqlite3
    db = sqlite3.connect(h.tmp / "ledger.db")
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON monthly_attendance "
               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    db.commit()
    db.close()
    run = h.run("--month", MONTH, *argv)
    assert run.code == 2, run.err
    assert len(run.err.splitlines()) == 1 and "database or disk is full" in run.err
    assert not h.csv.exists()

"""Issue 12 end to end through the commands: a real ledger, a real workbook, the sandbox on loopback.

1. a date given with --effective-date is kept with the pending change: later runs (normal, --full,
   `run`) send that change with that date or not at all — as of today the old 所属, as of the date
   the new one;
2. a value emptied in the ledger is cleared on the attendance side, an emptied required value is an
   error row and nothing is sent for that employee;
8. an --effective-date or a --month the API cannot serve is refused before any request (exit 2).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from support.sync import TODAY, Harness, empty_company, ledger_employees

from etl.workbook.model import SHEET_SETTINGS, SHEET_TYPES

TRANSFER = dt.date(2027, 1, 1)


@pytest.fixture
def h(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(empty_company()), max_retries=0)
    harness.load(ledger_employees(6))
    assert harness.sync().code == 0
    yield harness
    harness.close()


def division(h: Harness, code: str, on: dt.date) -> str:
    return h.sandbox.state.get(code, on)["divisionCode"]


def transfer_e0001(h: Harness) -> None:
    """E0001 moves from D20 (→ 2100) to D10 (→ 1100) in the ledger."""
    h.load([dataclasses.replace(h.ledger.employees()[0], department_code="D10", department_name="総務課")])


class TestEffectiveDateIsKept:
    def test_later_runs_after_an_unrelated_edit_do_not_make_the_transfer_live_early(self, h):
        transfer_e0001(h)
        run = h.sync("--employees", "E0001", "--effective-date", "2027-01-01")
        assert run.code == 0, run.err
        (row,) = run.rows(employee_code="E0001")
        assert row["action"] == "update" and row["changes"] == {"divisionCode": ["2100", "1100"]}
        assert [(p.employee_code, p.value, p.effective_date) for p in h.ledger.pending_changes().values()] == \
            [("E0001", "1100", TRANSFER)]

        # an unrelated workbook edit (everyone is compared again), then a normal run, a --full, a `run`
        # and the scheduler's run (自動連携 on, 02:00 passed): each compares E0001 and sends nothing
        h.settings({"入社年月日登録者のみ連携": "いいえ", "自動連携": "する"})
        h.sandbox.reset_counts()
        for argv in (("sync-employees",), ("sync-employees", "--full"), ("run",), ("schedule", "--once")):
            done = h.run(*argv)
            assert done.code == 0, (argv, done.err)
            (row,) = done.rows(employee_code="E0001")
            assert row["action"] == "unchanged" and row["result"] == "ok", argv
            assert h.sandbox.writes() == 0, argv
            assert division(h, "E0001", TODAY) == "2100", argv  # as of today: the old 所属
            assert division(h, "E0001", TRANSFER - dt.timedelta(days=1)) == "2100", argv
            assert division(h, "E0001", TRANSFER) == "1100", argv  # as of the effective date: the new one
        assert [p.effective_date for p in h.ledger.pending_changes().values()] == [TRANSFER]  # kept until live

    def test_a_transfer_whose_send_failed_is_sent_later_with_its_date_not_today(self, h):
        transfer_e0001(h)
        h.sandbox.fail_next("500", method="PUT")
        failed = h.sync("--effective-date", "2027-01-01")
        assert failed.code == 1 and failed.rows(employee_code="E0001")[0]["result"] == "failed"
        assert division(h, "E0001", TRANSFER) == "2100"

        h.sandbox.reset_counts()
        run = h.sync("--full")
        assert run.code == 0, run.err
        assert h.sandbox.counts["PUT"] == 1 and "異動日 2027-01-01" in run.rows(employee_code="E0001")[0]["message"]
        assert division(h, "E0001", TODAY) == "2100" and division(h, "E0001", TRANSFER) == "1100"

    def test_a_ledger_change_to_another_department_drops_the_pending_change_and_says_it_stays_booked(self, h):
        transfer_e0001(h)
        assert h.sync("--effective-date", "2027-01-01").code == 0
        h.load([dataclasses.replace(h.ledger.employees()[0], department_code="1200", department_name="人事部")])
        run = h.sync()
        assert run.code == 0, run.err
        said = [p for p in run.result["problems"] if p["employee_code"] == "E0001"]
        assert [p["code"] for p in said] == ["pending-change-still-booked"]
        assert "2027-01-01 に所属が「1100」に変わります" in said[0]["message"]
        assert h.ledger.pending_changes() == {}
        # what the warning says is what 勤怠 holds: the new 所属 from today, the old booking on its day
        assert division(h, "E0001", TODAY) == "1200" and division(h, "E0001", TRANSFER) == "1100"

    def test_another_date_for_a_booked_change_says_the_booking_stays(self, h):
        """Postponing with a second --effective-date cannot move what 勤怠 has booked: said, not ignored."""
        transfer_e0001(h)
        assert h.sync("--employees", "E0001", "--effective-date", "2027-01-01").code == 0
        h.sandbox.reset_counts()
        run = h.sync("--employees", "E0001", "--effective-date", "2027-02-01")
        assert run.code == 0, run.err
        assert run.rows(employee_code="E0001")[0]["action"] == "unchanged" and h.sandbox.writes() == 0
        said = [p for p in run.result["problems"] if p["employee_code"] == "E0001"]
        assert [p["code"] for p in said] == ["pending-change-still-booked"]
        assert "2027-01-01 に所属が「1100」に変わります" in said[0]["message"]
        assert division(h, "E0001", TRANSFER) == "1100"

    def test_a_kept_change_never_booked_is_dropped_with_the_plain_warning(self, h):
        transfer_e0001(h)
        h.sandbox.fail_next("500", method="PUT")
        assert h.sync("--effective-date", "2027-01-01").code == 1
        h.load([dataclasses.replace(h.ledger.employees()[0], department_code="1200", department_name="人事部")])
        run = h.sync()
        assert run.code == 0, run.err
        assert [p["code"] for p in run.result["problems"] if p["employee_code"] == "E0001"] == \
            ["pending-change-superseded"]
        assert division(h, "E0001", TODAY) == "1200" and division(h, "E0001", TRANSFER) == "1200"

    def test_reconcile_reads_the_kept_change_as_booked_not_as_a_difference(self, h):
        transfer_e0001(h)
        assert h.sync("--employees", "E0001", "--effective-date", "2027-01-01").code == 0
        run = h.run("reconcile")
        assert run.code == 0, run.err
        found = [(r["kind"], r["changes"]) for r in run.rows(employee_code="E0001")]
        assert found == [("pending-change", {"divisionCode": ["1100", "2100"]})]  # [ledger, 勤怠 today]
        assert "2027-01-01 から反映 (勤怠に予約済み)" in run.rows(employee_code="E0001")[0]["message"]

    def test_a_dry_run_keeps_nothing(self, h):
        transfer_e0001(h)
        assert h.sync("--dry-run", "--effective-date", "2027-01-01").code == 0
        assert h.ledger.pending_changes() == {}


class TestClears:
    def test_an_emptied_optional_value_is_cleared_and_the_report_shows_it(self, h):
        assert {"emailAddresses", "birthDate"} <= set(h.sandbox.state.get("E0002"))
        h.load([dataclasses.replace(h.ledger.employees()[1], email="", birth_date=None)])
        run = h.sync()
        assert run.code == 0, run.err
        (row,) = run.rows(employee_code="E0002")
        assert row["action"] == "update" and row["result"] == "ok"
        assert row["changes"] == {"birthDate": ["1990-01-03", ""], "emailAddresses": [["e2@example.co.jp"], ""]}
        page = run.report.read_text(encoding="utf-8")  # the report shows each clear as 旧 → (空)
        assert "<del>e2@example.co.jp</del> → <ins>(空)</ins>" in page
        assert "<del>1990-01-03</del> → <ins>(空)</ins>" in page
        after = h.sandbox.state.get("E0002")
        assert "emailAddresses" not in after and "birthDate" not in after
        h.sandbox.reset_counts()
        assert h.sync().code == 0 and h.sandbox.writes() == 0  # cleared on both sides: nothing more

    def test_an_emptied_required_value_is_an_error_row_and_nothing_is_sent_for_that_employee(self, h):
        h.load([dataclasses.replace(h.ledger.employees()[2], last_name="", email="")])
        h.sandbox.reset_counts()
        run = h.sync()
        assert run.code == 1
        (row,) = run.rows(employee_code="E0003")
        assert row["action"] == "error" and "「姓」が台帳で空" in row["message"]
        assert h.sandbox.writes() == 0
        assert h.sandbox.state.get("E0003")["lastName"] == "山田"
        assert h.sandbox.state.get("E0003")["emailAddresses"] == ["e3@example.co.jp"]


class TestApiWindow:
    def test_an_effective_date_more_than_a_year_ahead_is_refused_before_any_request(self, h):
        h.sandbox.reset_counts()
        run = h.run("sync-employees", "--effective-date", "2027-11-27")
        assert run.code == 2 and h.sandbox.counts["GET"] == 0
        assert run.err.count("\n") == 1 and "2027-11-26 以前" in run.err and "report:" not in run.out

    @pytest.mark.parametrize("day", ["0001-01-01", "0999-12-31", "9999-12-31"])
    def test_an_effective_date_far_off_is_shown_as_given_with_its_four_digit_year(self, h, day):
        h.sandbox.reset_counts()
        run = h.run("sync-employees", "--effective-date", day)
        assert run.code == 2 and h.sandbox.counts["GET"] == 0
        assert run.err.count("\n") == 1 and f"異動日 {day} は" in run.err, run.err

    @pytest.mark.parametrize("month, why", [("2023-06", "3年前の 2023-11 から"), ("2026-12", "まだ始まっていない月")],
                             ids=["over-3-years-back", "not-begun"])
    def test_a_month_the_api_does_not_serve_is_refused_before_any_request(self, h, month, why):
        h.sandbox.reset_counts()
        for argv in (("import-attendance", "--month", month), ("run", "--month", month)):
            run = h.run(*argv)
            assert run.code == 2 and h.sandbox.counts["GET"] == 0
            assert run.err.count("\n") == 1 and why in run.err and "report:" not in run.out
        assert not (h.tmp_path / "output").exists() or not any((h.tmp_path / "output").iterdir())


class TestDefaultsAreSaid:
    """3. The issue's workbook: 正社員's mapping code blank, 既定の勤怠雇用区分コード 2 (契約社員)."""

    @staticmethod
    def book(h: Harness) -> None:
        def edit(wb):
            ws = wb[SHEET_TYPES]
            row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "正社員")
            ws.cell(row, 2).value = None
            ws = wb[SHEET_SETTINGS]
            for r in range(2, ws.max_row + 1):
                if ws.cell(r, 1).value == "既定の勤怠雇用区分コード":
                    ws.cell(r, 2).value = "2"
                if ws.cell(r, 1).value == "既定の勤怠所属コード":
                    ws.cell(r, 2).value = "1000"
        h.write_book(edit)

    def test_the_same_name_decides_before_the_default_and_the_default_is_said_with_whom(self, h):
        people = h.ledger.employees()
        # two with a 社員区分 no row, code or name reaches; one in a department no row, code or name reaches
        h.load([dataclasses.replace(people[0], employee_class="嘱託社員"),
                dataclasses.replace(people[4], employee_class="嘱託社員"),
                dataclasses.replace(people[2], department_code="D99", department_name="新設課")])
        self.book(h)
        h.sandbox.reset_counts()
        runs = {}
        for argv in (("validate",), ("sync-employees", "--dry-run"), ("sync-employees",)):
            assert h.sandbox.writes() == 0  # validate and the dry run send nothing
            run = runs[argv] = h.run(*argv)
            assert run.code == 0, run.err
            said = {p["code"]: p for p in run.result["problems"] if p["code"].startswith("default-")}
            assert set(said) == {"default-type-used", "default-division-used"}
            assert "社員区分「嘱託社員」の従業員 2 名" in said["default-type-used"]["message"]
            assert "従業員 E0001, E0005" in said["default-type-used"]["message"]
            assert "「2」" in said["default-type-used"]["message"]
            assert "部署「D99 (新設課)」の従業員 1 名" in said["default-division-used"]["message"]
            assert "従業員 E0003" in said["default-division-used"]["message"]
            page = run.report.read_text(encoding="utf-8")
            assert "default-type-used" in page and "従業員 E0001, E0005" in page and "従業員 E0003" in page
        # 正社員 resolves to the working type named 正社員 (code 1): nobody is planned 正社員 → 契約社員
        planned = {r["employee_code"]: r for r in runs[("sync-employees", "--dry-run")].result["rows"]
                   if r["action"] == "update"}
        assert set(planned) == {"E0001", "E0003", "E0005"}
        assert planned["E0001"]["changes"] == {"typeCode": ["1", "2"]}
        assert "雇用区分は既定値で決定" in planned["E0001"]["message"]
        assert planned["E0003"]["changes"] == {"divisionCode": ["1100", "1000"]}
        assert "所属は既定値で決定" in planned["E0003"]["message"]
        sent = {r["employee_code"] for r in runs[("sync-employees",)].result["rows"] if r["action"] == "update"}
        assert sent == set(planned) and h.sandbox.state.get("E0002")["typeCode"] == "1"
        assert h.sandbox.state.get("E0001")["typeCode"] == "2" and h.sandbox.state.get("E0003")["divisionCode"] == "1000"

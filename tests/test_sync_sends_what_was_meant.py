"""Issue 12 end to end against the sandbox: a real ledger, a real workbook, the sandbox on loopback.

1. a date given with --effective-date is kept with the pending change: a later --full run sends
   that change with that date or not at all (as of today the old 所属, as of the date the new one);
2. a value emptied in the ledger is cleared on the attendance side, an emptied required value is
   an error row and nothing is sent for that employee.

The runs go through the domain steps the sync command takes (plan → store pending changes →
apply) on the sandbox's ManualClock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from contextlib import closing

import pytest
from conftest import client_for_sandbox
from test_sync_support import TODAY, Harness, empty_company, ledger_employees

from etl.sync.apply import apply_plan, planned_rows
from etl.sync.fields import FieldRules, additional_fields
from etl.sync.plan import Plan, SyncOptions, plan_sync, plan_sync_dated
from etl.workbook.read import read_workbook

TRANSFER = dt.date(2027, 1, 1)


@pytest.fixture
def h(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(empty_company()))
    harness.load(ledger_employees(6))
    yield harness
    harness.close()


def sync(h: Harness, *, dry_run: bool = False, **options) -> tuple[Plan, list]:
    """One sync run: plan (compared with the attendance side as of each future 異動日), the pending
    changes stored before anything is sent, then apply."""
    book = read_workbook(h.workbook)
    ledger = h.ledger
    with closing(client_for_sandbox(h.sandbox)) as client:
        masters = client.masters()
        fields = additional_fields(FieldRules.from_book(book))
        remote = client.employees(include_resigned=True, fields=fields)
        employees, links, pending = ledger.employees(), ledger.links(), ledger.pending_changes()
        plan = plan_sync_dated(employees, book, masters, remote, links, SyncOptions(**options), TODAY,
                               pending=pending,
                               as_of=lambda day: client.employees(as_of=day, include_resigned=True, fields=fields))
        if dry_run:
            return plan, planned_rows(plan)
        ledger.update_pending(plan.pending_save, plan.pending_drop)
        outcome = apply_plan(plan, client, ledger, clock=h.sandbox.clock)
        assert outcome.stopped is None
        return plan, outcome.rows


def division(h: Harness, code: str, on: dt.date) -> str:
    return h.sandbox.state.get(code, on)["divisionCode"]


class TestEffectiveDateIsKept:
    def test_a_full_run_after_an_unrelated_edit_does_not_make_the_transfer_live_early(self, h):
        sync(h)
        assert division(h, "E0001", TODAY) == "2100"
        # E0001 moves from D20 (→ 2100) to D10 (→ 1100) on 2027-01-01, given on the command line
        h.load([dataclasses.replace(h.ledger.employees()[0], department_code="D10", department_name="総務課")])
        plan, rows = sync(h, selection=frozenset({"E0001"}), effective_date=TRANSFER)
        (row,) = [r for r in rows if r.employee_code == "E0001"]
        assert row.result == "ok" and row.effective_date == "2027-01-01"
        assert [(p.employee_code, p.value, p.effective_date) for p in h.ledger.pending_changes().values()] == \
            [("E0001", "1100", TRANSFER)]

        # an unrelated workbook edit (everyone compared again), then a --full run: nothing is sent
        h.settings({"入社年月日登録者のみ連携": "いいえ"})
        h.sandbox.reset_counts()
        sync(h)
        sync(h, full=True)
        assert h.sandbox.writes() == 0
        assert division(h, "E0001", TODAY) == "2100"  # as of today: the old 所属
        assert division(h, "E0001", TRANSFER - dt.timedelta(days=1)) == "2100"
        assert division(h, "E0001", TRANSFER) == "1100"  # as of the effective date: the new one

    def test_a_transfer_whose_send_was_lost_is_sent_later_with_its_date_not_today(self, h):
        sync(h)
        h.load([dataclasses.replace(h.ledger.employees()[0], department_code="D10", department_name="総務課")])
        plan, _ = sync(h, dry_run=True, effective_date=TRANSFER)
        # the dated change is stored, but the send never happened (as when the run stopped)
        h.ledger.update_pending(plan.pending_save, plan.pending_drop)
        h.sandbox.reset_counts()
        _, rows = sync(h, full=True)
        (row,) = [r for r in rows if r.employee_code == "E0001"]
        assert row.action == "update" and row.effective_date == "2027-01-01"
        assert h.sandbox.counts["PUT"] == 1
        assert division(h, "E0001", TODAY) == "2100" and division(h, "E0001", TRANSFER) == "1100"

    def test_the_pending_change_is_forgotten_once_live(self, h):
        sync(h)
        h.load([dataclasses.replace(h.ledger.employees()[0], department_code="D10", department_name="総務課")])
        sync(h, effective_date=TRANSFER)
        h.sandbox.clock.advance((TRANSFER - TODAY).days * 86400)
        later = TRANSFER
        book = read_workbook(h.workbook)
        with closing(client_for_sandbox(h.sandbox)) as client:
            remote = client.employees(include_resigned=True, fields=additional_fields(FieldRules.from_book(book)))
            plan = plan_sync(h.ledger.employees(), book, client.masters(), remote, h.ledger.links(),
                             SyncOptions(full=True), later, pending=h.ledger.pending_changes())
        assert plan.pending_drop == [("E0001", "divisionCode")] and plan.writes() == []
        h.ledger.update_pending(plan.pending_save, plan.pending_drop)
        assert h.ledger.pending_changes() == {}


class TestClears:
    def test_an_emptied_optional_value_is_cleared_on_the_attendance_side(self, h):
        sync(h)
        assert "emailAddresses" in h.sandbox.state.get("E0002") and "birthDate" in h.sandbox.state.get("E0002")
        h.load([dataclasses.replace(h.ledger.employees()[1], email="", birth_date=None)])
        _, rows = sync(h)
        (row,) = [r for r in rows if r.employee_code == "E0002"]
        assert row.action == "update" and row.result == "ok"
        assert row.changes == {"birthDate": ["1990-01-03", ""], "emailAddresses": [["e2@example.co.jp"], ""]}
        after = h.sandbox.state.get("E0002")
        assert "emailAddresses" not in after and "birthDate" not in after
        h.sandbox.reset_counts()
        sync(h)
        assert h.sandbox.writes() == 0  # cleared on both sides: nothing more to send

    def test_an_emptied_required_value_is_an_error_row_and_nothing_is_sent_for_that_employee(self, h):
        sync(h)
        h.load([dataclasses.replace(h.ledger.employees()[2], last_name="", email="")])
        h.sandbox.reset_counts()
        _, rows = sync(h)
        (row,) = [r for r in rows if r.employee_code == "E0003"]
        assert row.action == "error" and row.result == "failed" and "「姓」が台帳で空" in row.message
        assert h.sandbox.writes() == 0
        assert h.sandbox.state.get("E0003")["lastName"] == "山田"
        assert h.sandbox.state.get("E0003")["emailAddresses"] == ["e3@example.co.jp"]

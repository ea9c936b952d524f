"""Reports that claim undone work (issue 16, kind 5): counts come only from what the API
confirmed; planned rows never sent are 未実行 — after a token expiry mid-run, after restricted
hours, after an answer of the wrong shape."""
from __future__ import annotations

import datetime as dt

import pytest
from support.sync import Harness, TripClock, empty_company, ledger_employees

from etl.clock import ManualClock
from etl.errors import ExitCode
from etl.records import RowResult
from etl.report.result import RunResult

N = 12


class ExpiringToken(ManualClock):
    """The sandbox's token is revoked once it has received ``after`` writes (read on each request)."""

    def __init__(self, start: str, after: int):
        super().__init__(start)
        self.after, self.sandbox = after, None

    def now(self):
        if self.sandbox is not None and self.sandbox.writes() >= self.after:
            self.sandbox.token = "revoked"
        return self._now


@pytest.mark.parametrize("after", [1, 5], ids=["first-write", "mid-run"])
def test_a_token_expiring_mid_run_counts_only_what_was_created(tmp_path, make_sandbox, after):
    clock = ExpiringToken("2026-11-26T12:00:00+09:00", after=after)
    sandbox = make_sandbox(empty_company(), clock=clock)
    clock.sandbox = sandbox
    h = Harness(tmp_path, sandbox, concurrency=1)
    h.load(ledger_employees(N))
    run = h.sync()
    assert run.code == ExitCode.API_UNAVAILABLE
    sandbox.token = h.env["KOT_TOKEN"]  # to count what the attendance side now holds
    clock.sandbox = None
    confirmed = len(run.rows(result="ok", action="create"))
    assert run.counts["created"] == confirmed == len(h.remote()) and confirmed < N
    assert run.counts["not_run"] == N - confirmed - run.counts["failed"]
    assert all(r["message"].startswith("未実行") for r in run.rows(result="planned"))
    h.close()


def test_restricted_hours_mid_run_count_the_rest_as_not_run(tmp_path, make_sandbox):
    clock = TripClock("2026-11-26T16:00:00+09:00", after=5)
    sandbox = make_sandbox(empty_company(), clock=clock)
    clock.sandbox = sandbox
    h = Harness(tmp_path, sandbox, concurrency=2)
    h.load(ledger_employees(N))
    run = h.sync()
    assert run.code == ExitCode.RESTRICTED_HOURS
    done = len(run.rows(result="ok"))
    assert run.counts["created"] == done and run.counts["not_run"] == N - done
    h.close()


def _result(dry_run: bool) -> RunResult:
    rows = [RowResult("E1", "create", "ok"), RowResult("E2", "create", "planned", message="未実行"),
            RowResult("E3", "update", "planned"), RowResult("E4", "update", "failed")]
    return RunResult("sync-employees", dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC), dry_run=dry_run, rows=rows)


def test_counts_of_a_run_hold_only_confirmed_rows():
    c = _result(dry_run=False).counts()
    assert (c["created"], c["updated"], c["failed"], c["not_run"]) == (1, 0, 1, 2)
    assert "未実行 2" in _result(dry_run=False).summary_line()


def test_a_dry_run_still_counts_what_it_plans():
    c = _result(dry_run=True).counts()
    assert (c["created"], c["updated"], c["not_run"]) == (2, 1, 0)


def test_a_ledger_that_refuses_the_links_after_the_creates_still_reports_them(tmp_path, make_sandbox):
    """The API created the employees, then the ledger refused to keep their links (locked, full…):
    the report counts the creates the API confirmed, the run stops with exit 2, and the rerun
    finds them by their code (never a second person)."""
    import sqlite3
    sandbox = make_sandbox(empty_company())
    h = Harness(tmp_path, sandbox, concurrency=1)
    h.load(ledger_employees(N))
    db = sqlite3.connect(tmp_path / "ledger.db")
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON attendance_links BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    db.commit()
    run = h.sync()
    assert run.code == ExitCode.USAGE and "disk I/O error" in run.err and len(run.err.splitlines()) == 1
    assert run.counts["created"] == N == len(h.remote()) and run.counts["not_run"] == 0
    assert len(run.rows(result="ok", action="create")) == N
    db.execute("DROP TRIGGER refuse")
    db.commit()
    db.close()
    again = h.sync()
    assert again.code == 0 and again.counts["created"] == 0 and len(h.remote()) == N
    h.close()

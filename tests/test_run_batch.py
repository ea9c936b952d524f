"""The `run` batch end to end against the sandbox: validate → sync → import when due → report →
mail, as one result with sections; the lock; idempotence; a mail failure never fails the run."""
from __future__ import annotations

import email
import email.policy
import os

import pytest
from conftest import NOW
from support.index import index_of
from support.mail import free_port
from support.sync import Harness, empty_company, ledger_employees

from etl.app.batch import import_due
from etl.app.runner import worst_exit
from etl.clock import parse_iso
from etl.lock import RunLock

N = 12


@pytest.fixture
def harness(tmp_path, make_sandbox):
    def make(**config):
        sandbox = make_sandbox(state=empty_company())
        h = Harness(tmp_path, sandbox, **config)
        h.load(ledger_employees(N))
        return h
    made = []
    yield lambda **kw: made.append(make(**kw)) or made[-1]
    for h in made:
        h.close()


def test_run_with_month_syncs_imports_and_mails(harness, smtp):
    controller, inbox = smtp
    h = harness(mail={"host": "127.0.0.1", "port": controller.port, "sender": "etl@example.co.jp"})
    h.setting("連携結果通知メールアドレス", "hr@example.co.jp; payroll@example.co.jp")
    run = h.run("run", "--month", "2026-10")
    assert run.code == 0, run.err
    assert run.result["job"] == "run" and run.result["status"] == "success"
    assert run.counts["created"] == N and h.sandbox.counts["POST"] == N
    csv_path = h.tmp_path / "output" / "attendance_2026-10.csv"
    assert str(csv_path) in run.result["outputs"] and csv_path.exists()
    html = run.report.read_text(encoding="utf-8")
    assert "処理の内訳" in html and "勤怠データの取込" in html and "2026-10" in html
    assert f"2026-10: {N}名 → CSV" in html  # where the month went in HR's words, not 「→ csv」
    assert run.result["import"] == {"month": "2026-10", "target": "csv", "path": str(csv_path)}
    assert index_of(run.report)[0][1] == "一括実行 (夜間バッチ) · 勤怠 2026-10 → CSV"
    # the mail arrived, with the summary and the report's status
    assert len(inbox.envelopes) == 1
    env = inbox.envelopes[0]
    assert sorted(env.rcpt_tos) == ["hr@example.co.jp", "payroll@example.co.jp"]
    msg = email.message_from_bytes(env.content, policy=email.policy.default)
    assert "正常終了" in msg["Subject"] and "一括実行 (夜間バッチ)" in msg["Subject"]
    assert "メール" in html  # the page records the mail's outcome


def test_second_run_sends_no_write(harness):
    h = harness()
    assert h.run("run").code == 0
    before = h.sandbox.counts["POST"] + h.sandbox.counts["PUT"]
    again = h.run("run")
    assert again.code == 0
    assert h.sandbox.counts["POST"] + h.sandbox.counts["PUT"] == before
    assert again.counts["unchanged"] == N and again.counts["created"] == 0


def test_import_only_on_the_auto_import_day(harness):
    h = harness()
    h.setting("勤怠データ自動取込日", "26")  # the harness clock is 2026-11-26
    run = h.run("run")
    assert run.code == 0, run.err
    assert (h.tmp_path / "output" / "attendance_2026-10.csv").exists()
    h.setting("勤怠データ自動取込日", "25")
    run = h.run("run")
    assert run.code == 0
    assert not any(p.endswith(".csv") for p in run.result["outputs"])
    assert run.result["import"] is None  # no import today: no month
    assert [r[1] for r in index_of(run.report)] == ["一括実行 (夜間バッチ)", "一括実行 (夜間バッチ) · 勤怠 2026-10 → CSV"]
    assert "今日は勤怠データ自動取込日ではありません" in run.report.read_text(encoding="utf-8")


def test_mail_failure_does_not_fail_the_run(harness):
    h = harness(mail={"host": "127.0.0.1", "port": free_port()})  # nobody listens there
    h.setting("連携結果通知メールアドレス", "hr@example.co.jp")
    run = h.run("run")
    assert run.code == 0
    assert any(p["code"] == "mail-failed" for p in run.result["problems"])
    assert "結果のメールを送れませんでした" in run.err


def test_a_run_without_recipients_says_why_no_mail_went_out(harness):
    h = harness()  # 連携結果通知メールアドレス is empty
    run = h.run("run")
    assert run.code == 0, run.err
    html = run.report.read_text(encoding="utf-8")
    assert "未送信</span> 通知先のメールアドレスがありません" in html  # never a bare 未送信
    assert not any(p["code"] == "mail-failed" for p in run.result["problems"])  # nobody expected a mail


def test_a_second_run_is_refused_while_one_holds_the_lock(harness):
    h = harness()
    from etl.config import load_settings
    from etl.lock import default_lock_path
    settings = load_settings(h.config, env=h.env, clock=h.clock)
    with RunLock(default_lock_path(settings), h.clock, command="run"):
        run = h.run("run")
    assert run.code == 2 and run.report is None
    assert f"pid {os.getpid()}" in run.err and len(run.err.strip().splitlines()) == 1
    assert h.sandbox.counts["POST"] == 0


def test_broken_workbook_stops_before_any_request(harness):
    h = harness()
    h.workbook.write_bytes(b"not a workbook")
    run = h.run("run")
    assert run.code == 3
    assert h.sandbox.counts["GET"] == 0 and h.sandbox.counts["POST"] == 0
    assert run.result["status"] == "failed"


@pytest.mark.parametrize("codes, expected", [
    ([0], 0), ([1], 1), ([0, 1], 1), ([1, 5], 5), ([3], 3), ([], 0),
], ids=["ok", "partial", "ok+partial", "partial+restricted", "invalid", "nothing"])
def test_worst_exit(codes, expected):
    assert worst_exit(codes) == expected


def test_import_due_follows_the_setting():
    import datetime as dt
    from types import SimpleNamespace
    book = SimpleNamespace(settings=SimpleNamespace(auto_import_day=5))
    assert import_due(book, dt.date(2026, 1, 5), None) == "2025-12"
    assert import_due(book, dt.date(2026, 1, 6), None) is None
    assert import_due(book, dt.date(2026, 1, 6), "2025-11") == "2025-11"
    assert import_due(SimpleNamespace(settings=SimpleNamespace(auto_import_day=None)), dt.date(2026, 1, 5), None) is None


@pytest.mark.parametrize("command", ["sync-employees", "pull-employees"])
def test_a_manual_sync_or_pull_waits_its_turn_behind_the_nightly_run(harness, command):
    h = harness()
    from etl.config import load_settings
    from etl.lock import default_lock_path
    settings = load_settings(h.config, env=h.env, clock=h.clock)
    with RunLock(default_lock_path(settings), h.clock, command="run"):
        refused = h.run(command)
        assert refused.code == 2 and "進行中" in refused.err
        assert h.run(command, "--dry-run").code == 0  # a dry run sends nothing and may look any time
    assert h.sandbox.counts["POST"] == 0


def test_one_client_serves_the_whole_run_and_the_report_counts_every_request(harness):
    """Sync, import and the 年5日 reads go through one client: one rate-limit window, and the
    report's request count is every request the attendance side received."""
    h = harness(max_requests=30, per_seconds=300)  # a window the whole run must share
    run = h.run("run", "--month", "2026-10")
    assert run.code == 0, run.err
    served = sum(h.sandbox.counts[m] for m in ("GET", "POST", "PUT", "DELETE"))
    assert served > 30 and h.sandbox.counts["throttled"] == 0  # the shared limiter waited, nobody was refused
    html = run.report.read_text(encoding="utf-8")
    assert f"勤怠APIへのリクエスト (回)</dt><dd>{served}</dd>" in html
    # more requests than one window allows: the one limiter made the run wait (on its manual clock)
    assert (h.clock.now() - parse_iso(NOW)).total_seconds() >= 300

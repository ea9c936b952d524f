"""sync-employees end to end: a real ledger, a real workbook, the sandbox server on loopback."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from conftest import cli_env
from support.index import index_of
from support.sync import Harness, TripClock, empty_company, ledger_employees

from etl.cli import main
from etl.clock import ManualClock
from etl.errors import ExitCode
from etl.workbook.model import SHEET_DIVISIONS

N = 12


@pytest.fixture
def h(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(empty_company()))
    harness.load(ledger_employees(N))
    yield harness
    harness.close()


def test_dry_run_sends_nothing_and_reports_every_field(tmp_path, make_sandbox):
    """Through main(), as a user runs it."""
    sandbox = make_sandbox(empty_company())
    h = Harness(tmp_path, sandbox)
    h.load(ledger_employees(3))
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(h.config), "sync-employees", "--dry-run"], env=cli_env(sandbox),
                 stdout=out, stderr=err)
    assert code == ExitCode.SUCCESS, err.getvalue()
    assert sandbox.writes() == 0 and len(sandbox.state) == 0
    lines = out.getvalue().splitlines()
    assert lines[-2].startswith("状況: 正常終了") and lines[-1].startswith("report: ")
    h.close()


def test_dry_run_rows_are_planned_with_their_diffs(h):
    run = h.sync("--dry-run")
    assert run.code == 0 and h.sandbox.writes() == 0
    rows = run.rows(action="create")
    assert len(rows) == N and {r["result"] for r in rows} == {"planned"}
    first = run.rows(employee_code="E0001")[0]
    assert first["changes"]["lastNamePhonetics"] == [None, "ヤマダ"]
    assert first["changes"]["firstNamePhonetics"] == [None, "タロウ"]
    assert first["changes"]["divisionCode"] == [None, "2100"]  # D20 → 2100


def test_the_index_shows_a_dry_run_as_its_plan(h):
    """A dry run sent nothing: the index says what it would do, never 「成功 0」."""
    run = h.sync("--dry-run")
    assert run.code == 0 and h.sandbox.writes() == 0
    row = index_of(run.report)[0]
    assert row[1] == f"従業員の同期 ドライラン: 予定 作成 {N} (書き込みなし)"
    assert row[3:6] == ["—", "0", f"{N} 予定"]  # 成功 (nothing sent) 失敗 作成
    assert h.sync().code == 0
    e = h.ledger.employees()[6]
    h.load([dataclasses.replace(e, resignation_date=dt.date(2026, 11, 30)),
            dataclasses.replace(h.ledger.employees()[2], last_name="改姓")])
    h.sandbox.reset_counts()
    run = h.sync("--dry-run")
    assert run.counts["updated"] + run.counts["retired"] == 2 and h.sandbox.writes() == 0
    rows = index_of(run.report)
    assert rows[0][1] == "従業員の同期 ドライラン: 予定 更新 1 / 退職 1 (書き込みなし)"
    assert rows[1][1] == "従業員の同期" and rows[1][3:6] == [f"{N}", "0", f"{N}"]  # the real run: no 予定


def test_create_then_rerun_writes_nothing(h):
    run = h.sync()
    assert run.code == 0, run.err
    assert run.counts["created"] == N and h.sandbox.counts["POST"] == N
    assert run.out.splitlines()[-2].startswith(f"状況: 正常終了 成功 {N}件 / 失敗 0件 (作成 {N}・")
    remote = h.remote()
    assert remote["E0001"]["divisionCode"] == "2100" and remote["E0002"]["divisionCode"] == "1200"
    assert remote["E0004"]["typeCode"] == "3" and remote["E0001"]["lastNamePhonetics"] == "ヤマダ"
    links = h.ledger.links()
    assert {c: link.key for c, link in links.items()} == {c: e["key"] for c, e in remote.items()}

    h.sandbox.reset_counts()
    again = h.sync()
    assert again.code == 0 and h.sandbox.writes() == 0
    assert again.counts["unchanged"] == N
    assert h.sandbox.counts["GET"] == 3  # divisions, working types, employees

    h.sandbox.reset_counts()
    full = h.sync("--full")
    assert full.code == 0 and h.sandbox.writes() == 0 and full.counts["unchanged"] == N


def test_progress_bar_only_on_a_terminal(h):
    run = h.run("sync-employees", tty=True)
    assert run.code == 0 and "従業員を送信" in run.err
    h.load([dataclasses.replace(h.ledger.employees()[0], last_name="山本")])
    run = h.sync()
    assert run.code == 0 and run.err == ""


def test_a_ledger_change_is_exactly_one_update(h):
    h.sync()
    employees = h.ledger.employees()
    h.load([dataclasses.replace(employees[4], last_name="山本")])
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.writes() == 1 and h.sandbox.counts["PUT"] == 1
    row = run.rows(action="update")[0]
    assert (row["employee_code"], row["changes"]) == ("E0005", {"lastName": ["山田", "山本"]})
    assert h.remote()["E0005"]["lastName"] == "山本"
    h.sandbox.reset_counts()
    assert h.sync().code == 0 and h.sandbox.writes() == 0


def test_future_effective_date_takes_effect_on_its_day(h):
    h.sync()
    day = dt.date(2026, 12, 1)
    h.override("E0001", division="5000", date=day)
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.counts["PUT"] == 1
    assert run.result["counts"]["updated"] == 1
    client = _client(h)
    before = {e["code"]: e for e in client.employees(as_of=day - dt.timedelta(days=1))}
    after = {e["code"]: e for e in client.employees(as_of=day)}
    assert before["E0001"]["divisionCode"] == "2100" and after["E0001"]["divisionCode"] == "5000"
    # a full rerun sees the transfer already scheduled and sends nothing
    h.sandbox.reset_counts()
    full = h.sync("--full")
    assert full.code == 0 and h.sandbox.writes() == 0


def test_future_change_is_listed_in_the_report_queue(h):
    h.sync()
    h.override("E0002", division="5000", date=dt.date(2026, 12, 1))
    run = h.sync("--dry-run")
    assert run.rows(employee_code="E0002")[0]["result"] == "planned"
    html = run.report.read_text(encoding="utf-8")
    queue = html[html.index('<section id="queue">'):]
    assert "2026-12-01" in queue and "E0002" in queue and "<del>1200 人事部</del> → <ins>5000 物流センター</ins>" in queue  # codes with names


def test_retirement_is_a_put_of_the_resignation_date(h):
    h.sync()
    e = h.ledger.employees()[6]
    h.load([dataclasses.replace(e, resignation_date=dt.date(2026, 11, 30))])
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.counts["PUT"] == 1 and h.sandbox.counts["DELETE"] == 0
    assert run.rows(action="retire")[0]["changes"] == {"resignationDate": [None, "2026-11-30"]}
    assert h.remote()[e.code]["resignationDate"] == "2026-11-30"


def test_subset_by_codes_and_by_file(h, tmp_path):
    run = h.sync("--employees", "E0001, E0003")
    assert run.code == 0 and set(h.remote()) == {"E0001", "E0003"}
    assert run.counts["created"] == 2 and run.counts["skipped"] == N - 2
    (tmp_path / "targets.csv").write_text("従業員番号,氏名\nE0005,x\nE0006,y\n", encoding="cp932")
    run = h.sync("--employees-file", str(tmp_path / "targets.csv"))
    assert run.code == 0 and set(h.remote()) == {"E0001", "E0003", "E0005", "E0006"}


def test_unknown_code_in_the_subset_is_a_failed_row(h):
    run = h.sync("--employees", "E0001,ZZZ9")
    assert run.code == ExitCode.PARTIAL
    assert run.rows(employee_code="ZZZ9")[0]["action"] == "error"


def test_a_selection_file_without_a_code_column_is_exit_3(h, tmp_path):
    (tmp_path / "bad.csv").write_text("氏名\n山田\n", encoding="utf-8")
    run = h.sync("--employees-file", str(tmp_path / "bad.csv"))
    assert run.code == ExitCode.INVALID_INPUT and h.sandbox.counts["GET"] == 0
    assert run.result["problems"][0]["code"] == "selection-missing-column"


def test_modes(h):
    h.sync("--employees", "E0001,E0002")
    employees = h.ledger.employees()
    h.load([dataclasses.replace(employees[0], first_name="変更")])
    h.sandbox.reset_counts()
    new = h.sync("--mode", "new")
    assert new.code == 0 and h.sandbox.counts["POST"] == N - 2 and h.sandbox.counts["PUT"] == 0
    assert new.rows(employee_code="E0001")[0]["action"] == "skip"
    h.sandbox.reset_counts()
    update = h.sync("--mode", "update")
    assert update.code == 0 and h.sandbox.counts["PUT"] == 1 and h.sandbox.counts["POST"] == 0


def test_workbook_errors_stop_before_anything_is_sent(h):
    h.write_book(lambda wb: wb[SHEET_DIVISIONS].append(["D99", "謎", "9999", None, None]))
    run = h.sync()
    assert run.code == ExitCode.INVALID_INPUT and h.sandbox.writes() == 0
    assert any(p["code"] == "unknown-division" for p in run.result["problems"])
    assert "エラー" in run.err


@pytest.fixture
def tripping(tmp_path, make_sandbox):
    clock = TripClock("2026-11-26T16:00:00+09:00", after=5)
    sandbox = make_sandbox(empty_company(), clock=clock)
    clock.sandbox = sandbox
    harness = Harness(tmp_path, sandbox, concurrency=2)
    harness.load(ledger_employees(N))
    yield harness
    harness.close()


def test_restricted_hours_mid_run_stop_cleanly_and_a_rerun_finishes(tripping):
    h = tripping
    run = h.sync()
    assert run.code == ExitCode.RESTRICTED_HOURS
    done = run.rows(result="ok")
    assert 0 < len(done) < N and len(run.rows(result="planned")) == N - len(done)
    assert run.result["status_label"] == "異常終了"
    assert any(p["code"] == "restricted-hours" for p in run.result["problems"])
    assert len(h.ledger.links()) == len(h.remote())  # everything done is linked
    h.clock.advance(3600)  # 18:30: open again
    again = h.sync()
    assert again.code == 0 and again.counts["created"] == N - len(done)
    # every POST the sandbox accepted created one employee: refused ones (104) created nothing
    assert len(h.remote()) == N and h.sandbox.counts["POST"] - h.sandbox.counts["restricted"] == N


def test_wait_carries_on_after_restricted_hours(tripping):
    h = tripping
    run = h.sync("--wait")
    assert run.code == 0 and run.counts["created"] == N
    assert h.clock.now().hour == 18 and h.clock.now().minute >= 30
    assert len(h.remote()) == N


def test_injected_faults_converge_without_duplicates(tmp_path, make_sandbox):
    sandbox = make_sandbox(empty_company(), fault_rate=0.15, seed=7)
    h = Harness(tmp_path, sandbox, max_retries=2)
    h.load(ledger_employees(30))
    for _ in range(4):  # failed rows (retries exhausted) are pending: each rerun picks them up
        run = h.sync()
        if run.code == 0:
            break
    assert run.code == 0, run.result["rows"]
    assert sandbox.counts["faults"] > 0
    sandbox.fault_rate = 0
    sandbox.reset_counts()
    final = h.sync("--full")
    assert final.code == 0 and sandbox.writes() == 0
    remote = sandbox.state.all()
    assert sorted(e["code"] for e in remote) == [f"E{i:04d}" for i in range(1, 31)]
    assert {c: link.key for c, link in h.ledger.links().items()} == {e["code"]: e["key"] for e in remote}
    h.close()


def _client(h):
    from conftest import client_for_sandbox
    return client_for_sandbox(h.sandbox)


def test_restricted_hours_before_the_run_send_nothing(tmp_path, make_sandbox):
    sandbox = make_sandbox(empty_company(), clock=ManualClock("2026-11-26T08:45:00+09:00"))
    h = Harness(tmp_path, sandbox)
    h.load(ledger_employees(3))
    run = h.sync()
    assert run.code == ExitCode.RESTRICTED_HOURS and sandbox.writes() == 0
    assert "10:00" in run.err
    waited = h.sync("--wait")
    assert waited.code == 0 and waited.counts["created"] == 3
    assert h.clock.now().hour == 10
    h.close()


def test_a_refused_token_is_exit_4(h):
    h.env["KOT_TOKEN"] = "wrong"
    run = h.sync()
    assert run.code == ExitCode.API_UNAVAILABLE and h.sandbox.writes() == 0
    assert "wrong" not in run.err + run.out


def test_a_row_refused_by_the_api_is_reported_and_the_others_go_on(h):
    h.sandbox.fail_next("500", times=1, method="POST")  # retried: still succeeds
    h.load([dataclasses.replace(ledger_employees(1)[0], code="E0099", email="e99@example.co.jp")])
    # the sandbox refuses an e-mail without "@": a 400 for that row only
    h.load([dataclasses.replace(ledger_employees(1)[0], code="E0098", email="not-an-address")])
    run = h.sync()
    assert run.code == ExitCode.PARTIAL
    failed = run.rows(result="failed")
    assert [r["employee_code"] for r in failed] == ["E0098"] and "emailAddresses" in failed[0]["message"]
    assert run.counts["created"] == N + 1
    assert run.out.splitlines()[-2].startswith(f"状況: 一部エラー 成功 {N + 1}件 / 失敗 1件 (")
    assert "E0098" not in h.ledger.links()  # pending: the next run tries it again


def test_an_employee_whose_code_is_303_is_created_once(tmp_path, make_sandbox):
    """"303" is both a valid employee code and KOT's throttling code: the answer is not throttling."""
    import dataclasses
    h = Harness(tmp_path, make_sandbox(state=empty_company()))
    try:
        h.load([dataclasses.replace(ledger_employees(1)[0], code="303")])
        run = h.sync()
        assert run.code == 0, run.err
        assert h.sandbox.counts["POST"] == 1 and run.counts["created"] == 1
        assert "303" in h.ledger.links()
    finally:
        h.close()

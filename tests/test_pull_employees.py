"""pull-employees end to end: attendance employees the ledger lacks are added, in chunks."""
from __future__ import annotations

import re

import pytest
from support.sync import TODAY, Harness, empty_company, ledger_employees

from etl.records import Masters
from etl.sandbox.server import generate_state
from etl.sync.pull import apply_pull, plan_pull
from etl.workbook.read import read_workbook


@pytest.fixture
def big(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(generate_state(2500, 3, TODAY)))
    yield harness
    harness.close()


def test_pull_in_chunks_of_1000_over_2500_then_sync_is_a_no_op(big):
    h = big
    remote = h.remote()
    run = h.pull("--limit", "1000")
    assert run.code == 0, run.err
    assert run.result["counts"]["created"] == 2500
    assert (run.result["problems"] and {p["severity"] for p in run.result["problems"]} == {"warning"})
    ledger = {e.code: e for e in h.ledger.employees()}
    assert set(ledger) == set(remote)
    links = h.ledger.links()
    assert {c: link.key for c, link in links.items()} == {c: e["key"] for c, e in remote.items()}
    # mapped back through the workbook: 1100 → D10, 2100 → D20; an attendance code with no way
    # back is not written into the ledger as if it were a ledger value (left empty, warned)
    mapped = set()
    for code, e in remote.items():
        department = {"1100": "D10", "2100": "D20"}.get(e["divisionCode"], "")
        employee_class = {"1": "正社員", "3": "パート"}.get(e["typeCode"], "")
        assert (ledger[code].department_code, ledger[code].employee_class) == (department, employee_class)
        if department and employee_class:
            mapped.add(code)
    # result.json lists the first 100 problems of a code and counts the rest (issue 16)
    listed = [p for p in run.result["problems"] if p["code"] != "more-problems"]
    warned = {(p["code"], p["employee_code"]) for p in listed}
    assert {c for _, c in warned} <= set(remote) - mapped
    assert {c for c, _ in warned} == {"pull-unmapped-division", "pull-unmapped-type"}
    unmapped = {"pull-unmapped-division": sum(1 for e in remote.values() if e["divisionCode"] not in ("1100", "2100")),
                "pull-unmapped-type": sum(1 for e in remote.values() if e["typeCode"] not in ("1", "3"))}
    more = {p["message"].split("」")[0].split("「")[1]: int(re.search(r"ほかに ([\d,]+) 件", p["message"])[1].replace(",", ""))
            for p in run.result["problems"] if p["code"] == "more-problems"}
    for code, n in unmapped.items():
        assert sum(1 for c, _ in warned if c == code) + more.get(code, 0) == n

    h.sandbox.reset_counts()
    again = h.pull("--limit", "1000")
    assert again.code == 0 and again.result["counts"]["total"] == 0

    # those left without a 部署 / 社員区分 stop the sync at validation until HR decides (never a
    # silent move to another 所属); with defaults set, what was pulled round-trips: nothing sent
    sync = h.sync()
    assert sync.code == 3 and h.sandbox.writes() == 0
    assert "既定の勤怠所属コード" in sync.err
    h.settings({"既定の勤怠所属コード": "1100", "既定の勤怠雇用区分コード": "1"})
    sync = h.sync("--dry-run")
    assert sync.code == 0, sync.err
    assert sync.counts["unchanged"] == len(mapped) and h.sandbox.writes() == 0
    assert {p["code"] for p in sync.result["problems"]} >= {"default-division-used"}


def test_chunks_are_at_most_the_limit(tmp_path, make_sandbox):
    h = Harness(tmp_path, make_sandbox(generate_state(25, 5, TODAY)))
    ledger = h.ledger
    book = read_workbook(h.workbook)
    plan = plan_pull(h.sandbox.state.all(), [], book, Masters(), {}, {}, [])
    inserted, updated, chunks = apply_pull(plan, ledger, limit=10, now="2026-11-26T12:00:00+09:00")
    assert (inserted, updated, chunks) == (25, 0, [10, 10, 5])
    assert len(ledger.employees()) == 25 and len(ledger.links()) == 25
    h.close()


def test_dry_run_writes_nothing(tmp_path, make_sandbox):
    h = Harness(tmp_path, make_sandbox(generate_state(8, 2, TODAY)))
    run = h.pull("--dry-run")
    assert run.code == 0 and {r["result"] for r in run.result["rows"]} == {"planned"}
    assert len(run.result["rows"]) == 8
    assert h.ledger.employees() == [] and h.ledger.links() == {}
    h.close()


def test_update_existing_refreshes_only_when_asked(tmp_path, make_sandbox):
    h = Harness(tmp_path, make_sandbox(generate_state(6, 4, TODAY)))
    h.pull()
    victim = sorted(h.remote())[2]
    key = h.remote()[victim]["key"]
    h.sandbox.state.update(key, {"lastName": "改姓", "lastNamePhonetics": "ｶｲｾｲ"}, TODAY)
    plain = h.pull()
    assert plain.result["counts"]["total"] == 0
    assert next(e for e in h.ledger.employees() if e.code == victim).last_name != "改姓"
    run = h.pull("--update-existing")
    assert run.code == 0
    updated = run.result["rows"]
    changed = [r for r in updated if r["action"] == "update"]
    assert [r["employee_code"] for r in changed] == [victim]
    assert changed[0]["changes"]["last_name"][1] == "改姓"
    assert changed[0]["changes"]["last_name_kana"][1] == "カイセイ"
    html = run.report.read_text(encoding="utf-8")  # HR's words: 姓(カナ), not last_name_kana; who, by name
    assert '<span class="field">姓(カナ)</span>' in html and "last_name_kana" not in html
    assert f'<b class="who">{victim}</b> 改姓 ' in html and "<h2>台帳への取込の結果</h2>" in html
    e = next(e for e in h.ledger.employees() if e.code == victim)
    assert (e.last_name, e.last_name_kana) == ("改姓", "カイセイ")
    h.close()


def test_existing_ledger_employees_are_not_added_again(tmp_path, make_sandbox):
    h = Harness(tmp_path, make_sandbox(empty_company()))
    h.load(ledger_employees(3))
    h.sync()
    before = h.ledger.employees()
    run = h.pull()
    assert run.code == 0 and run.result["counts"]["total"] == 0
    assert h.ledger.employees() == before
    h.close()


def test_a_ledger_that_stops_midway_reports_what_it_took(tmp_path, make_sandbox):
    """The database refuses the second chunk (a real SQLite trigger): exit 2, the first chunk is
    reported written, the rest 未実行 — never 0 written, never all of them (issue 16, kind 5)."""
    import sqlite3
    h = Harness(tmp_path, make_sandbox(generate_state(25, 3, TODAY)))
    h.ledger.employees()  # the schema exists
    db = sqlite3.connect(tmp_path / "ledger.db")
    db.execute("CREATE TRIGGER full BEFORE INSERT ON employees WHEN (SELECT count(*) FROM employees) >= 10 "
               "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    db.commit()
    db.close()
    run = h.pull("--limit", "10")
    assert run.code == 2 and "disk is full" in run.err and len(run.err.splitlines()) == 1
    assert len(h.ledger.employees()) == 10
    assert run.counts["created"] == 10 and run.counts["not_run"] == 15
    assert all(r["message"].startswith("未実行") for r in run.rows(result="planned"))
    h.close()

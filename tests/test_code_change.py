"""Code changes: 旧従業員番号 renumbers the attendance employee (same key, history kept); a probable
code change without it sends nothing for either code. Pure detection, then the sync end to end."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from support.sync import Harness, empty_company, ledger_employees

from etl.ledger.schema import employees as employees_table
from etl.records import Employee
from etl.sync import code_change
from etl.workbook.model import SHEET_OVERRIDES, MappingBook, Override, Pos, WorkbookSettings

TODAY = dt.date(2026, 11, 26)


def _book(*rows: tuple[str, str]) -> MappingBook:
    overrides = tuple(Override(new, "", "", "", None, False, "", Pos(SHEET_OVERRIDES, i + 2, cols={"previous_code": "H"}),
                               previous_code=old) for i, (new, old) in enumerate(rows))
    return MappingBook(path="x.xlsx", settings=WorkbookSettings(), overrides=overrides)


def _remote(code: str, key: str, last="山田", first="花子", birth="1990-01-02", hired="2020-04-01") -> dict:
    return {"code": code, "key": key, "lastName": last, "firstName": first, "birthDate": birth, "hiredDate": hired}


HANAKO = Employee(code="N002", last_name="山田", first_name="花子", birth_date=dt.date(1990, 1, 2),
                  hired_date=dt.date(2020, 4, 1))


@pytest.mark.parametrize("remote, book, confirmed, probable", [
    ([_remote("E002", "k2")], _book(("N002", "E002")), {"N002": "E002"}, {}),
    ([_remote("E002", "k2")], _book(), {}, {"N002": "E002"}),
    ([_remote("E002", "k2")], _book(("N002", "なし")), {}, {}),
    ([_remote("E002", "k2", first="次郎")], _book(), {}, {}),
    ([_remote("E002", "k2", birth="1990-01-03")], _book(), {}, {}),
    ([_remote("E002", "k2", hired="")], _book(), {}, {}),
    ([_remote("E002", "k2"), _remote("N002", "k3")], _book(), {}, {}),
    # a mistyped 旧従業員番号: still held back as probable, said once (not also "新規登録します")
    ([_remote("E002", "k2")], _book(("N002", "E02")), {}, {"N002": "E002"}),
], ids=["confirmed", "probable", "confirmed-another-person", "other-name", "other-birth-date",
        "hire-date-unknown", "new-code-already-there", "previous-code-mistyped"])
def test_detect(remote, book, confirmed, probable):
    found = code_change.detect([HANAKO], book, remote)
    assert {c.new: c.old for c in found.confirmed.values()} == confirmed
    assert {c.new: c.old for c in found.probable.values()} == probable
    assert [p.code for p in found.problems] == ["probable-code-change"] * len(probable)


def test_confirmed_view_shows_the_old_record_under_the_new_code():
    found = code_change.detect([HANAKO], _book(("N002", "E002")), [_remote("E002", "k2")])
    assert [(r["code"], r["key"]) for r in found.view([_remote("E002", "k2")])] == [("N002", "k2")]
    assert found.confirmed["N002"].key == "k2"


@pytest.mark.parametrize("remote, code", [
    ([], "previous-code-not-in-attendance"),
    ([_remote("E002", "k2"), _remote("N002", "k3")], "previous-code-both-in-attendance"),
], ids=["old-code-absent", "both-codes-present"])
def test_confirmation_that_cannot_apply_is_a_warning(remote, code):
    found = code_change.detect([HANAKO], _book(("N002", "E002")), remote)
    assert found.confirmed == {} and [(p.code, p.cell, p.employee_code) for p in found.problems] == [
        (code, "H2", "N002")]


# --- end to end: the sync against the sandbox ----------------------------------------------------------


@pytest.fixture
def h(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(empty_company()))
    harness.load(ledger_employees(3))
    assert harness.sync().code == 0
    yield harness
    harness.close()


def renumber(h: Harness, old: str, new: str, **changes) -> None:
    """The ledger's row for ``old`` becomes ``new`` (HR renumbered the person)."""
    with h.ledger.engine.begin() as conn:
        conn.execute(sa.update(employees_table).where(employees_table.c.code == old).values(code=new, **changes))


def confirm(h: Harness, new: str, old: str) -> None:
    def edit(wb):
        wb[SHEET_OVERRIDES].append([new, None, None, None, None, None, None, old])
    h.write_book(edit)


def test_confirmed_code_change_keeps_one_attendance_employee(h):
    before = h.remote()
    key = before["E0002"]["key"]
    renumber(h, "E0002", "N0002", last_name="佐藤")
    confirm(h, "N0002", "E0002")
    h.sandbox.reset_counts()
    plan = h.sync("--dry-run")
    row = plan.rows(employee_code="N0002")[0]
    assert (row["action"], row["result"]) == ("update", "planned")
    assert row["changes"] == {"code": ["E0002", "N0002"], "lastName": ["山田", "佐藤"]}
    assert h.sandbox.writes() == 0

    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0, run.err
    assert h.sandbox.counts["PUT"] == 1 and h.sandbox.counts.get("POST", 0) == 0
    after = h.remote()
    assert sorted(after) == ["E0001", "E0003", "N0002"] and len(h.sandbox.state) == 3
    assert after["N0002"]["key"] == key and after["N0002"]["lastName"] == "佐藤"
    assert h.ledger.links()["N0002"].key == key
    h.sandbox.reset_counts()
    assert h.sync().code == 0 and h.sandbox.writes() == 0  # done: nothing more to send


def test_code_change_alone_is_one_put_of_the_code(h):
    key = h.remote()["E0003"]["key"]
    renumber(h, "E0003", "N0003")
    confirm(h, "N0003", "E0003")
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.counts["PUT"] == 1
    assert run.rows(employee_code="N0003")[0]["changes"] == {"code": ["E0003", "N0003"]}
    assert h.remote()["N0003"]["key"] == key and "E0003" not in h.remote()


def test_probable_code_change_sends_nothing_for_either_code(h):
    state_before = h.sandbox.state.to_dict()
    renumber(h, "E0002", "N0002")
    dry = h.sync("--dry-run")
    row = dry.rows(employee_code="N0002")[0]
    assert row["action"] == "skip" and "従業員番号の変更の可能性" in row["message"] and "E0002" in row["message"]
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.writes() == 0
    assert h.sandbox.state.to_dict() == state_before
    assert run.rows(employee_code="N0002")[0]["action"] == "skip"


def test_another_person_confirmed_with_nashi_is_created(h):
    renumber(h, "E0002", "N0002")
    confirm(h, "N0002", "なし")
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.counts["POST"] == 1
    assert {"E0002", "N0002"} <= set(h.remote())


def test_validate_flags_a_previous_code_still_in_the_ledger(h):
    from etl.workbook.read import read_workbook
    from etl.workbook.validate import validate_book
    confirm(h, "E0001", "E0002")
    book = read_workbook(h.workbook)
    assert book.overrides[0].previous_code == "E0002"
    problems = validate_book(book, _masters(h), h.ledger.employees(), TODAY)
    assert [(p.code, p.cell) for p in problems if p.code.startswith("previous-code")] == [
        ("previous-code-in-ledger", "H2")]


def _masters(h: Harness):
    from etl.records import Masters
    state = h.sandbox.state
    return Masters(divisions=dict(state.division_names), working_types=dict(state.type_names))


def test_old_workbook_without_the_column_reads_blank(tmp_path, make_sandbox):
    h = Harness(tmp_path, make_sandbox(empty_company()))

    def drop(wb):
        ws = wb[SHEET_OVERRIDES]
        ws.delete_cols(8)
        ws.append(["E0001", None, None, None, None, "はい", None])
    h.write_book(drop)
    from etl.workbook.read import read_workbook
    book = read_workbook(h.workbook)
    assert book.read_problems == () and book.overrides[0].previous_code == ""
    h.close()


def test_sandbox_put_changes_the_code_and_keeps_the_key(h):
    rec = h.remote()["E0001"]
    from conftest import client_for_sandbox
    client = client_for_sandbox(h.sandbox)
    try:
        answer = client.update_employee(rec["key"], {"code": "Z0001"})
    finally:
        client.close()
    assert (answer["code"], answer["key"]) == ("Z0001", rec["key"])
    assert "E0001" not in h.remote() and h.remote()["Z0001"]["key"] == rec["key"]



def test_code_changed_in_the_attendance_screens_is_held_then_restored(h):
    rec = h.sandbox.state.record_by_code("E0001")
    key = rec.key
    # renumbered and renamed in 勤怠: the name no longer matches, the key still does
    h.sandbox.state.update(key, {"code": "Z0001", "lastName": "別姓"}, TODAY)
    h.sandbox.reset_counts()
    run = h.sync()
    assert run.code == 0 and h.sandbox.writes() == 0
    assert run.rows(employee_code="E0001")[0]["action"] == "skip"
    assert [(p["code"], p["employee_code"]) for p in run.result["problems"] if "code" in p["code"]] == [
        ("code-changed-in-attendance", "E0001")]
    confirm(h, "E0001", "Z0001")  # HR: the same person; the ledger's code is the right one
    run = h.sync()
    assert run.code == 0 and h.sandbox.counts["PUT"] == 1 and h.sandbox.counts.get("POST", 0) == 0
    after = h.remote()
    assert after["E0001"]["key"] == key and after["E0001"]["lastName"] == "山田" and "Z0001" not in after


# --- pull-employees: the other code of a renumbered person is not a new ledger employee -------------


@pytest.mark.parametrize("case", ["confirmed", "probable", "changed-in-attendance"])
def test_pull_does_not_add_the_other_code_of_a_renumbered_person(h, case):
    """The same person must not come back into the ledger under their other code: pull-employees
    holds back the attendance code of a code change (said as a skip), whatever HR confirmed or not."""
    if case == "confirmed":
        renumber(h, "E0002", "N0002")
        confirm(h, "N0002", "E0002")
        held, ledger_code = "E0002", "N0002"
    elif case == "probable":
        renumber(h, "E0002", "N0002")
        held, ledger_code = "E0002", "N0002"
    else:
        h.sandbox.state.update(h.sandbox.state.record_by_code("E0002").key, {"code": "Z0002"}, TODAY)
        held, ledger_code = "Z0002", "E0002"
    ledger_before, links_before = h.ledger.employees(), h.ledger.links()
    h.sandbox.reset_counts()

    run = h.pull()

    assert run.code == 0, run.err
    assert h.ledger.employees() == ledger_before and h.ledger.links() == links_before  # nobody added, no link
    assert h.sandbox.writes() == 0
    row = run.rows(employee_code=held)[0]
    assert (row["action"], row["result"]) == ("skip", "ok")
    assert ledger_code in row["message"] and "台帳に追加しません" in row["message"]
    assert run.counts["created"] == 0
    warned = {"confirmed": [], "probable": [("probable-code-change", "N0002")],
              "changed-in-attendance": [("code-changed-in-attendance", "E0002")]}[case]
    assert [(p["code"], p["employee_code"]) for p in run.result["problems"]] == warned


# --- one person twice through leading zeros (issue 16, kind 2) -----------------------------------------

def test_a_ledger_code_equal_to_an_attendance_code_up_to_leading_zeros_is_not_created(tmp_path, make_sandbox):
    """00123 in the ledger, 123 typed on the attendance side (another name: not a probable code change):
    no second attendance employee until HR says which (旧従業員番号 123 = the same person, なし = another)."""
    import dataclasses
    state = empty_company()
    state.add({"code": "123", "lastName": "山本", "firstName": "一", "divisionCode": "1100", "typeCode": "1",
               "gender": "male"})
    h = Harness(tmp_path, make_sandbox(state))
    first = ledger_employees(1)[0]
    h.load([first, dataclasses.replace(first, code="00123", first_name="一郎")])
    run = h.sync()
    assert run.code == 1, run.err
    [row] = run.rows(employee_code="00123")
    assert (row["action"], row["result"]) == ("error", "failed") and "「123」" in row["message"]
    assert sorted(h.remote()) == ["123", "E0001"]
    confirm(h, "00123", "なし")  # another person: now it is registered
    assert h.sync().code == 0 and sorted(h.remote()) == ["00123", "123", "E0001"]
    h.close()


def test_the_same_person_under_its_unpadded_code_is_renumbered_once_confirmed(tmp_path, make_sandbox):
    import dataclasses
    state = empty_company()
    state.add({"code": "123", "lastName": "山本", "firstName": "一", "divisionCode": "1100", "typeCode": "1",
               "gender": "male"})
    h = Harness(tmp_path, make_sandbox(state))
    key = h.remote()["123"]["key"]
    h.load([dataclasses.replace(ledger_employees(1)[0], code="00123")])
    confirm(h, "00123", "123")
    assert h.sync().code == 0
    assert list(h.remote()) == ["00123"] and h.remote()["00123"]["key"] == key
    h.close()


# --- leading-zero twins inside the ledger: 123 and 00123 both held, neither in 勤怠 ------------------

def _twin_book(*nashi: str):
    from support.plan import make_book
    return make_book(overrides=tuple(
        Override(code, "", "", "", None, False, "", Pos(SHEET_OVERRIDES, i + 2, cols={"previous_code": "H"}),
                 previous_code="なし") for i, code in enumerate(nashi)))


def _twin_plan(codes, book, remote=()):
    import dataclasses

    from support.plan import BASE, MASTERS
    from support.plan import TODAY as PLAN_TODAY

    from etl.sync.plan import SyncOptions, plan_sync
    employees = [dataclasses.replace(BASE, code=c, first_name=f"太郎{i}") for i, c in enumerate(codes)]
    return plan_sync(employees, book, MASTERS, list(remote), {}, SyncOptions(), PLAN_TODAY)


@pytest.mark.parametrize("codes, nashi, kinds", [
    (("123", "00123"), (), {"123": "error", "00123": "error"}),
    (("123", "00123"), ("00123",), {"123": "create", "00123": "create"}),  # なし on either: two people
    (("123", "00123"), ("123",), {"123": "create", "00123": "create"}),
    (("123", "0123", "00123"), ("0123",), {"123": "error", "0123": "error", "00123": "error"}),
    (("123", "0123", "00123"), ("0123", "00123"), {"123": "create", "0123": "create", "00123": "create"}),
    (("123", "124"), (), {"123": "create", "124": "create"}),
], ids=["undeclared", "nashi-on-padded", "nashi-on-bare", "three-one-nashi", "three-two-nashi", "not-twins"])
def test_ledger_twins_are_not_registered_until_declared_other_people(codes, nashi, kinds):
    plan = _twin_plan(codes, _twin_book(*nashi))
    assert {a.code: a.kind for a in plan.actions} == kinds
    for a in plan.actions:
        if a.kind == "error":
            assert a.problem is not None and a.problem.code == "sync-ledger-code-leading-zeros"
            assert a.body is None and all(f"「{c}」" in a.reason for c in codes if c != a.code)  # names the others
            assert "なし" in a.reason and "削除" in a.reason  # and how to settle it
    assert [a.code for a in plan.writes()] == [c for c in codes if kinds[c] == "create"]


def test_a_ledger_twin_of_a_registered_employee_is_not_created_beside_it():
    """123 already in 勤怠 (and the ledger), 00123 added to the ledger later: the registered one is
    compared as usual, the twin is not created."""
    from support.plan import REMOTE
    plan = _twin_plan(("123", "00123"), _twin_book(), [REMOTE | {"code": "123", "firstName": "太郎0"}])
    assert {a.code: a.kind for a in plan.actions} == {"123": "unchanged", "00123": "error"}
    assert "「123」" in plan.actions[1].reason and plan.writes() == []


def test_ledger_twins_end_to_end_sends_nothing_for_either_code_until_declared(tmp_path, make_sandbox):
    """Through cli.main against the sandbox: a ledger that holds 123 and 00123 (written before the
    load's check existed) — the sync registers neither and says both; validate warns; 「なし」 settles it."""
    import dataclasses
    h = Harness(tmp_path, make_sandbox(empty_company()))
    first = ledger_employees(1)[0]
    h.load([first, dataclasses.replace(first, code="00123"), dataclasses.replace(first, code="123", first_name="一郎")])

    validate = h.run("validate")
    assert validate.code == 0, validate.err
    assert sorted((p["code"], p["severity"], p["employee_code"]) for p in validate.result["problems"]
                  if "leading-zeros" in p["code"]) == [
        ("sync-ledger-code-leading-zeros", "warning", "00123"), ("sync-ledger-code-leading-zeros", "warning", "123")]

    run = h.sync()
    assert run.code == 1, run.err
    for code, other in (("123", "00123"), ("00123", "123")):
        [row] = run.rows(employee_code=code)
        assert (row["action"], row["result"]) == ("error", "failed") and f"「{other}」" in row["message"]
    assert sorted(h.remote()) == ["E0001"]  # the sandbox holds no employee for either code
    assert set(h.ledger.links()) == {"E0001"}
    assert sorted(p["employee_code"] for p in run.result["problems"]
                  if p["code"] == "sync-ledger-code-leading-zeros") == ["00123", "123"]

    confirm(h, "00123", "なし")  # HR: another person
    assert h.sync().code == 0 and sorted(h.remote()) == ["00123", "123", "E0001"]
    assert not [p for p in h.run("validate").result["problems"] if "leading-zeros" in p["code"]]
    h.close()


def test_reconcile_says_why_a_ledger_twin_is_only_in_the_ledger():
    import dataclasses

    from support.plan import BASE, MASTERS
    from support.plan import TODAY as PLAN_TODAY

    from etl.sync.reconcile import reconcile
    employees = [dataclasses.replace(BASE, code=c) for c in ("123", "00123")]
    found = reconcile(employees, _twin_book(), MASTERS, [], {}, PLAN_TODAY)
    assert [(d.kind, d.employee_code) for d in found.differences] == [
        ("only-in-ledger", "00123"), ("only-in-ledger", "123")]
    assert all(d.reason.startswith("エラー: 台帳の") and "先頭の 0" in d.reason for d in found.differences)
    settled = reconcile(employees, _twin_book("123"), MASTERS, [], {}, PLAN_TODAY)
    assert all(d.reason.startswith("未連携") for d in settled.differences)


def test_reconcile_says_why_a_twin_of_an_attendance_code_is_only_in_the_ledger():
    """00123 in the ledger, 123 typed on the attendance side (another name): the sync refuses to
    create 00123 (sync-code-leading-zeros), so reconcile must not promise 「次回の連携で新規登録」."""
    import dataclasses

    from support.plan import BASE, MASTERS, REMOTE
    from support.plan import TODAY as PLAN_TODAY

    from etl.sync.reconcile import reconcile
    employees = [dataclasses.replace(BASE, code="00123", first_name="一郎")]
    remote = [REMOTE | {"code": "123", "key": "k123", "firstName": "次郎"}]
    found = reconcile(employees, _twin_book(), MASTERS, remote, {}, PLAN_TODAY)
    [mine] = [d for d in found.differences if d.employee_code == "00123"]
    assert mine.kind == "only-in-ledger"
    assert mine.reason.startswith("エラー: 勤怠の「123」") and "なし" in mine.reason
    assert _twin_plan(["00123"], _twin_book(), remote).actions[0].problem.code == "sync-code-leading-zeros"
    settled = reconcile(employees, _twin_book("00123"), MASTERS, remote, {}, PLAN_TODAY)  # HR: another person
    [mine] = [d for d in settled.differences if d.employee_code == "00123"]
    assert mine.reason.startswith("未連携")


# --- after a confirmed code change, the old code keeps no link to the attendance key -------------------

def _renumbered(h: Harness) -> str:
    """E0002 renumbered A0002 (the new code sorts before the old one), confirmed and synced: the key."""
    key = h.remote()["E0002"]["key"]
    renumber(h, "E0002", "A0002")
    confirm(h, "A0002", "E0002")
    assert h.sync().code == 0 and h.remote()["A0002"]["key"] == key
    h.write_book()  # HR clears the 旧従業員番号 row once done
    return key


def test_a_confirmed_code_change_retires_the_old_codes_link(h):
    key = _renumbered(h)
    links = h.ledger.links()
    assert links["A0002"].key == key and "E0002" not in links  # one code per attendance key
    assert [c for c, link in links.items() if link.key == key] == ["A0002"]
    assert "E0002" not in h.ledger.synced_values() and "A0002" in h.ledger.synced_values()


def test_import_names_a_renumbered_key_by_its_new_code_from_the_links(h):
    """An import resolves keys the attendance list lacks through the links: the month of the
    renumbered person must come under the new code, never the old one."""
    from etl.attendance.transform import directory
    key = _renumbered(h)
    assert directory([], h.ledger.links(), h.ledger.employees())[key].code == "A0002"


def test_an_old_code_reused_for_a_new_person_is_not_taken_for_the_renumbered_one(h):
    """HR gives the freed code E0002 to a new hire: reconcile says not yet synced (not 'linked once,
    deleted in 勤怠'), and the sync registers the new person beside the renumbered one."""
    from test_reconcile import run_reconcile
    key = _renumbered(h)
    newcomer = dataclasses.replace(ledger_employees(3)[1], first_name="新人", birth_date=dt.date(2001, 2, 3))
    h.load([newcomer])
    [only] = [d for d in run_reconcile(h).differences if d.employee_code == "E0002"]
    assert (only.kind, only.reason) == ("only-in-ledger", "未連携 (次回の連携で新規登録されます)")
    run = h.sync()
    assert run.code == 0, run.err
    assert run.rows(employee_code="E0002")[0]["action"] == "create"
    after = h.remote()
    assert after["A0002"]["key"] == key and after["E0002"]["key"] != key and after["E0002"]["firstName"] == "新人"


def test_an_old_code_made_in_attendance_is_a_pull_candidate_not_a_ledger_leftover(h):
    """Someone registers E0002 in 勤怠's own screens after the renumbering: reconcile calls it a
    candidate for pull-employees, not an employee 'linked before and deleted from the ledger'."""
    from test_reconcile import run_reconcile
    _renumbered(h)
    h.sandbox.state.add({"code": "E0002", "lastName": "新井", "firstName": "一", "divisionCode": "1100",
                         "typeCode": "1", "gender": "male"})
    [only] = [d for d in run_reconcile(h).differences if d.employee_code == "E0002"]
    assert (only.kind, only.reason) == ("only-in-attendance", "台帳にない在籍者です (pull-employees で台帳に取り込めます)")
    pull = h.pull()  # and pull-employees adds it as the new person it is, linked to its own key
    assert pull.code == 0 and pull.rows(employee_code="E0002")[0]["action"] == "create"
    links = h.ledger.links()
    assert links["E0002"].key == h.remote()["E0002"]["key"] != links["A0002"].key


def test_a_link_left_to_the_old_code_by_a_stopped_run_goes_when_the_new_one_is_adopted(h):
    """The PUT confirmed, then the run stopped before its links were saved: the next sync finds the
    new code in 勤怠, adopts its link, and the old code's link to that key goes with it."""
    from etl.ledger.schema import attendance_links
    key = _renumbered(h)
    with h.ledger.engine.begin() as conn:  # the ledger as such a run leaves it
        conn.execute(sa.delete(attendance_links).where(attendance_links.c.employee_code == "A0002"))
        conn.execute(sa.insert(attendance_links).values(employee_code="E0002", employee_key=key))
    confirm(h, "A0002", "E0002")  # the 旧従業員番号 row is still there
    h.sandbox.reset_counts()
    assert h.sync().code == 0 and h.sandbox.writes() == 0
    assert [c for c, link in h.ledger.links().items() if link.key == key] == ["A0002"]


# --- a dated change kept under the old code goes with the person ------------------------------------

def test_a_transfer_kept_with_its_date_stays_dated_after_a_confirmed_code_change(h):
    """E0001's transfer was sent with --effective-date 2027-01-01 (kept in the ledger under E0001);
    HR then renumbers E0001 → N0001. The code change must not make the transfer live today: the kept
    date goes with the person, under the new code."""
    transfer = dt.date(2027, 1, 1)
    moved = dataclasses.replace(h.ledger.employees()[0], department_code="D10", department_name="総務課")
    h.load([moved])
    assert h.sync("--employees", "E0001", "--effective-date", "2027-01-01").code == 0
    renumber(h, "E0001", "N0001")
    confirm(h, "N0001", "E0001")
    check = h.run("reconcile")  # reconcile reads the kept date as the sync does
    assert check.code == 0, check.err
    found = {(r["kind"], *r["changes"]): r for r in check.rows(employee_code="N0001")}
    assert set(found) == {("code-change", "code"), ("pending-change", "divisionCode")}
    assert found["pending-change", "divisionCode"]["effective_date"] == "2027-01-01"
    h.sandbox.reset_counts()

    run = h.sync()

    assert run.code == 0, run.err
    [row] = run.rows(employee_code="N0001")
    assert row["changes"] == {"code": ["E0001", "N0001"]} and h.sandbox.counts["PUT"] == 1
    state = h.sandbox.state
    assert state.get("N0001", TODAY)["divisionCode"] == "2100"  # as of today: the old 所属
    assert state.get("N0001", transfer)["divisionCode"] == "1100"  # from the kept date: the new one
    assert [(p.employee_code, p.value, p.effective_date) for p in h.ledger.pending_changes().values()] == [
        ("N0001", "1100", transfer)]
    h.sandbox.reset_counts()
    assert h.sync("--full").code == 0 and h.sandbox.writes() == 0  # and later runs leave it booked as it is


def test_carry_moves_only_a_confirmed_changes_pending_changes():
    from etl.records import PendingChange
    found = code_change.detect([HANAKO], _book(("N002", "E002")), [_remote("E002", "k2")])
    day = dt.date(2027, 1, 1)
    pending = {("E002", "divisionCode"): PendingChange("E002", "divisionCode", "100", day),
               ("E002", "typeCode"): PendingChange("E002", "typeCode", "1", day),
               ("N002", "typeCode"): PendingChange("N002", "typeCode", "2", day),  # the new code's own wins
               ("E009", "typeCode"): PendingChange("E009", "typeCode", "1", day)}
    view, save, drop = found.carry(pending)
    assert {k: p.value for k, p in view.items()} == {
        ("N002", "divisionCode"): "100", ("N002", "typeCode"): "2", ("E009", "typeCode"): "1"}
    assert save == [PendingChange("N002", "divisionCode", "100", day)]
    assert drop == [("E002", "divisionCode"), ("E002", "typeCode")]
    assert code_change.detect([HANAKO], _book(), [_remote("E002", "k2")]).carry(pending)[1:] == ([], [])

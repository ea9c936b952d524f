"""reconcile end to end against the sandbox: a real ledger, a real workbook, the API on loopback.

One company is synced, then both sides are edited the ways HR and the attendance screens do; each
kind of difference is found with its reason and side, and nothing is written to either side."""
from __future__ import annotations

import dataclasses
import datetime as dt
from contextlib import closing
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import client_for_sandbox
from support.sync import Harness, empty_company, ledger_employees

from etl.ledger.schema import employees as employees_table
from etl.report.reconcile import differences_csv, nightly_section, summary_line
from etl.sync.fields import ADDITIONAL_FIELDS
from etl.sync.reconcile import KINDS, Reconciliation, due, pending_dates, reconcile
from etl.workbook.model import SHEET_OVERRIDES
from etl.workbook.read import read_workbook

TODAY = dt.date(2026, 11, 26)
DAY = dt.date(2026, 12, 1)


def run_reconcile(h: Harness) -> Reconciliation:
    """What the `reconcile` command does: read everything once, compare, and for pending changes
    compare again with 勤怠 as of their day. Every call proves that nothing was written anywhere."""
    before, writes = everything(h), h.sandbox.writes()
    book = read_workbook(h.workbook)
    ledger = h.ledger
    with closing(client_for_sandbox(h.sandbox)) as client:
        masters = client.masters()
        remote = client.employees(include_resigned=True, fields=ADDITIONAL_FIELDS)
        employees, links, synced = ledger.employees(), ledger.links(), ledger.synced_values()
        result = reconcile(employees, book, masters, remote, links, TODAY, synced=synced)
        days = pending_dates(result)
        if days:
            views = {d: client.employees(as_of=d, include_resigned=True, fields=ADDITIONAL_FIELDS) for d in days}
            result = reconcile(employees, book, masters, remote, links, TODAY, remote_as_of=views, synced=synced)
    assert everything(h) == before and h.sandbox.writes() == writes
    return result


def snapshot(h: Harness) -> tuple:
    return h.sandbox.state.to_dict(), h.ledger.employees(), h.ledger.links()


def renumber(h: Harness, old: str, new: str) -> None:
    with h.ledger.engine.begin() as conn:
        conn.execute(sa.update(employees_table).where(employees_table.c.code == old).values(code=new))


def remote_edit(h: Harness, code: str, body: dict, on: dt.date = TODAY) -> None:
    """A change made in the attendance system's own screens."""
    rec = h.sandbox.state.record_by_code(code)
    h.sandbox.state.update(rec.key, body, on)


@pytest.fixture
def h(tmp_path, make_sandbox):
    harness = Harness(tmp_path, make_sandbox(empty_company()))
    harness.load(ledger_employees(12))
    assert harness.sync().code == 0
    harness.sandbox.reset_counts()
    yield harness
    harness.close()


def found(result: Reconciliation, kind: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for d in result.differences:
        if d.kind == kind:
            out.setdefault(d.employee_code, []).append(d)
    return out


def test_in_step_after_a_sync_finds_nothing(h):
    before = snapshot(h)
    result = run_reconcile(h)
    assert result.differences == [] and result.compared == 12
    run = h.run("reconcile")
    assert run.code == 0 and "差異なし" in (run.report.parent.parent / "index.html").read_text(encoding="utf-8")
    assert summary_line(result.section()).startswith("照合: 差異なし")
    assert snapshot(h) == before and h.sandbox.writes() == 0


def every_kind(h: Harness) -> None:
    """Both sides edited so that every kind of difference shows up once or more."""
    employees = {e.code: e for e in h.ledger.employees()}
    # ledger edits, not synced
    h.load([dataclasses.replace(employees["E0001"], last_name="佐藤"),
            dataclasses.replace(employees["E0003"], email=""),
            dataclasses.replace(employees["E0004"], resignation_date=dt.date(2026, 10, 31)),
            dataclasses.replace(employees["E0001"], code="E0100", first_name="新人"),
            dataclasses.replace(employees["E0001"], code="E0101", first_name="除外"),
            dataclasses.replace(employees["E0001"], code="E0102", first_name="未入社", hired_date=None),
            dataclasses.replace(employees["E0001"], code="E0103", resignation_date=dt.date(2025, 3, 31))])
    renumber(h, "E0007", "N0007")
    renumber(h, "E0009", "N0009")

    def edit(wb):
        ws = wb[SHEET_OVERRIDES]
        ws.append(["E0101", None, None, None, None, "はい", None, None])
        ws.append(["E0006", None, "5000", None, dt.datetime(2026, 12, 1), None, None, None])
        ws.append(["N0007", None, None, None, None, None, None, "E0007"])
    h.write_book(edit)
    # edits in the attendance screens
    remote_edit(h, "E0002", {"firstName": "次郎"})
    remote_edit(h, "E0005", {"resignationDate": "2026-11-20"})
    remote_edit(h, "E0008", {"code": "Z0008"})
    h.sandbox.state.add({"code": "X0001", "lastName": "外部", "firstName": "一郎", "divisionCode": "1100",
                         "typeCode": "1", "gender": "male"})
    h.sandbox.state.add({"code": "X0002", "lastName": "外部", "firstName": "二郎", "divisionCode": "1100",
                         "typeCode": "1", "gender": "male", "resignationDate": "2025-03-31"})


def test_every_kind_of_difference_and_nothing_written(h):
    every_kind(h)
    before = snapshot(h)

    result = run_reconcile(h)
    assert snapshot(h) == before and h.sandbox.writes() == 0  # nothing written to either side

    only_ledger = {c: d[0].reason for c, d in found(result, "only-in-ledger").items()}
    assert only_ledger == {"E0100": "未連携 (次回の連携で新規登録されます)", "E0101": "連携除外 (個別設定)",
                           "E0102": "入社年月日が未登録 (入社年月日登録者のみ連携)"}
    assert result.not_compared == [("E0103", "2025-03-31 に退職済みで勤怠に未登録 (連携しません)")]
    only_remote = {c: d[0].reason for c, d in found(result, "only-in-attendance").items()}
    assert set(only_remote) == {"X0001", "X0002"}
    assert "pull-employees" in only_remote["X0001"] and "退職済み" in only_remote["X0002"]

    fields = {(d.employee_code, d.field): d for d in result.differences if d.kind == "field-difference"}
    assert set(fields) == {("E0001", "lastName"), ("E0002", "firstName"), ("E0003", "emailAddresses")}
    assert (fields["E0001", "lastName"].ledger, fields["E0001", "lastName"].attendance,
            fields["E0001", "lastName"].side) == ("佐藤", "山田", "ledger")
    assert (fields["E0002", "firstName"].ledger, fields["E0002", "firstName"].attendance,
            fields["E0002", "firstName"].side) == ("太郎2", "次郎", "attendance")
    blank = fields["E0003", "emailAddresses"]
    assert blank.ledger is None and blank.attendance == ["e3@example.co.jp"] and blank.side == "ledger"
    assert blank.reason.startswith("台帳が空欄 (連携で勤怠の値を消します")  # linked: the sync clears it

    leaver = found(result, "leaver-active-in-attendance")["E0004"][0]
    assert (leaver.ledger, leaver.attendance, leaver.side) == (dt.date(2026, 10, 31), None, "ledger")
    retired = found(result, "retired-in-attendance")["E0005"][0]
    assert (retired.attendance, retired.side) == (dt.date(2026, 11, 20), "attendance")

    pending = found(result, "pending-change")["E0006"][0]
    assert (pending.field, pending.ledger, pending.attendance, pending.effective_date) == (
        "divisionCode", "5000", "1100", "2026-12-01")
    assert "未送信" in pending.reason

    codes = {c: (d[0].attendance, d[0].side) for c, d in found(result, "code-change").items()}
    assert codes == {"N0007": ("E0007", "ledger"), "E0008": ("Z0008", "attendance"), "N0009": ("E0009", "unknown")}
    assert "可能性" in found(result, "code-change")["N0009"][0].reason
    assert sum(result.counts().values()) == len(result.differences) == 14

    # the rows and the CSV
    rows = [d.to_row().to_dict() for d in result.differences]
    assert {r["kind"] for r in rows} == set(result.counts()) and all(r["result"] == "ok" for r in rows)
    assert next(r for r in rows if r["employee_code"] == "E0002")["changes"] == {"firstName": ["太郎2", "次郎"]}
    data = differences_csv(result.section())
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("種類,従業員番号,氏名,項目,台帳の値,勤怠の値,変更した側")
    assert len(text.splitlines()) == 1 + 14


def test_the_side_that_changed_is_told_per_field(h):
    e1 = next(e for e in h.ledger.employees() if e.code == "E0001")
    h.load([dataclasses.replace(e1, last_name="佐藤", email="new@example.co.jp")])
    remote_edit(h, "E0001", {"firstName": "一郎", "emailAddresses": ["other@example.co.jp"]})
    sides = {d.field: d.side for d in run_reconcile(h).differences}
    assert sides == {"lastName": "ledger", "firstName": "attendance", "emailAddresses": "both"}


def test_a_value_added_in_attendance_to_a_blank_is_an_attendance_change(h):
    remote_edit(h, "E0001", {"resignationDate": "2027-03-31"})
    diff = next(d for d in run_reconcile(h).differences if d.employee_code == "E0001")
    assert (diff.kind, diff.field, diff.side) == ("field-difference", "resignationDate", "attendance")
    assert "連携で勤怠の値を消します" in diff.reason


def test_without_stored_values_the_fingerprint_decides_per_employee(h):
    from etl.ledger.schema import attendance_synced
    with h.ledger.engine.begin() as conn:  # a ledger synced before the values were kept
        conn.execute(sa.delete(attendance_synced))
    e1 = next(e for e in h.ledger.employees() if e.code == "E0001")
    h.load([dataclasses.replace(e1, last_name="佐藤")])
    remote_edit(h, "E0002", {"firstName": "次郎"})
    sides = {(d.employee_code, d.field): d.side for d in run_reconcile(h).differences}
    assert sides == {("E0001", "lastName"): "ledger", ("E0002", "firstName"): "attendance"}


def test_the_sync_keeps_the_values_it_had_confirmed(h):
    stored = h.ledger.synced_values()
    links = h.ledger.links()
    assert set(stored) == set(links) and all(stored[c][0] == links[c].fingerprint for c in links)
    assert stored["E0001"][1]["lastName"] == "山田" and stored["E0001"][1]["divisionCode"] == "2100"
    assert "code" not in stored["E0001"][1]
    assert stored["E0001"][1]["resignationDate"] is None  # created without one: a blank both sides had


def test_a_pending_change_already_sent_is_booked(h):
    h.override("E0006", division="5000", date=DAY)
    assert h.sync().code == 0  # sent with updateDate 2026-12-01
    h.sandbox.reset_counts()
    result = run_reconcile(h)
    pending = found(result, "pending-change")["E0006"][0]
    assert "予約済み" in pending.reason and h.sandbox.writes() == 0


def test_a_confirmed_code_change_after_the_sync_is_in_step(h):
    renumber(h, "E0007", "N0007")

    def edit(wb):
        wb[SHEET_OVERRIDES].append(["N0007", None, None, None, None, None, None, "E0007"])
    h.write_book(edit)
    assert found(run_reconcile(h), "code-change")["N0007"][0].side == "ledger"
    assert h.sync().code == 0
    assert run_reconcile(h).differences == []


def test_csv_says_gender_in_hr_words(h):
    remote_edit(h, "E0001", {"gender": "female"})
    lines = differences_csv(run_reconcile(h).section()).decode("utf-8-sig").splitlines()
    assert lines[1].startswith("項目の違い,E0001,山田 太郎1,性別,男性,女性,")


def test_csv_cells_are_guarded(h):
    remote_edit(h, "E0002", {"firstName": "=HYPERLINK(1)"})
    data = differences_csv(run_reconcile(h).section()).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in data and ",=HYPERLINK" not in data


def test_nightly_summary_is_cut_and_says_so(h):
    for code in ("E0001", "E0002", "E0003"):
        remote_edit(h, code, {"firstName": "変更"})
    section = nightly_section(run_reconcile(h).section(), limit=2)
    assert len(section["differences"]) == 2 and section["cut"] == 1
    assert section["summary"] == "照合: 差異 3 件 (項目の違い 3)"


@pytest.mark.parametrize("schedule, day, expected", [
    ("never", dt.date(2026, 11, 30), False), ("daily", dt.date(2026, 11, 26), True),
    ("monday", dt.date(2026, 11, 30), True), ("monday", dt.date(2026, 11, 26), False),
], ids=["never", "daily", "monday-on-monday", "monday-on-thursday"])
def test_due(schedule, day, expected):
    assert due(schedule, day) is expected


def test_report_html_and_result_json_show_the_differences(h):
    from etl.clock import JST
    from etl.report.html import render_report
    from etl.report.result import RunResult
    remote_edit(h, "E0002", {"firstName": "<b>次郎</b>"})
    rec = run_reconcile(h)
    result = RunResult(job="reconcile", started_at=dt.datetime(2026, 11, 26, 12, tzinfo=JST))
    result.rows = [d.to_row() for d in rec.differences]
    result.sections["reconcile"] = rec.section()
    page = render_report(result)
    assert 'id="reconcile"' in page and "台帳と勤怠の照合 (2026-11-26 時点)" in page
    assert "勤怠側 (勤怠の画面での変更)" in page and "&lt;b&gt;次郎&lt;/b&gt;" in page and "<b>次郎" not in page
    assert "照合: 差異 1 件 (項目の違い 1)" in page
    assert 'id="counts"' not in page and 'id="rows"' not in page  # findings, not sync counts
    row = result.to_dict()["rows"][0]
    assert (row["kind"], row["side"], row["action"], row["result"]) == ("field-difference", "attendance", "skip", "ok")


# --- the command, through main() ------------------------------------------------------------------


def test_reconcile_command_reports_every_kind_and_writes_nothing(h):
    every_kind(h)
    before = snapshot(h)
    run = h.run("reconcile")
    assert run.code == 0, run.err
    assert snapshot(h) == before and h.sandbox.writes() == 0
    lines = run.out.splitlines()
    assert lines[0] == ("照合: 差異 14 件 (台帳のみ 3・勤怠のみ 2・項目の違い 3・退職者が勤怠で在籍中 1・"
                        "勤怠では退職済み 1・予定の変更 1・従業員番号の変更 3)")
    assert lines[-2].startswith("状況: 正常終了 差異 14件 (書き込みなし)") and lines[-1].startswith("report: ")
    kinds = [r["kind"] for r in run.result["rows"]]
    assert len(kinds) == 14 and set(kinds) == {"only-in-ledger", "only-in-attendance", "field-difference",
                                               "leaver-active-in-attendance", "retired-in-attendance",
                                               "pending-change", "code-change"}
    assert run.result["status"] == "success" and run.result["job"] == "reconcile"
    # probable code changes are warnings too (E0008 is linked by key; the sync holds it back as well)
    assert [(p["code"], p["employee_code"]) for p in run.result["problems"]] == [
        ("code-changed-in-attendance", "E0008"), ("probable-code-change", "N0009")]
    csv_path = run.report.parent / "照合結果.csv"
    assert str(csv_path) in run.result["outputs"]
    data = csv_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and len(data.decode("utf-8-sig").splitlines()) == 15
    page = run.report.read_text(encoding="utf-8")
    assert 'id="reconcile"' in page and "従業員番号の変更" in page
    # a pending change is told once, in the 照合 section (ledger / attendance), not as a sync's 異動予定
    # (whose columns read 変更前 → 変更後: the ledger's value would show as the old one)
    assert 'id="queue"' not in page and 'href="#queue"' not in page
    index = (run.report.parent.parent / "index.html").read_text(encoding="utf-8")
    assert "差異 14件" in index  # the history says what the run found, not only 成功 0 / 失敗 0
    assert "<td data-label=\"台帳の値\">5000 " in page  # a 所属 as HR reads it: code and name
    # "(空欄)" is a blank value of a field; a person only on one side has no value to call blank
    rows = {code: tr for tr in page.split("<tr>") for code in ("E0100", "E0003") if f">{code}</td>" in tr}
    assert "(空欄)" not in rows["E0100"] and "(空欄)" in rows["E0003"]


def test_reconcile_in_restricted_hours_is_exit_5(tmp_path, make_sandbox):
    from etl.clock import ManualClock
    h = Harness(tmp_path, make_sandbox(empty_company(), clock=ManualClock("2026-11-26T08:45:00+09:00")))
    h.load(ledger_employees(2))
    before = everything(h)
    run = h.run("reconcile")
    assert run.code == 5 and h.sandbox.writes() == 0 and "利用制限時間帯" in run.err
    assert everything(h) == before
    assert "reconcile は --wait を付けると再開まで待機します" in run.err  # it has --wait too
    h.close()


def test_reconcile_with_a_refused_token_is_exit_4(h):
    h.env = dict(h.env, KOT_TOKEN="wrong-token")
    before = everything(h)
    run = h.run("reconcile")
    assert run.code == 4 and run.report is not None
    assert everything(h) == before and h.sandbox.writes() == 0


@pytest.mark.parametrize("value, shown", [("毎日", True), ("しない", False)], ids=["daily", "never"])
def test_nightly_run_adds_the_reconcile_summary_when_set(h, value, shown):
    h.setting("照合レポート", value)
    remote_edit(h, "E0002", {"firstName": "次郎"})
    run = h.run("run")
    assert run.code == 0, run.err
    page = run.report.read_text(encoding="utf-8")
    assert ('id="reconcile"' in page) is shown
    if shown:
        assert "照合: 差異 1 件 (項目の違い 1)" in page
        # the sync in the same run does not undo a change made in 勤怠 when the ledger did not change
        assert h.remote()["E0002"]["firstName"] == "次郎"
    else:
        assert "照合レポートが「しない」のため照合していません" in page


def test_validate_and_the_dry_run_warn_about_a_probable_code_change(h):
    renumber(h, "E0002", "N0002")
    validate = h.run("validate")
    assert validate.code == 0 and [p["code"] for p in validate.result["problems"]] == ["probable-code-change"]
    dry = h.sync("--dry-run")
    assert dry.code == 0 and [p["code"] for p in dry.result["problems"]] == ["probable-code-change"]
    assert "E0002" in dry.result["problems"][0]["message"] and h.sandbox.writes() == 0


# --- each kind alone, through the command: exactly its rows, and nothing written anywhere ----------


def everything(h: Harness) -> tuple:
    """What reconcile must leave as it was: the sandbox's employees (their dated history too), the
    ledger's employees, links, confirmed values and booked changes, and the workbook itself."""
    ledger = h.ledger
    return (h.sandbox.state.to_dict(), ledger.employees(), ledger.links(), ledger.synced_values(),
            ledger.pending_changes(), h.workbook.read_bytes())


def new_person(h: Harness, code: str, **changes) -> None:
    e1 = next(e for e in h.ledger.employees() if e.code == "E0001")
    h.load([dataclasses.replace(e1, code=code, first_name="新人", **changes)])


def ledger_edit(h: Harness, code: str, **changes) -> None:
    e = next(e for e in h.ledger.employees() if e.code == code)
    h.load([dataclasses.replace(e, **changes)])


def add_override(h: Harness, *row) -> None:
    def edit(wb):
        wb[SHEET_OVERRIDES].append(list(row))
    h.write_book(edit)


def booked_division_change(h: Harness) -> None:
    h.override("E0006", division="5000", date=DAY)
    assert h.sync().code == 0  # sent with updateDate 2026-12-01


def deleted_in_attendance(h: Harness) -> None:
    h.sandbox.state.delete(h.sandbox.state.record_by_code("E0005").key)


def deleted_from_ledger(h: Harness) -> None:
    with h.ledger.engine.begin() as conn:
        conn.execute(sa.delete(employees_table).where(employees_table.c.code == "E0012"))


def both_sides_edited(h: Harness) -> None:
    ledger_edit(h, "E0001", last_name="佐藤")
    remote_edit(h, "E0001", {"lastName": "鈴木"})


def confirmed_code_change(h: Harness) -> None:
    renumber(h, "E0007", "N0007")
    add_override(h, "N0007", None, None, None, None, None, None, "E0007")


# id → (edit, exit code, [(kind, employee code, field, side, a part of the reason)])
KIND_CASES = {
    "ledger-only-no-hire-date": (lambda h: new_person(h, "E0102", hired_date=None), 0,
                                 [("only-in-ledger", "E0102", "", "", "入社年月日が未登録")]),
    "ledger-only-excluded": (lambda h: (new_person(h, "E0101"),
                                        add_override(h, "E0101", None, None, None, None, "はい", None, None)), 0,
                             [("only-in-ledger", "E0101", "", "", "連携除外 (個別設定)")]),
    "ledger-only-not-synced": (lambda h: new_person(h, "E0100"), 0,
                               [("only-in-ledger", "E0100", "", "", "未連携 (次回の連携で新規登録されます)")]),
    "ledger-only-error-code": (lambda h: new_person(h, "E-0103"), 0,
                               [("only-in-ledger", "E-0103", "", "", "エラー: 従業員番号が勤怠で使えない形式です")]),
    # a department the workbook cannot place is a workbook error: compared as far as it resolves, exit 3
    "ledger-only-error-division": (lambda h: new_person(h, "E0104", department_code="D99", department_name="新部署"),
                                   3, [("only-in-ledger", "E0104", "", "", "エラー: 勤怠所属が決まりません")]),
    "ledger-only-error-required-blank": (lambda h: new_person(h, "E0105", gender=""), 0,
                                         [("only-in-ledger", "E0105", "", "", "エラー: 性別が空欄です (必須項目のため勤怠に登録できません)")]),
    "ledger-only-gone-from-attendance": (deleted_in_attendance, 0,
                                         [("only-in-ledger", "E0005", "", "", "前回連携済みですが勤怠にありません")]),
    "attendance-only-active": (lambda h: h.sandbox.state.add(
        {"code": "X0001", "lastName": "外部", "firstName": "一郎", "divisionCode": "1100", "typeCode": "1",
         "gender": "male"}), 0, [("only-in-attendance", "X0001", "", "", "pull-employees で台帳に取り込めます")]),
    "attendance-only-retired": (lambda h: h.sandbox.state.add(
        {"code": "X0002", "lastName": "外部", "firstName": "二郎", "divisionCode": "1100", "typeCode": "1",
         "gender": "male", "resignationDate": "2025-03-31"}), 0,
        [("only-in-attendance", "X0002", "", "", "2025-03-31 に退職済み")]),
    "attendance-only-deleted-from-ledger": (deleted_from_ledger, 0,
                                            [("only-in-attendance", "E0012", "", "", "前回連携済みですが台帳にありません")]),
    "field-ledger-edit-not-sent": (lambda h: ledger_edit(h, "E0001", last_name="佐藤"), 0,
                                   [("field-difference", "E0001", "lastName", "ledger", "")]),
    "field-drift-in-attendance": (lambda h: remote_edit(h, "E0002", {"firstName": "次郎"}), 0,
                                  [("field-difference", "E0002", "firstName", "attendance", "")]),
    "field-changed-on-both-sides": (both_sides_edited, 0, [("field-difference", "E0001", "lastName", "both", "")]),
    "field-ledger-blank": (lambda h: ledger_edit(h, "E0003", email=""), 0,
                           [("field-difference", "E0003", "emailAddresses", "ledger", "連携で勤怠の値を消します")]),
    "leaver-active-in-attendance": (lambda h: ledger_edit(h, "E0004", resignation_date=dt.date(2026, 10, 31)), 0,
                                    [("leaver-active-in-attendance", "E0004", "resignationDate", "ledger",
                                      "台帳では 2026-10-31 に退職済みですが、勤怠では在籍中です")]),
    "retired-in-attendance": (lambda h: remote_edit(h, "E0005", {"resignationDate": "2026-11-20"}), 0,
                              [("retired-in-attendance", "E0005", "resignationDate", "attendance",
                                "台帳では在籍中ですが、勤怠では 2026-11-20 に退職済みです")]),
    "pending-division-not-sent": (lambda h: h.override("E0006", division="5000", date=DAY), 0,
                                  [("pending-change", "E0006", "divisionCode", "", "2026-12-01 から反映の予定ですが、勤怠には未送信です")]),
    "pending-division-booked": (booked_division_change, 0,
                                [("pending-change", "E0006", "divisionCode", "", "2026-12-01 から反映 (勤怠に予約済み)")]),
    "pending-resignation-not-sent": (lambda h: ledger_edit(h, "E0008", resignation_date=dt.date(2027, 1, 31)), 0,
                                     [("pending-change", "E0008", "resignationDate", "", "2027-01-31 から反映の予定ですが、勤怠には未送信です")]),
    "code-change-confirmed": (confirmed_code_change, 0,
                              [("code-change", "N0007", "code", "ledger", "次回の連携で勤怠の番号を E0007 から N0007 に変更します")]),
    "code-change-in-attendance": (lambda h: remote_edit(h, "E0008", {"code": "Z0008"}), 0,
                                  [("code-change", "E0008", "code", "attendance", "番号が勤怠側で Z0008 に変わっています")]),
    "code-change-probable": (lambda h: renumber(h, "E0009", "N0009"), 0,
                             [("code-change", "N0009", "code", "unknown", "可能性 (未確認): 勤怠の E0009 と氏名・生年月日・入社年月日が同じです")]),
}


@pytest.mark.parametrize("case", list(KIND_CASES), ids=list(KIND_CASES))
def test_each_kind_alone_through_the_command_writes_nothing(h, case):
    edit, exit_code, expected = KIND_CASES[case]
    edit(h)
    h.sandbox.reset_counts()
    before = everything(h)

    run = h.run("reconcile")

    assert run.code == exit_code, run.err
    assert everything(h) == before and h.sandbox.writes() == 0  # neither side, nor the workbook, changed
    assert h.sandbox.counts.get("GET", 0) > 0  # it did read the attendance side
    got = [(r["kind"], r["employee_code"], next(iter(r["changes"]), ""), r["side"]) for r in run.result["rows"]]
    assert got == [(k, c, f, s) for k, c, f, s, _ in expected]
    for row, (*_, reason) in zip(run.result["rows"], expected, strict=True):
        assert reason in row["message"] and (row["action"], row["result"]) == ("skip", "ok")
        if row["kind"] == "pending-change":  # the day it takes effect, as data
            assert row["effective_date"] == reason[:10]
        else:
            assert "effective_date" not in row
        if row["kind"] == "code-change":  # [the ledger's code, 勤怠's]
            assert row["changes"]["code"][0] == row["employee_code"] and row["changes"]["code"][1] in reason
    assert run.result["job"] == "reconcile" and run.result["status"] == ("success" if exit_code == 0 else "failed")
    # the CSV: one line per difference, the kind in HR's words and as the code
    lines = (run.report.parent / "照合結果.csv").read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + len(expected)
    assert lines[1].startswith(KINDS[expected[0][0]] + ",") and lines[1].endswith("," + expected[0][0])
    page = run.report.read_text(encoding="utf-8")
    assert f"{KINDS[expected[0][0]]} {len(expected)}" in page and expected[0][1] in page


@pytest.mark.parametrize("days, shown", [(4, True), (0, False)], ids=["monday", "thursday"])
def test_weekly_reconcile_summary_only_on_mondays(h, days, shown):
    h.setting("照合レポート", "毎週月曜")
    remote_edit(h, "E0002", {"firstName": "次郎"})
    h.clock.advance(days * 86400)  # Thursday 2026-11-26 → Monday 2026-11-30
    h.sandbox.reset_counts()
    before = everything(h)
    run = h.run("run")
    assert run.code == 0, run.err
    assert h.sandbox.writes() == 0 and everything(h) == before  # the sync had nothing to send; reconcile reads only
    page = run.report.read_text(encoding="utf-8")
    assert ('id="reconcile"' in page) is shown
    if shown:
        assert "台帳と勤怠の照合 (2026-11-30 時点)" in page and "照合: 差異 1 件 (項目の違い 1)" in page
        assert "照合では台帳にも勤怠にも書き込んでいません" in page  # the sync before it may have
        assert "勤怠側 (勤怠の画面での変更)" in page
    else:
        assert "今日は照合レポートの日 (毎週月曜) ではありません" in page


def test_nightly_summary_cut_is_said_on_the_page(h):
    from etl.clock import JST
    from etl.report.html import render_report
    from etl.report.result import RunResult
    for code in ("E0001", "E0002", "E0003"):
        remote_edit(h, code, {"firstName": "変更"})
    result = RunResult(job="run", started_at=dt.datetime(2026, 11, 26, 2, tzinfo=JST))
    result.sections["reconcile"] = nightly_section(run_reconcile(h).section(), limit=2)
    page = render_report(result)
    assert "ほか 1 件あります。全件は照合 (python run_etl.py reconcile) のレポートと 照合結果.csv で確認してください。" in page
    assert page.count('<tr><td><b>項目の違い</b>') == 2


def test_every_employee_not_compared_is_named_in_the_reconcile_report(h):
    """Leavers of an earlier month never registered are not differences, but each one is said by
    code in reconcile's own report (the nightly summary shows the first 50 and says where the rest are)."""
    e1 = next(e for e in h.ledger.employees() if e.code == "E0001")
    h.load([dataclasses.replace(e1, code=f"R{i:04d}", resignation_date=dt.date(2025, 3, 31)) for i in range(60)])
    before = everything(h)
    run = h.run("reconcile")
    assert run.code == 0, run.err
    assert everything(h) == before and h.sandbox.writes() == 0
    page = run.report.read_text(encoding="utf-8")
    assert all(f"R{i:04d}: 2025-03-31 に退職済みで勤怠に未登録 (連携しません)" in page for i in range(60))
    assert "比較しなかったもの (60 件)" in page and "result.json の sections" not in page

    from etl.clock import JST
    from etl.report.html import render_report
    from etl.report.result import RunResult
    nightly = RunResult(job="run", started_at=dt.datetime(2026, 11, 26, 2, tzinfo=JST))
    nightly.sections["reconcile"] = nightly_section(run_reconcile(h).section())
    page = render_report(nightly)
    assert "R0049: " in page and "R0050: " not in page
    assert "ほか 10 件。全件は照合 (python run_etl.py reconcile) のレポートで確認してください。" in page


def test_reconcile_without_the_workbook_is_one_line_and_exit_3(h):
    before = everything(h)
    run = h.run("reconcile", "--workbook", str(h.tmp_path / "nope.xlsx"))
    assert run.code == 3 and h.sandbox.writes() == 0 and everything(h) == before
    assert "差異" not in (run.report.parent.parent / "index.html").read_text(encoding="utf-8")  # not 差異なし
    assert run.err.splitlines() == [f"エラー: ワークブック {h.tmp_path / 'nope.xlsx'} が見つかりません。"
                                    "パスを確認するか `run_etl.py template` で作成してください。"]


def test_an_unknown_reconcile_schedule_is_a_workbook_error(h):
    h.setting("照合レポート", "毎月")
    h.sandbox.reset_counts()
    run = h.run("run")
    assert run.code == 3 and h.sandbox.writes() == 0
    problem = next(p for p in run.result["problems"] if p["code"] == "invalid-setting")
    assert problem["sheet"] == "設定" and "照合レポート" in problem["message"] and "毎週月曜" in problem["message"]


def test_a_pending_change_beyond_a_year_says_it_was_not_checked(h):
    """勤怠 is asked as of each pending day within a year; a later one is said as not checked (not as
    a view that could not be read)."""
    h.override("E0006", division="5000", date=DAY)
    ledger_edit(h, "E0008", resignation_date=dt.date(2028, 1, 31))
    pending = found(run_reconcile(h), "pending-change")
    assert "未送信" in pending["E0006"][0].reason
    assert pending["E0008"][0].reason == "2028-01-31 から反映の予定 (1年より先のため、勤怠に予約済みかは確認していません)"


def test_the_nightly_mail_carries_the_reconcile_summary(tmp_path, make_sandbox, smtp):
    import email
    import email.policy
    controller, inbox = smtp
    h = Harness(tmp_path, make_sandbox(empty_company()),
                mail={"host": "127.0.0.1", "port": controller.port, "sender": "etl@example.co.jp"})
    h.load(ledger_employees(3))
    assert h.sync().code == 0
    h.settings({"照合レポート": "毎日", "連携結果通知メールアドレス": "hr@example.co.jp"})
    remote_edit(h, "E0002", {"firstName": "次郎"})
    run = h.run("run")
    assert run.code == 0, run.err
    msg = email.message_from_bytes(inbox.envelopes[-1].content, policy=email.policy.default)
    assert "照合: 差異 1 件 (項目の違い 1)" in msg.get_body(("plain",)).get_content()
    assert "照合: 差異 1 件 (項目の違い 1)" in msg.get_body(("html",)).get_content()
    h.close()


def test_a_first_day_of_thousands_keeps_the_page_bounded_and_the_csv_whole(h):
    """The first day with a big ledger: thousands of people only in the ledger (not yet synced) and
    hundreds only in 勤怠. report.html lists the first PAGE_LIMIT of each kind and names the CSV
    beside it for the rest; the CSV and result.json keep every difference."""
    from etl.report.reconcile import CSV_NAME, PAGE_LIMIT
    newcomers = [dataclasses.replace(e, code=f"F{i:05d}", first_name=f"新人{i}")
                 for i, e in enumerate(ledger_employees(2500), start=1)]
    h.load(newcomers)
    for i in range(1, 251):
        h.sandbox.state.add({"code": f"X{i:04d}", "lastName": "外部", "firstName": f"社員{i}",
                             "divisionCode": "1100", "typeCode": "1", "gender": "male"})
    before = everything(h)
    run = h.run("reconcile")
    assert run.code == 0, run.err
    assert everything(h) == before and h.sandbox.writes() == 0
    assert run.out.splitlines()[0] == "照合: 差異 2,750 件 (台帳のみ 2,500・勤怠のみ 250)"

    page = run.report.read_text(encoding="utf-8")
    assert page.count("<tr><td><b>台帳のみ</b>") == PAGE_LIMIT == 200
    assert page.count("<tr><td><b>勤怠のみ</b>") == PAGE_LIMIT
    assert page.count("<tr><td><b>") == 2 * PAGE_LIMIT  # the page is bounded, whatever the ledger's size
    link = f'<a href="{quote(CSV_NAME)}">{CSV_NAME}</a>'
    assert f"台帳のみ: 最初の 200 件を表示しています。ほか 2,300 件は 差異一覧 CSV ({link}) にあります。" in page
    assert f"勤怠のみ: 最初の 200 件を表示しています。ほか 50 件は 差異一覧 CSV ({link}) にあります。" in page
    assert ">F00200</td>" in page and ">F00201</td>" not in page  # the first of each kind, by code
    assert "<summary>差異の一覧 (400 件を表示)</summary>" in page  # folded: the kind cards say the counts
    assert "2,500" in page and "250" in page  # the cards count every one

    csv_path = run.report.parent / CSV_NAME  # the link is relative: the CSV is beside report.html
    assert str(csv_path) in run.result["outputs"]
    lines = csv_path.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 2750
    in_csv = {line.split(",")[1] for line in lines[1:]}
    assert in_csv == {f"F{i:05d}" for i in range(1, 2501)} | {f"X{i:04d}" for i in range(1, 251)}
    # result.json keeps one row per difference, as before (rows are not capped, a sync's neither)
    assert len(run.result["rows"]) == 2750
    assert {r["employee_code"] for r in run.result["rows"]} == in_csv

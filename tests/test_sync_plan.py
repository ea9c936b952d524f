"""The sync plan (pure): one action per ledger employee, as a table of rules."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from support.plan import BASE, MASTERS, REMOTE, TODAY, make_book, override

from etl.records import Employee, Link
from etl.sync.plan import SyncOptions, plan_sync, plan_sync_dated
from etl.workbook.model import (
    MappingBook,
)


def emp(**kw) -> Employee:
    return dataclasses.replace(BASE, **kw)


def remote(**kw) -> dict[str, Any]:
    out = dict(REMOTE, **kw)
    return {k: v for k, v in out.items() if v is not None}


SYNCED = {"00123": Link("00123", "k-00123", "fp-of-an-earlier-sync", "2026-11-01T02:00:00+09:00")}


def plan_one(e: Employee = BASE, *, book: MappingBook | None = None, rem: list | None = None,
             links: dict | None = None, options: SyncOptions | None = None, remote_as_of=None,
             pending=None):
    plan = plan_sync([e], book or make_book(), MASTERS, [] if rem is None else rem, links or {},
                     options or SyncOptions(), TODAY, remote_as_of=remote_as_of, pending=pending)
    return plan.actions[0], plan


def first_fingerprint(e: Employee = BASE, book: MappingBook | None = None) -> str:
    """The fingerprint a successful sync of ``e`` would have stored."""
    action, _ = plan_one(e, book=book)
    return action.fingerprint


# (id, plan_one kwargs, expected kind, expected changes or None = not checked, reason part)
CASES = [
    ("new employee is created with every enabled field, kana as full-width katakana",
     dict(), "create",
     {"code": [None, "00123"], "lastName": [None, "山田"], "firstName": [None, "太郎"],
      "lastNamePhonetics": [None, "ヤマダ"], "firstNamePhonetics": [None, "タロウ"],
      "divisionCode": [None, "100"], "typeCode": [None, "1"], "gender": [None, "male"],
      "birthDate": [None, "1990-01-02"], "hiredDate": [None, "2020-04-01"],
      "emailAddresses": [None, ["yamada@example.co.jp"]]}, "新規登録"),
    ("required (※1) fields are sent on create even when switched off, optional ones are not",
     dict(book=make_book(off=("姓", "部署", "姓(カナ)", "生年月日", "メールアドレス"))), "create",
     {"code": [None, "00123"], "lastName": [None, "山田"], "firstName": [None, "太郎"],
      "firstNamePhonetics": [None, "タロウ"], "divisionCode": [None, "100"], "typeCode": [None, "1"],
      "gender": [None, "male"], "hiredDate": [None, "2020-04-01"]}, "新規登録"),
    ("blank optional values are left out of the create body",
     dict(e=emp(last_name_kana="", email="", birth_date=None)), "create",
     {"code": [None, "00123"], "lastName": [None, "山田"], "firstName": [None, "太郎"],
      "firstNamePhonetics": [None, "タロウ"], "divisionCode": [None, "100"], "typeCode": [None, "1"],
      "gender": [None, "male"], "hiredDate": [None, "2020-04-01"]}, "新規登録"),
    ("missing gender cannot be created", dict(e=emp(gender="")), "error", None, "「性別」が空"),
    ("missing first name cannot be created", dict(e=emp(first_name="")), "error", None, "「名」が空"),
    ("code shorter than 3 characters", dict(e=emp(code="12")), "error", None, "半角英数字3〜10文字"),
    ("code longer than 10 characters", dict(e=emp(code="12345678901")), "error", None, "半角英数字3〜10文字"),
    ("code with a hyphen", dict(e=emp(code="AB-12")), "error", None, "半角英数字3〜10文字"),
    ("code in full-width digits", dict(e=emp(code="１２３")), "error", None, "半角英数字3〜10文字"),
    ("no hired date while 入社年月日登録者のみ連携", dict(e=emp(hired_date=None)), "skip", None, "入社年月日が未登録"),
    ("no hired date is fine when the setting is off",
     dict(e=emp(hired_date=None), book=make_book(hired_only=False)), "create", None, "新規登録"),
    ("連携除外 in 個別設定", dict(book=make_book(overrides=(override(exclude=True),))), "skip", None, "連携除外"),
    ("outside --employees", dict(options=SyncOptions(selection=frozenset({"00999"}))), "skip", None, "対象外"),
    ("inside --employees", dict(options=SyncOptions(selection=frozenset({"00123"}))), "create", None, "新規登録"),
    ("--mode new skips employees already registered",
     dict(rem=[remote(lastName="山本")], options=SyncOptions(mode="new")), "skip", None, "--mode new"),
    ("--mode update skips employees not registered yet",
     dict(options=SyncOptions(mode="update")), "skip", None, "--mode update"),
    ("resigned before this month and absent remotely is not created",
     dict(e=emp(resignation_date=dt.date(2026, 10, 31))), "skip", None, "退職済み"),
    ("resigned this month and absent remotely is created with the date",
     dict(e=emp(resignation_date=dt.date(2026, 11, 2))), "create", None, "新規登録"),
    ("identical remote employee is unchanged", dict(rem=[remote()]), "unchanged", None, "差分なし"),
    ("half-width kana in the ledger equals full-width remotely",
     dict(e=emp(last_name_kana="ﾔﾏﾀﾞ"), rem=[remote()]), "unchanged", None, "差分なし"),
    ("one changed field is one update with old → new",
     dict(e=emp(last_name="山本"), rem=[remote()]), "update", {"lastName": ["山田", "山本"]}, "更新: 姓"),
    ("hiragana kana remotely is corrected to katakana",
     dict(rem=[remote(lastNamePhonetics="やまだ")]), "update",
     {"lastNamePhonetics": ["やまだ", "ヤマダ"]}, "姓(カナ)"),
    ("a difference in a switched-off field is ignored",
     dict(e=emp(email="new@example.co.jp"), rem=[remote()], book=make_book(off=("メールアドレス",))),
     "unchanged", None, "差分なし"),
    ("an optional value emptied in the ledger is sent empty (the API clears it)",
     dict(e=emp(email="", birth_date=None, first_name_kana=""), rem=[remote()], links=SYNCED), "update",
     {"firstNamePhonetics": ["タロウ", ""], "birthDate": ["1990-01-02", ""], "emailAddresses": [["yamada@example.co.jp"], ""]},
     "更新: 名(カナ)、生年月日、メールアドレス"),
    ("an emptied hired date is cleared too",
     dict(e=emp(hired_date=None), rem=[remote()], book=make_book(hired_only=False), links=SYNCED), "update",
     {"hiredDate": ["2020-04-01", ""]}, "入社年月日"),
    ("a value blank on both sides is not sent",
     dict(e=emp(email=""), rem=[remote(emailAddresses=None)]), "unchanged", None, "差分なし"),
    ("an emptied required value is an error row naming it, nothing sent",
     dict(e=emp(first_name="", gender=""), rem=[remote()]), "error", None, "「名、性別」が台帳で空"),
    ("an emptied optional value in a switched-off field is not sent",
     dict(e=emp(email=""), rem=[remote()], book=make_book(off=("メールアドレス",))), "unchanged", None, "差分なし"),
    ("department moved to another mapped division", dict(e=emp(department_code="D02"), rem=[remote()]),
     "update", {"divisionCode": ["100", "200"]}, "所属"),
    ("division from a division with the department's own code",
     dict(e=emp(department_code="D09"), rem=[remote()]), "update", {"divisionCode": ["100", "D09"]}, "所属"),
    ("division from 既定の勤怠所属コード",
     dict(e=emp(department_code="ZZZ"), rem=[remote()], book=make_book(default_division_code="900")),
     "update", {"divisionCode": ["100", "900"]}, "所属"),
    ("unresolved division", dict(e=emp(department_code="ZZZ")), "error", None, "勤怠所属が決まりません"),
    ("no department: the advice is the default or a 個別設定 row",
     dict(e=emp(department_code="", department_name="")), "error", None, "「既定の勤怠所属コード」を入力するか"),
    ("no 社員区分: the advice is the default or a 個別設定 row",
     dict(e=emp(employee_class="")), "error", None, "「既定の勤怠雇用区分コード」を入力するか"),
    ("type from a working type with the same name (NFKC, trimmed)",
     dict(e=emp(employee_class=" パート "), rem=[remote()],
          book=dataclasses.replace(make_book(), types=())), "update", {"typeCode": ["1", "2"]}, "雇用区分"),
    ("division from a division with the same name when no row or code matches",
     dict(e=emp(department_code="D77", department_name="福岡"), rem=[remote()]), "update",
     {"divisionCode": ["100", "300"]}, "所属"),
    ("the default deciding a sent division is said in the row",
     dict(e=emp(department_code="ZZZ"), rem=[remote()], book=make_book(default_division_code="900")),
     "update", {"divisionCode": ["100", "900"]}, "所属は既定値で決定"),
    ("unresolved employment type", dict(e=emp(employee_class="契約")), "error", None, "勤怠雇用区分が決まりません"),
    ("type from 既定の勤怠雇用区分コード",
     dict(e=emp(employee_class="契約"), rem=[remote()], book=make_book(default_type_code="9")),
     "update", {"typeCode": ["1", "9"]}, "雇用区分"),
    ("個別設定 division wins over the mapping",
     dict(rem=[remote()], book=make_book(overrides=(override(division="300"),))),
     "update", {"divisionCode": ["100", "300"]}, "所属"),
    ("business name replaces the legal name when the setting is on",
     dict(e=emp(business_last_name="鈴木", business_first_name="花"), rem=[remote()],
          book=make_book(business_name_as_name=True)),
     "update", {"lastName": ["山田", "鈴木"], "firstName": ["太郎", "花"]}, "更新"),
    ("business name is ignored when the setting is off",
     dict(e=emp(business_last_name="鈴木", business_first_name="花"), rem=[remote()]), "unchanged", None, "差分なし"),
    ("setting on without a business name keeps the legal name",
     dict(rem=[remote()], book=make_book(business_name_as_name=True)), "unchanged", None, "差分なし"),
    ("resignation date in the ledger, none remotely: retire",
     dict(e=emp(resignation_date=dt.date(2026, 11, 30)), rem=[remote()]), "retire",
     {"resignationDate": [None, "2026-11-30"]}, "退職"),
    ("resignation date differs remotely: retire",
     dict(e=emp(resignation_date=dt.date(2026, 11, 30)), rem=[remote(resignationDate="2026-12-31")]),
     "retire", {"resignationDate": ["2026-12-31", "2026-11-30"]}, "退職"),
    ("resignation date withdrawn in the ledger is cleared remotely",
     dict(rem=[remote(resignationDate="2026-12-31")], links=SYNCED), "update", {"resignationDate": ["2026-12-31", ""]},
     "退職年月日"),
    ("an unknown code in --employees is an error row",
     dict(options=SyncOptions(selection=frozenset({"00123", "00999"}))), "create", None, "新規登録"),
]


@pytest.mark.parametrize("kwargs, kind, changes, reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan_rule(kwargs, kind, changes, reason):
    action, _ = plan_one(**kwargs)
    assert action.kind == kind, action.reason
    assert reason in action.reason
    if changes is not None:
        assert action.diff() == changes
        if kind == "create":
            assert action.body == {f: new for f, (_, new) in changes.items()}
        else:
            assert action.body == {f: new for f, (_, new) in changes.items()}
            assert action.key == "k-00123"
    if kind == "error":
        assert action.problem is not None and action.problem.employee_code == action.code


def test_unknown_selected_code_becomes_an_error_row():
    _, plan = plan_one(options=SyncOptions(selection=frozenset({"00123", "00999"})))
    extra = plan.actions[-1]
    assert (extra.code, extra.kind, extra.problem.code) == ("00999", "error", "selection-unknown-employee")


def test_remote_employee_without_link_is_adopted():
    action, plan = plan_one(rem=[remote()])
    assert (action.kind, action.key, action.link) == ("unchanged", "k-00123", True)
    assert plan.links_only() == [action] and plan.writes() == []


def test_stale_link_of_an_unchanged_employee_is_refreshed():
    fp = first_fingerprint()
    action, _ = plan_one(rem=[remote()], links={"00123": Link("00123", "k-00123", "old", "")})
    assert action.kind == "unchanged" and action.link and action.fingerprint == fp
    action, _ = plan_one(rem=[remote()], links={"00123": Link("00123", "k-00123", "", "")},
                         options=SyncOptions(full=True))
    assert action.link and action.fingerprint == fp


def test_current_link_is_not_stored_again():
    fp = first_fingerprint()
    for options in (SyncOptions(), SyncOptions(full=True)):
        action, _ = plan_one(rem=[remote()], links={"00123": Link("00123", "k-00123", fp, "")}, options=options)
        assert action.kind == "unchanged" and not action.link


class TestIncremental:
    def test_unchanged_fingerprint_is_not_compared(self):
        # the remote differs, but the ledger has not changed since the last successful sync
        links = {"00123": Link("00123", "k-00123", first_fingerprint(), "")}
        action, _ = plan_one(rem=[remote(lastName="他人")], links=links)
        assert (action.kind, action.reason) == ("unchanged", "前回の連携から変更なし")

    def test_full_compares_everyone(self):
        links = {"00123": Link("00123", "k-00123", first_fingerprint(), "")}
        action, _ = plan_one(rem=[remote(lastName="他人")], links=links, options=SyncOptions(full=True))
        assert action.kind == "update" and action.changes == {"lastName": ["他人", "山田"]}

    def test_changed_employee_is_compared(self):
        links = {"00123": Link("00123", "k-00123", first_fingerprint(), "")}
        action, _ = plan_one(emp(first_name="次郎"), rem=[remote()], links=links)
        assert action.changes == {"firstName": ["太郎", "次郎"]}

    def test_workbook_change_puts_everyone_back_in_the_plan(self):
        links = {"00123": Link("00123", "k-00123", first_fingerprint(), "")}
        book = make_book(overrides=(override(division="300"),))
        action, _ = plan_one(rem=[remote()], links=links, book=book)
        assert action.changes == {"divisionCode": ["100", "300"]}

    def test_link_to_a_key_no_longer_there_is_compared(self):
        links = {"00123": Link("00123", "k-gone", first_fingerprint(), "")}
        action, _ = plan_one(rem=[remote()], links=links)
        assert (action.kind, action.key, action.link) == ("unchanged", "k-00123", True)

    def test_linked_employee_deleted_remotely_is_created_again(self):
        links = {"00123": Link("00123", "k-00123", first_fingerprint(), "")}
        action, _ = plan_one(links=links)
        assert action.kind == "create"

    def test_pending_employee_without_a_stored_fingerprint_is_compared(self):
        links = {"00123": Link("00123", "k-00123", "", "")}
        action, _ = plan_one(emp(last_name="山本"), rem=[remote()], links=links)
        assert action.kind == "update"


class TestEffectiveDate:
    def test_override_date_is_the_update_date_and_queued(self):
        book = make_book(overrides=(override(division="300", date=dt.date(2026, 12, 1)),))
        action, plan = plan_one(rem=[remote()], book=book, options=SyncOptions(effective_date=dt.date(2026, 12, 15)))
        assert action.effective_date == dt.date(2026, 12, 1)
        assert "異動日 2026-12-01" in action.reason
        assert plan.queue == [{"employee_code": "00123", "name": "山田 太郎", "field": "divisionCode",
                               "old": "100", "new": "300", "effective_date": "2026-12-01"}]

    def test_option_date_when_no_override_date(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()],
                                options=SyncOptions(effective_date=dt.date(2026, 12, 15)))
        assert action.effective_date == dt.date(2026, 12, 15) and plan.queue[0]["effective_date"] == "2026-12-15"

    def test_today_by_default_and_nothing_queued(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()])
        assert action.effective_date == TODAY and plan.queue == []

    def test_no_update_date_when_no_division_or_type_changes(self):
        book = make_book(overrides=(override(date=dt.date(2026, 12, 1)),))
        action, plan = plan_one(emp(last_name="山本"), rem=[remote()], book=book)
        assert action.effective_date is None and plan.queue == []

    def test_transfer_already_scheduled_remotely_is_not_sent_again(self):
        date = dt.date(2026, 12, 1)
        book = make_book(overrides=(override(division="300", date=date),))
        action, _ = plan_one(rem=[remote()], book=book, remote_as_of={date: [remote(divisionCode="300")]},
                             options=SyncOptions(full=True))
        assert action.kind == "unchanged"

    def test_past_update_date_is_sent_as_entered_with_a_warning(self):
        book = make_book(overrides=(override(division="300", date=dt.date(2026, 10, 15)),))
        action, plan = plan_one(rem=[remote()], book=book)
        assert action.effective_date == dt.date(2026, 10, 15) and "過去の日付" in action.reason
        assert plan.queue == [] and plan.problems == []  # the validator warns at the 個別設定 cell

    def test_past_option_date_is_sent_as_entered_with_a_warning(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()],
                                options=SyncOptions(effective_date=dt.date(2026, 10, 15)))
        assert action.effective_date == dt.date(2026, 10, 15) and "過去の日付" in action.reason
        assert [(p.code, p.employee_code, p.value) for p in plan.problems] == \
            [("effective-date-past", "00123", "2026-10-15")]
        assert "締め済みの期間" in plan.problems[0].message

    def test_future_resignation_is_queued(self):
        action, plan = plan_one(emp(resignation_date=dt.date(2027, 1, 31)), rem=[remote()])
        assert action.kind == "retire" and action.effective_date is None
        assert plan.queue[0]["field"] == "resignationDate" and plan.queue[0]["effective_date"] == "2027-01-31"


def test_counts_and_writes():
    employees = [emp(code=f"E{i:04d}") for i in range(5)] + [emp(code="X1")]
    rem = [remote(code="E0000", key="k0"), remote(code="E0001", key="k1", lastName="旧")]
    plan = plan_sync(employees, make_book(), MASTERS, rem, {}, SyncOptions(), TODAY)
    assert plan.counts() == {"create": 3, "update": 1, "retire": 0, "unchanged": 1, "skip": 0, "error": 1}
    assert [a.code for a in plan.writes()] == ["E0001", "E0002", "E0003", "E0004"]


class TestPendingChange:
    """--effective-date is kept in the ledger: later runs send that change with that date or not at all."""

    DATE = dt.date(2027, 1, 1)

    def pending(self, value="200", name="divisionCode", date=None):
        from etl.records import PendingChange
        return {("00123", name): PendingChange("00123", name, value, date or self.DATE)}

    def test_option_date_is_stored_as_a_pending_change(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()],
                                options=SyncOptions(effective_date=self.DATE))
        assert action.effective_date == self.DATE
        assert [(p.employee_code, p.field, p.value, p.effective_date) for p in plan.pending_save] == \
            [("00123", "divisionCode", "200", self.DATE)]

    def test_a_later_run_without_the_option_sends_the_pending_date(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()], pending=self.pending(),
                                options=SyncOptions(full=True))
        assert action.kind == "update" and action.effective_date == self.DATE
        assert plan.pending_save == [] and plan.pending_drop == []

    def test_already_scheduled_remotely_nothing_is_sent(self):
        action, _ = plan_one(emp(department_code="D02"), rem=[remote()], pending=self.pending(),
                             remote_as_of={self.DATE: [remote(divisionCode="200")]}, options=SyncOptions(full=True))
        assert action.kind == "unchanged"

    def test_a_ledger_change_to_another_value_drops_it_with_a_warning(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()], pending=self.pending(value="300"))
        assert action.effective_date == TODAY
        assert plan.pending_drop == [("00123", "divisionCode")]
        assert [p.code for p in plan.problems] == ["pending-change-superseded"]

    def test_done_once_its_date_has_come_and_the_attendance_side_shows_it(self):
        _, plan = plan_one(emp(department_code="D02"), rem=[remote(divisionCode="200")],
                           pending=self.pending(date=dt.date(2026, 11, 1)))
        assert plan.pending_drop == [("00123", "divisionCode")]

    def test_division_and_type_due_on_different_dates_is_an_error_row(self):
        action, _ = plan_one(emp(department_code="D02", employee_class="パート"), rem=[remote()],
                             pending=self.pending())
        assert action.kind == "error" and "所属 2027-01-01、雇用区分 2026-11-26" in action.reason

    def test_override_date_wins_and_drops_the_pending_change(self):
        book = make_book(overrides=(override(division="200", date=dt.date(2026, 12, 1)),))
        action, plan = plan_one(rem=[remote()], pending=self.pending(), book=book)
        assert action.effective_date == dt.date(2026, 12, 1) and plan.pending_save == []
        assert plan.pending_drop == [("00123", "divisionCode")]

    # a kept change the plan no longer sends, already booked on the attendance side for its day:
    # that day 勤怠 still moves to the booked value — said by name, never left silently

    def test_a_ledger_change_to_another_value_while_the_old_one_is_booked_says_it_stays_booked(self):
        action, plan = plan_one(emp(department_code="D02"), rem=[remote()], pending=self.pending(value="300"),
                                remote_as_of={self.DATE: [remote(divisionCode="300")]})
        assert action.kind == "update" and action.changes == {"divisionCode": ["100", "200"]}
        assert plan.pending_drop == [("00123", "divisionCode")]
        assert [(p.code, p.employee_code, p.value) for p in plan.problems] == \
            [("pending-change-still-booked", "00123", "300")]
        message = plan.problems[0].message
        assert "2027-01-01" in message and "「300」" in message and "「200」" in message and "勤怠の画面" in message

    def test_not_booked_on_its_day_the_drop_is_the_plain_warning(self):
        _, plan = plan_one(emp(department_code="D02"), rem=[remote()], pending=self.pending(value="300"),
                           remote_as_of={self.DATE: [remote()]})
        assert [p.code for p in plan.problems] == ["pending-change-superseded"]

    def test_an_override_date_other_than_the_booked_one_says_the_booking_stays(self):
        book = make_book(overrides=(override(division="200", date=dt.date(2027, 2, 1)),))
        _, plan = plan_one(rem=[remote()], pending=self.pending(), book=book,
                           remote_as_of={self.DATE: [remote(divisionCode="200")]})
        assert plan.pending_drop == [("00123", "divisionCode")]
        assert [(p.code, p.value) for p in plan.problems] == [("pending-change-still-booked", "200")]

    def test_an_option_date_for_the_named_employee_other_than_the_booked_one_says_the_booking_stays(self):
        for selection, said in ((frozenset({"00123"}), ["pending-change-still-booked"]),
                                (None, [])):  # a date for the whole run is not one for this booked change
            _, plan = plan_one(emp(department_code="D02"), rem=[remote()], pending=self.pending(),
                               options=SyncOptions(effective_date=dt.date(2027, 2, 1), selection=selection),
                               remote_as_of={self.DATE: [remote(divisionCode="200")]})
            assert [p.code for p in plan.problems] == said, selection

    def test_the_dated_plan_reads_the_day_of_a_dropped_booking(self):
        asked = []

        def as_of(day):
            asked.append(day)
            return [remote(divisionCode="300")]
        plan = plan_sync_dated([emp(department_code="D02")], make_book(), MASTERS, [remote()], {}, SyncOptions(),
                               TODAY, as_of=as_of, pending=self.pending(value="300"))
        assert asked == [self.DATE]
        assert [p.code for p in plan.problems] == ["pending-change-still-booked"]


class TestBusinessNameKana:
    def test_business_kana_is_sent_with_the_business_name(self):
        e = emp(business_last_name="鈴木", business_first_name="花", business_last_name_kana="すずき",
                business_first_name_kana="ﾊﾅ")
        action, plan = plan_one(e, rem=[remote()], book=make_book(business_name_as_name=True))
        assert action.changes == {"lastName": ["山田", "鈴木"], "firstName": ["太郎", "花"],
                                  "lastNamePhonetics": ["ヤマダ", "スズキ"], "firstNamePhonetics": ["タロウ", "ハナ"]}
        assert plan.problems == []

    def test_blank_business_kana_is_not_sent_and_is_warned(self):
        e = emp(business_last_name="鈴木", business_first_name="花", business_last_name_kana="スズキ")
        action, plan = plan_one(e, rem=[remote()], book=make_book(business_name_as_name=True))
        assert action.changes == {"lastName": ["山田", "鈴木"], "firstName": ["太郎", "花"],
                                  "lastNamePhonetics": ["ヤマダ", "スズキ"]}  # the legal 名(カナ) is neither sent nor cleared
        assert [(p.code, p.employee_code) for p in plan.problems] == [("business-kana-missing", "00123")]
        assert "ビジネスネーム(メイ)" in plan.problems[0].message

    def test_on_create_the_blank_business_kana_is_left_out(self):
        e = emp(business_last_name="鈴木", business_last_name_kana="スズキ")
        action, plan = plan_one(e, book=make_book(business_name_as_name=True))
        assert action.body["lastNamePhonetics"] == "スズキ" and action.body["firstNamePhonetics"] == "タロウ"
        assert plan.problems == []


def test_a_value_only_on_the_attendance_side_is_kept_and_said_until_the_first_sync():
    """Never synced by us: a blank in the ledger is not an emptying, so nothing is cleared, and the
    report names the field (never silently); once linked, emptying the ledger clears it."""
    action, plan = plan_one(emp(email="", birth_date=None), rem=[remote()])
    assert action.kind == "unchanged" and not action.body
    kept = [p for p in plan.problems if p.code == "attendance-only-value"]
    assert [(p.employee_code, p.severity) for p in kept] == [("00123", "warning")]
    assert "生年月日" in kept[0].message and "メールアドレス" in kept[0].message
    action, plan = plan_one(emp(email="", birth_date=None), rem=[remote()], links=SYNCED)
    assert action.kind == "update" and action.body == {"birthDate": "", "emailAddresses": ""}
    assert not [p for p in plan.problems if p.code == "attendance-only-value"]

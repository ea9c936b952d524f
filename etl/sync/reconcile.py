"""Ledger (through the workbook's rules) vs the attendance side as of today → differences (pure).

``reconcile`` writes nothing. It takes what the sync takes — the ledger's employees, the
workbook, the masters, GET /employees?includeResigner=true as of today (with the additional
fields) and the links kept by the sync — and returns one ``Difference`` per finding:

* ``only-in-ledger`` — with why: 連携除外, no 入社年月日, an error, retired before this month, or
  simply not synced yet (the next sync creates it), or linked once but gone from 勤怠;
* ``only-in-attendance`` — a candidate for ``pull-employees`` or a leftover (retired);
* ``field-difference`` — one per field the sync sends (連携項目: 連携する), a ledger blank
  included (the sync never sends a blank, so it stays different), with the side that changed;
* ``leaver-active-in-attendance`` / ``retired-in-attendance`` — the two disagreements on who works here;
* ``pending-change`` — a future-dated change (個別設定's 異動日, the ledger's pending change kept
  from --effective-date for the value the ledger gives, a future 退職年月日): not sent yet, or
  already booked on the attendance side (when its view as of that day is given);
* ``code-change`` — the same person under another code: a confirmed 旧従業員番号 not sent yet, the
  code changed in 勤怠's own screens (the link's key now has another code), or a probable one.

Which side changed since the last sync, per field: the sync stores, beside each link, the values
it last had confirmed on the attendance side (``synced_values``, table attendance_synced). A field
whose ledger value moved from them is a ledger edit not sent yet (``ledger``); one whose attendance
value moved is a change made in 勤怠's own screens (``attendance``); both moved is ``both``. For an
employee synced before those values were kept, the link's fingerprint decides per employee: the
same fingerprint today means the ledger is as it was when both sides last agreed (``attendance``),
another one a ledger or workbook change not sent yet (``ledger``); no link is ``unknown``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.records import Employee, Link, Masters, PendingChange, RowResult
from etl.sync import code_change, twins
from etl.sync.fields import (
    CLEARABLE,
    DATED_FIELDS,
    LABELS,
    REQUIRED_ON_CREATE,
    REQUIRED_ON_UPDATE,
    FieldRules,
    api_date,
    desired_fields,
    remote_value,
    sync_fingerprint,
    withheld_kana,
)
from etl.sync.plan import WRITE_KINDS, Plan, override_values, plan_context
from etl.workbook.model import MappingBook
from etl.workbook.resolve import Resolver

KINDS: dict[str, str] = {  # kind → HR's words (report, CSV)
    "only-in-ledger": "台帳のみ",
    "only-in-attendance": "勤怠のみ",
    "field-difference": "項目の違い",
    "leaver-active-in-attendance": "退職者が勤怠で在籍中",
    "retired-in-attendance": "勤怠では退職済み",
    "pending-change": "予定の変更",
    "code-change": "従業員番号の変更",
}
SIDES: dict[str, str] = {
    "ledger": "台帳側 (未送信の変更)",
    "attendance": "勤怠側 (勤怠の画面での変更)",
    "both": "両方 (台帳の変更が未送信で、勤怠の画面でも変更)",
    "unknown": "不明 (前回の連携記録なし)",
    "": "",
}
PENDING_CHECK_DAYS = 365  # a pending change within this many days is checked against 勤怠 as of its day
SyncedValues = Mapping[str, tuple[str, dict[str, Any]]]  # code → (link fingerprint, {API field: value})


@dataclass(frozen=True)
class Difference:
    kind: str  # a key of KINDS
    employee_code: str
    name: str = ""
    field: str = ""  # API field (field-difference, pending-change)
    ledger: Any = None  # the value the ledger gives, through the workbook's rules
    attendance: Any = None  # the attendance side's value
    side: str = ""  # ledger | attendance | unknown: who changed since the last sync
    reason: str = ""  # Japanese, for HR
    effective_date: str = ""  # pending-change: the day it takes effect

    def to_row(self) -> RowResult:
        """One result.json row: reconcile writes nothing (action skip, result ok); ``changes`` is
        field → [ledger, attendance] (a code change: ``code`` → [the ledger's, 勤怠's])."""
        changes = ({self.field: [_plain(self.ledger), _plain(self.attendance)]} if self.field
                   else {"code": [self.ledger, self.attendance]} if self.kind == "code-change" else {})
        return RowResult(employee_code=self.employee_code, action="skip", result="ok", changes=changes,
                         message=self.message(), effective_date=self.effective_date, kind=self.kind,
                         side=self.side)

    def message(self) -> str:
        text = KINDS[self.kind]
        if self.field:
            text += f" {LABELS.get(self.field, self.field)}"
        if self.reason:
            text += f": {self.reason}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "kind_label": KINDS[self.kind], "employee_code": self.employee_code,
                "name": self.name, "field": self.field, "field_label": LABELS.get(self.field, self.field),
                "ledger": _plain(self.ledger), "attendance": _plain(self.attendance), "side": self.side,
                "side_label": SIDES.get(self.side, self.side), "reason": self.reason,
                "effective_date": self.effective_date}


@dataclass
class Reconciliation:
    today: dt.date
    differences: list[Difference] = field(default_factory=list)
    ledger_count: int = 0
    attendance_count: int = 0
    compared: int = 0  # employees on both sides whose fields were compared
    not_compared: list[tuple[str, str]] = field(default_factory=list)  # (code, why), said in the report
    fields: tuple[str, ...] = ()  # the API fields compared

    def counts(self) -> dict[str, int]:
        c = Counter(d.kind for d in self.differences)
        return {k: c.get(k, 0) for k in KINDS}

    def section(self) -> dict[str, Any]:
        """Plain data for the report (report.html's 照合 section, the nightly summary, the CSV)."""
        return {"today": self.today.isoformat(), "ledger": self.ledger_count, "attendance": self.attendance_count,
                "compared": self.compared, "counts": self.counts(), "kinds": dict(KINDS),
                "fields": [LABELS.get(f, f) for f in self.fields],
                "not_compared": [{"employee_code": c, "reason": r} for c, r in self.not_compared],
                "differences": [d.as_dict() for d in self.differences]}


def reconcile(employees: list[Employee], book: MappingBook, masters: Masters, remote: list[dict[str, Any]],
              links: Mapping[str, Link], today: dt.date, *,
              remote_as_of: Mapping[dt.date, list[dict[str, Any]]] | None = None,
              synced: SyncedValues | None = None,
              pending: Mapping[tuple[str, str], PendingChange] | None = None) -> Reconciliation:
    """Every difference between the ledger and ``remote`` (GET /employees, includeResigner, today);
    ``synced`` is the ledger's ``synced_values()``, ``pending`` its ``pending_changes()`` (the
    dates the sync keeps from --effective-date: such a change is pending, as the sync sends it)."""
    return _Compare(book, masters, remote, links, today, remote_as_of or {}, synced or {},
                    pending or {}).run(employees)


class _Compare:
    def __init__(self, book, masters, remote, links, today, remote_as_of, synced, pending):
        self.book, self.links, self.today, self.synced = book, links, today, synced
        self.pending_kept = pending
        self.rules = FieldRules.from_book(book)
        self.resolver = Resolver(book, masters)
        self.override_rows = self.resolver.overrides
        self.overrides = override_values(book, self.override_rows)
        self.context = plan_context(book, masters, self.rules, self.resolver)
        self.remote = remote
        self.by_code = {str(r["code"]): r for r in remote if r.get("code")}
        self.by_key = {str(r["key"]): r for r in remote if r.get("key")}
        self.future = {d: {str(r["code"]): r for r in recs if r.get("code")} for d, recs in remote_as_of.items()}
        self.fields = tuple(f for f in self.rules.on_update())
        self.month_start = today.replace(day=1)
        self.out = Reconciliation(today=today, fields=tuple(sorted(self.fields, key=_field_order)))
        self.matched: set[str] = set()  # attendance codes accounted for

    def add(self, kind: str, emp_code: str, name: str = "", **kw: Any) -> None:
        self.out.differences.append(Difference(kind, emp_code, name, **kw))

    def run(self, employees: list[Employee]) -> Reconciliation:
        self.renames = code_change.detect(employees, self.book, self.remote, self.links, self.today)
        self.pending_kept = self.renames.carry(self.pending_kept)[0]  # the old code's dated changes, as the sync
        self.ledger_codes = {e.code for e in employees}
        self.new_people = twins.declared_new_people(self.book)
        self.twins = twins.ledger_twins(self.ledger_codes, self.new_people)
        self.attendance_twins = twins.attendance_index(self.ledger_codes, self.by_code)
        self.out.ledger_count, self.out.attendance_count = len(employees), len(self.remote)
        for e in employees:
            self.one(e)
        self.leftovers()
        self.out.differences.sort(key=lambda d: (list(KINDS).index(d.kind), d.employee_code, _field_order(d.field)))
        return self.out

    # --- one ledger employee ------------------------------------------------------------------
    def one(self, e: Employee) -> None:
        code, name = e.code, f"{e.last_name} {e.first_name}".strip()
        rec = self.by_code.get(code)
        if rec is None:
            rec = self.code_changed(e, name)
        if rec is None:
            link = self.links.get(code)
            if e.resignation_date is not None and e.resignation_date < self.month_start and link is None:
                # as the sync means it: a leaver never registered is not sent (not a difference)
                self.out.not_compared.append((code, f"{e.resignation_date.isoformat()} に退職済みで勤怠に未登録 (連携しません)"))
            elif code not in self.renames.probable:  # a probable code change is told once, as a code change
                self.add("only-in-ledger", code, name, reason=self.why_not_there(e))
            return
        self.matched.add(str(rec["code"]))
        override = self.override_rows.get(code)
        if override is not None and override.exclude:
            self.out.not_compared.append((code, "連携除外 (個別設定) のため比較していません"))
            return
        self.out.compared += 1
        side = self.side(e, rec)
        then = self.last_synced(e, rec)
        left = e.resignation_date is not None and e.resignation_date < self.today
        remote_end = api_date(rec.get("resignationDate"))
        remote_left = remote_end is not None and remote_end < self.today
        status_told = False
        # the side of the resignation date, from the values of the last sync when kept
        side_end = side if then is None else _field_side(_iso(e.resignation_date), _iso(remote_end), then,
                                                          "resignationDate")
        if left and not remote_left:
            status_told = True
            self.add("leaver-active-in-attendance", code, name, field="resignationDate", ledger=e.resignation_date,
                     attendance=remote_end, side=side_end,
                     reason=f"台帳では {_iso(e.resignation_date)} に退職済みですが、勤怠では在籍中です")
        elif remote_left and not left:
            status_told = True
            self.add("retired-in-attendance", code, name, field="resignationDate", ledger=e.resignation_date,
                     attendance=remote_end, side=side_end,
                     reason=f"台帳では在籍中ですが、勤怠では {_iso(remote_end)} に退職済みです")
        division, _ = self.resolver.division(e)
        type_code, _ = self.resolver.employment_type(e)
        if division is None:
            self.out.not_compared.append((code, "所属が決まらないため所属は比較していません (検証のエラーを参照)"))
        if type_code is None:
            self.out.not_compared.append((code, "雇用区分が決まらないため雇用区分は比較していません (検証のエラーを参照)"))
        desired = desired_fields(e, division, type_code, self.rules.business_name)
        effective = override.effective_date if override is not None else None
        for f in self.out.fields:
            if (f == "divisionCode" and division is None) or (f == "typeCode" and type_code is None):
                continue
            if f == "resignationDate" and status_told:
                continue
            new, old = desired.get(f), remote_value(rec, f)
            if new == old:
                continue
            if f in DATED_FIELDS:
                # the 個別設定's 異動日, else the date kept with this value (etl.sync.plan's order)
                day = effective if effective is not None else self.kept_date(code, f, new)
                if day is not None and day > self.today:
                    self.pending(e, name, f, new, old, day)
                    continue
            if f == "resignationDate" and e.resignation_date is not None and e.resignation_date > self.today:
                self.pending(e, name, f, new, old, e.resignation_date)
                continue
            reason = self.blank_reason(e, rec, f) if new is None else ""
            self.add("field-difference", code, name, field=f, ledger=new, attendance=old, reason=reason,
                     side=side if then is None else _field_side(new, old, then, f))

    def blank_reason(self, e: Employee, rec: Mapping[str, Any], f: str) -> str:
        """What the sync does with a field blank in the ledger that 勤怠 has (as etl.sync.plan does)."""
        if f in REQUIRED_ON_UPDATE:
            return "台帳が空欄 (必須項目のため、連携はこの従業員を送りません: エラー)"
        if f in withheld_kana(e, self.rules.business_name):
            return "台帳のビジネスネームのフリガナが空欄 (連携は送らず、勤怠の値が残ります)"
        link = self.links.get(e.code)
        if link is None or link.key != str(rec.get("key") or "") or not link.fingerprint:
            return "台帳が空欄 (まだ連携していないため、連携は勤怠の値を消さずに残します)"
        return "台帳が空欄 (連携で勤怠の値を消します。台帳が前回の連携から変わっていなければ sync-employees --full のとき)"

    def kept_date(self, code: str, f: str, new: Any) -> dt.date | None:
        """The 異動日 kept in the ledger for ``new`` (--effective-date), else None."""
        kept = self.pending_kept.get((code, f))
        return kept.effective_date if kept is not None and kept.value == new else None

    def pending(self, e: Employee, name: str, f: str, new: Any, old: Any, day: dt.date) -> None:
        view = self.future.get(day, {}).get(e.code)
        if day > self.today + dt.timedelta(days=PENDING_CHECK_DAYS):
            reason = f"{day.isoformat()} から反映の予定 (1年より先のため、勤怠に予約済みかは確認していません)"
        elif view is not None and remote_value(view, f) == new:
            reason = f"{day.isoformat()} から反映 (勤怠に予約済み)"
        elif view is not None:
            reason = f"{day.isoformat()} から反映の予定ですが、勤怠には未送信です"
        elif self.future:  # the views were asked for, this day's could not be read
            reason = f"{day.isoformat()} から反映の予定 (勤怠のその日時点の情報を読めず、予約済みか確認できませんでした)"
        else:
            reason = f"{day.isoformat()} から反映の予定 (勤怠に予約済みかは確認していません)"
        self.add("pending-change", e.code, name, field=f, ledger=new, attendance=old, reason=reason,
                 effective_date=day.isoformat())

    def code_changed(self, e: Employee, name: str) -> dict[str, Any] | None:
        """The attendance record of this person under another code, reported as a code change."""
        change = self.renames.confirmed.get(e.code)
        if change is not None:
            rec = self.by_code[change.old]
            self.add("code-change", e.code, name, ledger=e.code, attendance=change.old, side="ledger",
                     reason=f"個別設定の旧従業員番号で確認済み。次回の連携で勤怠の番号を {change.old} から {e.code} に変更します")
            return rec
        link = self.links.get(e.code)
        rec = self.by_key.get(link.key) if link is not None and link.key else None
        if rec is not None and str(rec.get("code")) != e.code and str(rec.get("code")) not in self.ledger_codes:
            self.add("code-change", e.code, name, ledger=e.code, attendance=rec.get("code"), side="attendance",
                     reason=f"前回連携した勤怠の従業員 (同じ識別キー) の番号が勤怠側で {rec.get('code')} に変わっています")
            return rec
        change = self.renames.probable.get(e.code)
        if change is not None:
            self.matched.add(change.old)
            self.add("code-change", e.code, name, ledger=e.code, attendance=change.old, side="unknown",
                     reason=(f"可能性 (未確認): 勤怠の {change.old} と氏名・生年月日・入社年月日が同じです。"
                             "同じ人なら個別設定の旧従業員番号に旧番号を、別人なら「なし」を入力してください"))
        return None

    def why_not_there(self, e: Employee) -> str:
        code = e.code
        override = self.override_rows.get(code)
        if override is not None and override.exclude:
            return "連携除外 (個別設定)"
        if not (3 <= len(code) <= 10 and code.isascii() and code.isalnum()):
            return "エラー: 従業員番号が勤怠で使えない形式です (半角英数字3〜10文字)"
        if self.book.settings.hired_only and e.hired_date is None:
            return "入社年月日が未登録 (入社年月日登録者のみ連携)"
        if self.resolver.division(e)[0] is None:
            return "エラー: 勤怠所属が決まりません (所属マッピング)"
        type_code = self.resolver.employment_type(e)[0]
        if type_code is None:
            return "エラー: 勤怠雇用区分が決まりません (雇用区分マッピング)"
        desired = desired_fields(e, self.resolver.division(e)[0], type_code, self.rules.business_name)
        blank = [LABELS[f] for f in REQUIRED_ON_CREATE if f not in desired]
        if blank:  # as the sync's create: employee-required-missing
            return f"エラー: {'・'.join(blank)}が空欄です (必須項目のため勤怠に登録できません)"
        twin = twins.attendance_twin(self.attendance_twins, code, self.new_people)
        if twin is not None:  # as the sync's create: sync-code-leading-zeros
            return (f"エラー: 勤怠の「{twin}」と先頭の 0 だけが違う番号です (同じ人なら個別設定の旧従業員番号に"
                    f"「{twin}」を、別の人なら「なし」を入力するまで登録しません)")
        others = self.twins.get(code)
        if others:  # as the sync's create: sync-ledger-code-leading-zeros
            shown = "、".join(f"「{c}」" for c in others)
            return f"エラー: 台帳の{shown}と先頭の 0 だけが違う番号です (同じ人か別の人か確認されるまで登録しません)"
        link = self.links.get(code)
        if link is not None and link.key:
            return "前回連携済みですが勤怠にありません (勤怠側で削除された可能性があります)"
        return "未連携 (次回の連携で新規登録されます)"

    def side(self, e: Employee, rec: Mapping[str, Any]) -> str:
        link = self.links.get(e.code) or self.links.get(str(rec.get("code")))
        if link is None or not link.fingerprint or link.key != str(rec.get("key") or ""):
            return "unknown"
        now = sync_fingerprint(e, self.context, self.overrides.get(e.code))
        return "attendance" if now == link.fingerprint else "ledger"

    def last_synced(self, e: Employee, rec: Mapping[str, Any]) -> dict[str, Any] | None:
        """The values of the last sync, when they belong to the current link (same fingerprint, same key)."""
        for code in (e.code, str(rec.get("code"))):
            stored, link = self.synced.get(code), self.links.get(code)
            if stored is not None and link is not None and link.fingerprint and stored[0] == link.fingerprint \
                    and link.key == str(rec.get("key") or ""):
                return stored[1]
        return None

    # --- attendance employees the ledger does not have ------------------------------------------
    def leftovers(self) -> None:
        linked = {link.code for link in self.links.values()}
        for code, r in sorted(self.by_code.items()):
            if code in self.matched or code in self.ledger_codes:
                continue
            name = f"{r.get('lastName') or ''} {r.get('firstName') or ''}".strip()
            end = api_date(r.get("resignationDate"))
            if end is not None and end < self.today:
                reason = f"{end.isoformat()} に退職済み (台帳にない古いデータ)"
            elif code in linked:
                reason = "前回連携済みですが台帳にありません (台帳から削除された可能性があります)"
            else:
                reason = "台帳にない在籍者です (pull-employees で台帳に取り込めます)"
            self.add("only-in-attendance", code, name, attendance=code, reason=reason)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


_ORDER = {f: i for i, f in enumerate(LABELS)}


def _field_order(name: str) -> int:
    return _ORDER.get(name, -1)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def _field_side(new: Any, old: Any, then: Mapping[str, Any], name: str) -> str:
    """Who moved one field away from the value of the last sync. A field absent from ``then`` was
    blank in the ledger and left as it was in 勤怠 (not confirmed): only a ledger value is a move."""
    if name not in then:
        return "ledger" if new is not None else ""
    value = then[name]
    moved_ledger, moved_remote = new != value, old != value
    return "both" if moved_ledger and moved_remote else "ledger" if moved_ledger else "attendance"


def synced_values(plan: Plan, rows: list[RowResult], employees: list[Employee], book: MappingBook,
                  masters: Masters, links: Mapping[str, Link]) -> dict[str, tuple[str, dict[str, Any]]]:
    """What to store after a sync, for the employees whose link it saved: the link's fingerprint and
    the values the attendance side was confirmed to hold (the ledger's, through the workbook). A
    blank is stored (as null) where the sync makes 勤怠 blank too: on a create, and for a clearable
    field of an employee linked before (``links``: as they were before the sync); elsewhere a blank
    is left out (勤怠 kept its own value)."""
    ok = {r.employee_code for r in rows if r.result == "ok" and r.action in WRITE_KINDS}
    chosen = [a for a in plan.actions if (a.writes and a.code in ok) or (a.link and not a.writes)]
    if not chosen:
        return {}
    rules = FieldRules.from_book(book)
    resolver = Resolver(book, masters)
    fields = rules.on_update()
    by_code = {e.code: e for e in employees}
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for a in chosen:
        emp = by_code.get(a.code)
        if emp is None:
            continue
        desired = desired_fields(emp, resolver.division(emp)[0], resolver.employment_type(emp)[0],
                                 rules.business_name)
        values = {f: v for f, v in desired.items() if f in fields}
        link = links.get(a.code)
        linked = link is not None and link.key == a.key and bool(link.fingerprint)
        if a.kind == "create" or linked:
            withheld = withheld_kana(emp, rules.business_name)
            values |= {f: None for f in CLEARABLE if f in fields and f not in values and f not in withheld}
        out[a.code] = (a.fingerprint, values)
    return out


def due(schedule: str, today: dt.date) -> bool:
    """照合レポート: whether the nightly run on ``today`` adds the reconcile section."""
    return schedule == "daily" or (schedule == "monday" and today.weekday() == 0)


def pending_dates(result: Reconciliation) -> list[dt.date]:
    """The days of the pending changes (within a year): compare again with 勤怠 as of each day
    to tell a change already booked there from one not sent (as the sync does)."""
    today = result.today
    limit = today + dt.timedelta(days=PENDING_CHECK_DAYS)
    days = {dt.date.fromisoformat(d.effective_date) for d in result.differences
            if d.kind == "pending-change" and d.effective_date}
    return sorted(d for d in days if today < d <= limit)

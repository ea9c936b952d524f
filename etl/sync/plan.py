"""Ledger + workbook + current attendance employees → a Plan of one action per employee (pure).

Action kinds: create · update (only enabled fields that differ, old → new) · retire (the ledger
has 退職年月日 and the attendance side lacks or differs; sent as PUT resignationDate, never a
DELETE) · unchanged · skip · error.

Incremental propagation: without ``full``, an employee whose sync fingerprint equals the one
stored with its link at the last successful sync (and whose key is still on the attendance side)
is "unchanged" without being compared. Everything else — changed, never synced, failed last
time — is compared field by field.

A value emptied in the ledger: an optional field is sent as "" (the API clears it), a required
one makes the employee an error row (nothing sent). The 異動日 (updateDate) of a 所属 / 雇用区分
change is the 個別設定's, else --effective-date's, else that of the employee's pending change
(stored in the ledger when --effective-date was given, ``PendingChange``) whose value is the one
being sent, else today; it is sent as entered, also when it lies in the past (with a warning).

One person is never registered twice: a create whose code equals, up to leading zeros, an
attendance code the ledger lacks (``sync-code-leading-zeros``) or another ledger code
(``sync-ledger-code-leading-zeros``, etl.sync.twins) is an error row until HR settles it.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.bulk import gc_paused
from etl.errors import Problem
from etl.records import Employee, Masters, PendingChange
from etl.sync import code_change, twins
from etl.sync.fields import (
    API_FIELDS,
    BUSINESS_KANA,
    CLEARABLE,
    DATED_FIELDS,
    LABELS,
    REQUIRED_ON_CREATE,
    REQUIRED_ON_UPDATE,
    FieldRules,
    context_digest,
    desired_dict,
    desired_fields,
    desired_values,
    remote_value,
    sync_fingerprint,
    withheld_kana,
)
from etl.workbook.model import MappingBook
from etl.workbook.resolve import (
    FROM_DEFAULT_DIVISION,
    FROM_DEFAULT_TYPE,
    FROM_OVERRIDE,
    Resolver,
    unresolved_hint,
)

MODES = ("all", "new", "update")
WRITE_KINDS = ("create", "update", "retire")
_AT = {f: i for i, f in enumerate(API_FIELDS)}  # API field → its place in ``desired_values``


@dataclass(frozen=True)
class SyncOptions:
    mode: str = "all"  # all | new | update
    effective_date: dt.date | None = None  # --effective-date (個別設定's 異動日 wins)
    full: bool = False  # --full: compare everyone, not only what changed since the last sync
    selection: frozenset[str] | None = None  # --employees / --employees-file


@dataclass(slots=True)
class Action:
    code: str
    name: str
    kind: str  # create | update | retire | unchanged | skip | error
    reason: str  # Japanese, for the report
    key: str = ""  # 従業員識別キー (update / retire / adopted link)
    body: dict[str, Any] | None = None  # POST body (create) or the fields to PUT
    changes: dict[str, list[Any]] | None = None  # API field → [old, new]
    effective_date: dt.date | None = None  # updateDate, when a division/type change is sent
    link: bool = False  # store (code, key, fingerprint) although nothing is sent
    problem: Problem | None = None  # for kind == "error"
    # the employee, the plan's context and its 個別設定 row: the fingerprint is computed only when it
    # is needed (three fields, not a tuple: 50,000 fewer objects for the collector to walk)
    source: Employee | None = field(default=None, repr=False, compare=False)
    context: str = field(default="", repr=False, compare=False)
    row: Any = field(default=None, repr=False, compare=False)
    fp: str = field(default="", repr=False)

    @property
    def fingerprint(self) -> str:
        """The sync fingerprint stored with the link after success."""
        if not self.fp and self.source is not None:
            self.fp = sync_fingerprint(self.source, self.context, _override_of(self.row))
        return self.fp

    @property
    def writes(self) -> bool:
        return self.kind in WRITE_KINDS

    def diff(self) -> dict[str, list[Any]]:
        """Field → [old, new] (for a create: every field sent, from nothing)."""
        if self.changes is not None:
            return self.changes
        if self.kind == "create" and self.body:
            return {f: [None, v] for f, v in self.body.items()}
        return {}


@dataclass
class Plan:
    actions: list[Action]
    today: dt.date
    queue: list[dict[str, Any]] = field(default_factory=list)  # future-dated changes
    problems: list[Problem] = field(default_factory=list)  # warnings for the report
    # the ledger's pending dated changes to store / delete ((code, field)) before anything is sent
    pending_save: list[PendingChange] = field(default_factory=list)
    pending_drop: list[tuple[str, str]] = field(default_factory=list)
    # future days of kept changes no longer sent whose booking on the attendance side is unknown:
    # ``plan_sync_dated`` reads 勤怠 as of each and plans again (a booking left there is said)
    check_days: list[dt.date] = field(default_factory=list)

    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.kind in WRITE_KINDS]

    def links_only(self) -> list[Action]:
        return [a for a in self.actions if a.link and a.kind not in WRITE_KINDS]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("create", "update", "retire", "unchanged", "skip", "error"), 0)
        for a in self.actions:
            out[a.kind] += 1
        return out


def override_values(book: MappingBook, overrides: Mapping[str, Any] | None = None) -> dict[str, tuple]:
    """個別設定 values that shape what is sent, per employee (positions left out); ``overrides``
    is ``book.override_map()`` when the caller has it already (50,000 rows: build it once)."""
    rows = book.override_map() if overrides is None else overrides
    return dict(zip(rows, map(_OVERRIDE_VALUES, rows.values()), strict=True))


_OVERRIDE_VALUES = operator.attrgetter("division_code", "type_code", "effective_date", "exclude")


def _override_of(row: Any) -> tuple | None:
    """One employee's ``override_values`` (the 個別設定 part of its fingerprint) from its row."""
    return None if row is None else _OVERRIDE_VALUES(row)


def plan_context(book: MappingBook, masters: Masters, rules: FieldRules, resolver: Resolver) -> str:
    """Digest of the workbook and masters: when it changes, everyone is compared once more."""
    return context_digest(
        sorted(rules.enabled), sorted(rules.required), rules.business_name,
        book.settings.hired_only, resolver.default_division, resolver.default_type,
        sorted(resolver.division_map.items()), sorted(resolver.type_map.items()),
        sorted(masters.divisions.items()), sorted(masters.working_types.items()))  # names: same-name resolution


def plan_sync(employees: list[Employee], book: MappingBook, masters: Masters,
              remote: list[dict[str, Any]], links: Mapping[str, Any], options: SyncOptions,
              today: dt.date, *, remote_as_of: Mapping[dt.date, list[dict[str, Any]]] | None = None,
              pending: Mapping[tuple[str, str], PendingChange] | None = None) -> Plan:
    """One action per ledger employee (plus an error per selected code the ledger lacks).

    ``remote`` is GET /employees?includeResigner=true as of today; ``remote_as_of`` optionally
    holds the same list as of future 異動日, against which employees with that date are compared
    (so a transfer already scheduled on the attendance side is not sent again). ``pending`` is
    ``Ledger.pending_changes()``; the plan says which of them to store and drop
    (``Plan.pending_save`` / ``pending_drop``: the caller writes them before sending, not on a dry run).
    """
    renames = code_change.detect(employees, book, remote, links, today)  # one person, a new 従業員番号
    # a dated change kept under the old code of a confirmed code change goes with the person
    kept, carried, uncarried = renames.carry(pending or {})
    planner = _Planner(book, masters, renames.view(remote), links, options, today,
                       {d: renames.view(recs) for d, recs in (remote_as_of or {}).items()}, kept,
                       renames.remote_index())
    planner.ledger = employees
    planner.new_people = twins.declared_new_people(book)
    with gc_paused():  # tens of thousands of small dicts: the cyclic GC would re-scan them all
        actions = [planner.one(emp) for emp in employees]
    renames.settle(actions)
    if options.selection is not None:
        known = {e.code for e in employees}
        for code in sorted(options.selection - known):
            p = Problem.of("selection-unknown-employee", employee_code=code, value=code)
            actions.append(Action(code, "", "error", p.message, problem=p))
    planner.drop_live_pending()
    # stored under the new code unless the plan replaces or drops it (the plan's word is the last)
    decided = {(p.employee_code, p.field) for p in planner.pending_save} | set(planner.pending_drop)
    save = [p for p in carried if (p.employee_code, p.field) not in decided] + planner.pending_save
    return Plan(actions=actions, today=today, queue=planner.queue, problems=planner.problems,
                pending_save=save, pending_drop=sorted(set(planner.pending_drop) | set(uncarried)),
                check_days=sorted(planner.check_days))


def plan_sync_dated(employees: list[Employee], book: MappingBook, masters: Masters,
                    remote: list[dict[str, Any]], links: Mapping[str, Any], options: SyncOptions,
                    today: dt.date, *, as_of: Callable[[dt.date], list[dict[str, Any]] | None],
                    pending: Mapping[tuple[str, str], PendingChange] | None = None) -> Plan:
    """``plan_sync``, then — when some change is dated in the future — planned again against the
    attendance side as of each of those dates (``as_of(day)``: GET /employees?date=day, or None
    when it cannot be read), so a transfer already scheduled there is never sent twice."""
    plan = plan_sync(employees, book, masters, remote, links, options, today, pending=pending)
    future = sorted({a.effective_date for a in plan.actions if a.effective_date and a.effective_date > today}
                    | set(plan.check_days))
    if not future:
        return plan
    views = {day: view for day in future if (view := as_of(day)) is not None}
    return plan_sync(employees, book, masters, remote, links, options, today, remote_as_of=views,
                     pending=pending)


class _Planner:
    """Per-book lookups computed once; ``one`` is then cheap per employee."""

    def __init__(self, book, masters, remote, links, options, today, remote_as_of, pending, index=None):
        self.rules = FieldRules.from_book(book)
        self.resolver = Resolver(book, masters)
        self.override_rows = self.resolver.overrides  # code → 個別設定 row (its values taken in ``one``)
        self.context = plan_context(book, masters, self.rules, self.resolver)
        self.hired_only = book.settings.hired_only
        # code → record; ``index`` is the same when the code-change detection built it already
        self.remote = index if index is not None else _by_code(remote)
        self.future = {d: _by_code(recs) for d, recs in remote_as_of.items()}
        self.links = links
        self.options = options
        self.today = today
        self.month_start = today.replace(day=1)
        self.create_fields = tuple(f for f in API_FIELDS if f in self.rules.on_create())
        self.update_fields = tuple(f for f in API_FIELDS if f in self.rules.on_update())
        self.create_all = self.create_fields == API_FIELDS  # every field on: the body is ``desired`` as is
        # the desired values of the fields an update may send, picked from ``desired_values``; when
        # that is every field but ``code``, all of them are compared (the record found under the
        # employee's code has that code: no pick needed, and a mismatch only means ``_compare`` decides)
        self.compared = API_FIELDS if self.update_fields == API_FIELDS[1:] else self.update_fields
        self.pick_update = _picker([_AT[f] for f in self.compared]) if self.compared != API_FIELDS else None
        self.business_name = self.rules.business_name
        # resolved once per distinct 部署 (code, name) / 社員区分 when no 個別設定 decides
        self.divisions: dict[tuple[str, str], tuple[str | None, str]] = {}
        self.types: dict[str, tuple[str | None, str]] = {}
        self.queue: list[dict[str, Any]] = []
        self.problems: list[Problem] = []
        self.pending = pending
        self.pending_codes = {code for code, _ in pending}
        # --employees with --effective-date: a named employee with a kept change is compared although
        # unchanged since the last sync, the date given may differ from the one booked (``_still_booked``)
        self.recheck = (self.pending_codes & options.selection
                        if options.effective_date is not None and options.selection is not None else None)
        self.option_dates = dict.fromkeys(DATED_FIELDS, options.effective_date)  # shared: never mutated
        self.pending_save: list[PendingChange] = []
        self.pending_drop: list[tuple[str, str]] = []
        self.check_days: set[dt.date] = set()

    ledger: list[Employee] = []
    new_people: set[str] = set()  # 個別設定's 旧従業員番号 「なし」: HR said another person
    _zero_index: dict[str, str] = {}
    _twins: dict[str, tuple[str, ...]] = {}
    _twin_codes: set[str] | None = None

    def _twinned(self, code: str) -> bool:
        """Whether ``code`` equals another code up to leading zeros in a way the sync must not
        create (``etl.sync.twins``). Built on the first create: a sync without creates never pays
        for it, and the first sync pays one pass, not a lookup of each kind per employee."""
        if self._twin_codes is None:
            codes = [e.code for e in self.ledger]
            self._twins = twins.ledger_twins(codes, self.new_people)
            self._zero_index = twins.attendance_index(set(codes) if self.remote else set(), self.remote)
            self._twin_codes = set(self._twins)
            if self._zero_index:
                self._twin_codes.update(c for c in codes if self._remote_twin(c) is not None)
        return code in self._twin_codes

    def _ledger_twins(self, code: str) -> tuple[str, ...]:
        """The other ledger codes equal to ``code`` up to leading zeros that HR has not declared
        other people (after ``_twinned``)."""
        return self._twins.get(code, ())

    def _remote_twin(self, code: str) -> str | None:
        """An attendance code equal to ``code`` up to leading zeros that no ledger employee has
        (after ``_twinned``)."""
        return twins.attendance_twin(self._zero_index, code, self.new_people)

    def drop_live_pending(self) -> None:
        """A pending change whose date has come and that the attendance side shows is done."""
        for (code, name), p in self.pending.items():
            rec = self.remote.get(code)
            if p.effective_date <= self.today and rec is not None and rec.get(name) == p.value:
                self.pending_drop.append((code, name))

    def one(self, emp: Employee) -> Action:
        code, opts = emp.code, self.options
        name = f"{emp.last_name} {emp.first_name}".strip()
        if opts.selection is not None and code not in opts.selection:
            return Action(code, name, "skip", "対象外 (指定された従業員ではありません)")
        row = self.override_rows.get(code)  # 個別設定 (its values read as ``override_values`` does)
        if row is not None and row.exclude:
            return Action(code, name, "skip", "連携除外 (個別設定)")
        if not (3 <= len(code) <= 10 and code.isascii() and code.isalnum()):
            p = Problem.of("employee-code-invalid", employee_code=code, value=code)
            return Action(code, name, "error", p.message, problem=p)
        if self.hired_only and emp.hired_date is None:
            return Action(code, name, "skip", "入社年月日が未登録 (入社年月日登録者のみ連携)")
        rec = self.remote.get(code)
        if rec is None:
            if opts.mode == "update":
                return Action(code, name, "skip", "対象外 (--mode update: 勤怠に未登録)")
            if emp.resignation_date is not None and emp.resignation_date < self.month_start:
                return Action(code, name, "skip",
                              f"{emp.resignation_date.isoformat()} に退職済みで勤怠に未登録のため登録しません")
            key = ""
        else:
            if opts.mode == "new":
                return Action(code, name, "skip", "対象外 (--mode new: 勤怠に登録済み)")
            key = rec.get("key") or ""
            if type(key) is not str:
                key = str(key)
        fingerprint = ""
        link = self.links.get(code)
        if not opts.full and link is not None and key and link.key == key and link.fingerprint:
            fingerprint = sync_fingerprint(emp, self.context, _override_of(row))
            if link.fingerprint == fingerprint and (self.recheck is None or code not in self.recheck):
                return Action(code, name, "unchanged", "前回の連携から変更なし", key)  # positional: the hot path
        division: str | None
        type_code: str | None
        if row is not None and row.division_code:
            division, division_from = row.division_code, FROM_OVERRIDE
        else:  # resolved once per distinct (部署コード, 部署名)
            dept = (emp.department_code, emp.department_name)
            found = self.divisions.get(dept)
            if found is None:
                found = self.divisions[dept] = self.resolver.division(emp)
            division, division_from = found
        if division is None:
            p = Problem.of("employee-division-unresolved", employee_code=code,
                           value=emp.department_code or "(空欄)",
                           hint=unresolved_hint("division", emp.department_code))
            return Action(code, name, "error", p.message, problem=p)
        if row is not None and row.type_code:
            type_code, type_from = row.type_code, FROM_OVERRIDE
        else:  # resolved once per distinct 社員区分
            found = self.types.get(emp.employee_class)
            if found is None:
                found = self.types[emp.employee_class] = self.resolver.employment_type(emp)
            type_code, type_from = found
        if type_code is None:
            p = Problem.of("employee-type-unresolved", employee_code=code,
                           value=emp.employee_class or "(空欄)",
                           hint=unresolved_hint("type", emp.employee_class))
            return Action(code, name, "error", p.message, problem=p)
        withheld = withheld_kana(emp, True) if self.business_name else ()
        if withheld:
            self._warn_withheld(emp, withheld, self.create_fields if rec is None else self.update_fields)
        defaults = None
        if division_from == FROM_DEFAULT_DIVISION or type_from == FROM_DEFAULT_TYPE:
            defaults = [label for label, used in (("所属", division_from == FROM_DEFAULT_DIVISION),
                                                   ("雇用区分", type_from == FROM_DEFAULT_TYPE)) if used]
        if rec is None:
            action = self._create(emp, name, desired_fields(emp, division, type_code, self.rules.business_name),
                                  row)
            return action if defaults is None else self._noted(action, defaults)
        values = desired_values(emp, division, type_code, self.business_name)
        if code in self.pending_codes:
            dates = self._dates(code, values, row)
            effective = dates.get("divisionCode") or dates.get("typeCode") or self.today
        else:  # both dated fields take the 個別設定's or --effective-date's date (``_dates``)
            dates = None
            effective = (row is not None and row.effective_date) or opts.effective_date or self.today
        view = rec
        if effective > self.today:
            view = self.future.get(effective, {}).get(code, rec)
        if (values if self.pick_update is None else self.pick_update(values)) == tuple(map(view.get, self.compared)):
            # every field equal as it stands (the common case): what ``_compare`` would find, without
            # building the desired dict
            stale = (link is None or link.key != key or not link.fingerprint
                     or (fingerprint != "" and link.fingerprint != fingerprint))
            # positional (keywords cost ~0.5 µs here): key, body, changes, effective_date, link, problem,
            # source, context, row, fp
            return Action(code, name, "unchanged", "差分なし", key, None, None, None, stale, None, emp, self.context,
                          row, fingerprint)
        if dates is None:
            dates = self._dates(code, values, row)
        action = self._compare(emp, name, key, desired_dict(values), view, dates, row, fingerprint, link,
                               withheld)
        return action if defaults is None else self._noted(action, defaults)

    def _dates(self, code: str, values: tuple, row: Any) -> dict[str, dt.date | None]:
        """Dated field → its 異動日 when it is sent: 個別設定, --effective-date, the pending change
        for that value, else None (today). A pending change for another value is dropped (warning)."""
        override_date = row.effective_date if row is not None and row.effective_date else None
        fixed = override_date or self.options.effective_date
        if code not in self.pending_codes:
            return self.option_dates if fixed is self.options.effective_date else dict.fromkeys(DATED_FIELDS, fixed)
        out: dict[str, dt.date | None] = dict.fromkeys(DATED_FIELDS, fixed)
        for f in DATED_FIELDS:
            p = self.pending.get((code, f))
            if p is None:
                continue
            new = values[_AT[f]]
            if fixed is not None:
                if override_date:
                    self.pending_drop.append((code, f))  # the 個別設定's 異動日 decides from now on
                # booked for another day than the one this employee's own 個別設定 or --employees
                # --effective-date now gives (a date for a whole run is not one for this change)
                if fixed != p.effective_date and (override_date or self.recheck is not None and code in self.recheck):
                    self._still_booked(code, f, p, new, fixed)
            elif new == p.value:
                out[f] = p.effective_date
            else:
                self.pending_drop.append((code, f))
                if not self._still_booked(code, f, p, new, None):
                    self.problems.append(Problem.of(
                        "pending-change-superseded", employee_code=code, value=p.value, field=LABELS[f],
                        date=p.effective_date.isoformat()))
        return out

    def _still_booked(self, code: str, f: str, p: PendingChange, new: Any, day: dt.date | None) -> bool:
        """A kept change for a future day that the plan no longer sends for that day: when 勤怠 as
        of that day shows it (booked by an earlier run), say that it stays booked (the sync cannot
        take a booking back). Unknown yet: the day is read and the plan made again."""
        booked_on = p.effective_date
        if booked_on <= self.today:
            return False
        view = self.future.get(booked_on)
        if view is None:
            self.check_days.add(booked_on)
            return False
        rec = view.get(code)
        if rec is None or rec.get(f) != p.value:
            return False
        when = f" (異動日 {day.isoformat()} から) " if day is not None else ""
        self.problems.append(Problem.of(
            "pending-change-still-booked", employee_code=code, value=p.value, field=LABELS[f],
            date=booked_on.isoformat(), new=new if new else "(空)", when=when))
        return True

    def _warn_withheld(self, emp: Employee, withheld: tuple[str, ...], sent: tuple[str, ...]) -> None:
        for f in withheld:
            if f in sent:
                self.problems.append(Problem.of("business-kana-missing", employee_code=emp.code,
                                                value=BUSINESS_KANA[f][2], field=LABELS[f]))

    @staticmethod
    def _noted(action: Action, defaults: list[str]) -> Action:
        """Say in the row when a default decided a 所属 / 雇用区分 that is sent."""
        sent = action.body or {}
        notes = [label for label, f in (("所属", "divisionCode"), ("雇用区分", "typeCode"))
                 if label in defaults and f in sent]
        if notes and action.writes:
            action.reason += f" ({'・'.join(notes)}は既定値で決定)"
        return action

    def _create(self, emp: Employee, name: str, desired: dict, row: Any) -> Action:
        for f in REQUIRED_ON_CREATE:
            if f not in desired:
                p = Problem.of("employee-required-missing", employee_code=emp.code, value=LABELS[f])
                return Action(emp.code, name, "error", p.message, problem=p)
        if self._twinned(emp.code):
            twin = self._remote_twin(emp.code)
            if twin is not None:  # 00123 in the ledger, 123 typed on the attendance side: not a second person
                p = Problem.of("sync-code-leading-zeros", employee_code=emp.code, value=emp.code, existing=twin)
                return Action(emp.code, name, "error", p.message, problem=p)
            # 123 and 00123 both in the ledger, undeclared: neither is registered (etl.sync.twins)
            p = twins.twin_problem(emp.code, self._ledger_twins(emp.code))
            return Action(emp.code, name, "error", p.message, problem=p)
        body = desired if self.create_all else {f: desired[f] for f in self.create_fields if f in desired}
        if emp.resignation_date is not None:
            self._queue_resignation(emp, name, body, None)
        # positional (the first sync's hot path): key, body, changes, effective_date, link, problem, source,
        # context, row
        return Action(emp.code, name, "create", "新規登録", "", body, None, None, False, None, emp, self.context, row)

    def _compare(self, emp, name, key, desired, view, dates, row, fingerprint, link, withheld) -> Action:
        body: dict[str, Any] = {}
        changes: dict[str, list[Any]] = {}
        cleared: list[str] | None = None
        kept: list[str] | None = None
        first_contact = link is None or link.key != key or not link.fingerprint
        remote_get = view.get
        for f in self.update_fields:
            new = desired.get(f)
            old = remote_get(f)
            if new == old:  # the common case, without normalising
                continue
            old = remote_value(view, f)
            if new is None:
                if old is None or f in withheld:
                    continue
                if f in CLEARABLE and first_contact:  # never synced by us: the ledger never held it
                    kept = (kept or []) + [f]
                elif f in CLEARABLE:  # emptied in the ledger: "" clears it on the attendance side
                    body[f] = ""
                    changes[f] = [old, ""]
                elif f in REQUIRED_ON_UPDATE:
                    cleared = (cleared or []) + [f]
                continue
            if new != old:
                body[f] = new
                changes[f] = [old, new]
        if kept:  # said, not silently skipped: HR decides whether the attendance side's value stays
            self.problems.append(Problem.of("attendance-only-value", employee_code=emp.code,
                                            value="、".join(LABELS[f] for f in kept)))
        if cleared:
            p = Problem.of("employee-required-cleared", employee_code=emp.code,
                           value="、".join(LABELS[f] for f in cleared))
            return Action(emp.code, name, "error", p.message, key=key, problem=p)
        if not body:
            return Action(emp.code, name, "unchanged", "差分なし", key=key, link=_stale(link, key, fingerprint),
                          source=emp, context=self.context, row=row, fp=fingerprint)
        sent_dates = {dates[f] or self.today for f in DATED_FIELDS if f in body}
        if len(sent_dates) > 1:
            shown = "、".join(f"{LABELS[f]} {(dates[f] or self.today).isoformat()}" for f in DATED_FIELDS if f in body)
            p = Problem.of("pending-dates-differ", employee_code=emp.code, value=shown)
            return Action(emp.code, name, "error", p.message, key=key, problem=p)
        dated = bool(sent_dates)
        effective = sent_dates.pop() if dated else self.today
        from_option = self.options.effective_date is not None and not (row is not None and row.effective_date)
        if dated and from_option:  # kept in the ledger: later runs send it with this date or not at all
            stamp = self.today.isoformat()
            self.pending_save.extend(PendingChange(emp.code, f, body[f], effective, stamp)
                                     for f in DATED_FIELDS if f in body)
        if dated and effective > self.today:
            for f in DATED_FIELDS:
                if f in body:
                    self.queue.append(_queue_entry(emp.code, name, f, changes[f], effective))
        self._queue_resignation(emp, name, body, changes.get("resignationDate"))
        labels = "、".join(LABELS[f] for f in body)
        if body.get("resignationDate"):
            kind, reason = "retire", f"退職 (退職年月日 {body['resignationDate']})"
            if len(body) > 1:
                reason += f": {labels}"
        else:
            kind, reason = "update", f"更新: {labels}"
        if dated and effective < self.today:
            # sent as HR entered it: closed periods on the attendance side may change
            reason += f" (異動日 {effective.isoformat()}: 過去の日付)"
            if not (row is not None and row.effective_date):  # a 個別設定 date: the validator warns at its cell
                self.problems.append(Problem.of("effective-date-past", employee_code=emp.code,
                                                value=effective.isoformat()))
        elif dated:
            reason += f" (異動日 {effective.isoformat()})"
        return Action(emp.code, name, kind, reason, key=key, body=body, changes=changes,
                      effective_date=effective if dated else None, source=emp, context=self.context, row=row,
                      fp=fingerprint)

    def _queue_resignation(self, emp, name, body, change) -> None:
        date = emp.resignation_date
        if "resignationDate" in body and date is not None and date > self.today:
            old = change[0] if change else None
            self.queue.append(_queue_entry(emp.code, name, "resignationDate",
                                           [old, body["resignationDate"]], date))


def _by_code(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["code"]): r for r in records if r.get("code")}


def _stale(link: Any, key: str, fingerprint: str) -> bool:
    """An unchanged employee's link is stored again: none yet, another key, or an old fingerprint.
    With --full the fingerprint is not computed for a current link (the 50,000-row budget); a
    changed one is then refreshed by the next incremental run."""
    return bool(link is None or link.key != key or not link.fingerprint
                or (fingerprint and link.fingerprint != fingerprint))


def _picker(places: list[int]) -> Callable[[tuple], tuple]:
    """values → the tuple of ``values[i]`` for i in ``places`` (itemgetter returns a bare value for one)."""
    if len(places) >= 2:
        return operator.itemgetter(*places)
    return lambda values: tuple(values[i] for i in places)


def _queue_entry(code: str, name: str, api_field: str, change: list[Any], date: dt.date) -> dict:
    return {"employee_code": code, "name": name, "field": api_field, "old": change[0],
            "new": change[1], "effective_date": date.isoformat()}

"""Ledger + workbook + current attendance employees → a Plan of one action per employee (pure).

Action kinds: create · update (only enabled fields that differ, old → new) · retire (the ledger
has 退職年月日 and the attendance side lacks or differs; sent as PUT resignationDate, never a
DELETE) · unchanged · skip · error.

Incremental propagation: without ``full``, an employee whose sync fingerprint equals the one
stored with its link at the last successful sync (and whose key is still on the attendance side)
is "unchanged" without being compared. Everything else — changed, never synced, failed last
time — is compared field by field.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.bulk import gc_paused
from etl.errors import Problem
from etl.records import Employee, Masters
from etl.sync.fields import (
    API_FIELDS,
    DATED_FIELDS,
    LABELS,
    REQUIRED_ON_CREATE,
    FieldRules,
    context_digest,
    desired_fields,
    remote_value,
    sync_fingerprint,
)
from etl.workbook.model import MappingBook
from etl.workbook.resolve import Resolver

MODES = ("all", "new", "update")
WRITE_KINDS = ("create", "update", "retire")


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
    # (employee, context, override): the fingerprint is computed only when it is needed
    source: tuple | None = field(default=None, repr=False, compare=False)
    fp: str = field(default="", repr=False)

    @property
    def fingerprint(self) -> str:
        """The sync fingerprint stored with the link after success."""
        if not self.fp and self.source is not None:
            self.fp = sync_fingerprint(*self.source)
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
    return {code: (o.division_code, o.type_code, o.effective_date, o.exclude)
            for code, o in (book.override_map() if overrides is None else overrides).items()}


def plan_context(book: MappingBook, masters: Masters, rules: FieldRules, resolver: Resolver) -> str:
    """Digest of the workbook and masters: when it changes, everyone is compared once more."""
    return context_digest(
        sorted(rules.enabled), sorted(rules.required), rules.business_name,
        book.settings.hired_only, resolver.default_division, resolver.default_type,
        sorted(resolver.division_map.items()), sorted(resolver.type_map.items()),
        sorted(masters.divisions), sorted(masters.working_types))


def plan_sync(employees: list[Employee], book: MappingBook, masters: Masters,
              remote: list[dict[str, Any]], links: Mapping[str, Any], options: SyncOptions,
              today: dt.date, *, remote_as_of: Mapping[dt.date, list[dict[str, Any]]] | None = None
              ) -> Plan:
    """One action per ledger employee (plus an error per selected code the ledger lacks).

    ``remote`` is GET /employees?includeResigner=true as of today; ``remote_as_of`` optionally
    holds the same list as of future 異動日, against which employees with that date are compared
    (so a transfer already scheduled on the attendance side is not sent again).
    """
    planner = _Planner(book, masters, remote, links, options, today, remote_as_of or {})
    with gc_paused():  # tens of thousands of small dicts: the cyclic GC would re-scan them all
        actions = [planner.one(emp) for emp in employees]
    if options.selection is not None:
        known = {e.code for e in employees}
        for code in sorted(options.selection - known):
            p = Problem.of("selection-unknown-employee", employee_code=code, value=code)
            actions.append(Action(code, "", "error", p.message, problem=p))
    return Plan(actions=actions, today=today, queue=planner.queue)


class _Planner:
    """Per-book lookups computed once; ``one`` is then cheap per employee."""

    def __init__(self, book, masters, remote, links, options, today, remote_as_of):
        self.rules = FieldRules.from_book(book)
        self.resolver = Resolver(book, masters)
        self.overrides = override_values(book, self.resolver.overrides)
        self.context = plan_context(book, masters, self.rules, self.resolver)
        self.hired_only = book.settings.hired_only
        self.remote = {str(r["code"]): r for r in remote if r.get("code")}
        self.future = {d: {str(r["code"]): r for r in recs if r.get("code")}
                       for d, recs in remote_as_of.items()}
        self.links = links
        self.options = options
        self.today = today
        self.month_start = today.replace(day=1)
        self.create_fields = tuple(f for f in API_FIELDS if f in self.rules.on_create())
        self.update_fields = tuple(f for f in API_FIELDS if f in self.rules.on_update())
        self.create_all = self.create_fields == API_FIELDS  # every field on: the body is ``desired`` as is
        self.queue: list[dict[str, Any]] = []

    def one(self, emp: Employee) -> Action:
        code, opts = emp.code, self.options
        name = f"{emp.last_name} {emp.first_name}".strip()
        if opts.selection is not None and code not in opts.selection:
            return Action(code, name, "skip", "対象外 (指定された従業員ではありません)")
        override = self.overrides.get(code)
        if override is not None and override[3]:
            return Action(code, name, "skip", "連携除外 (個別設定)")
        if not (3 <= len(code) <= 10 and code.isascii() and code.isalnum()):
            p = Problem.of("employee-code-invalid", employee_code=code, value=code)
            return Action(code, name, "error", p.message, problem=p)
        if self.hired_only and emp.hired_date is None:
            return Action(code, name, "skip", "入社年月日が未登録 (入社年月日登録者のみ連携)")
        rec = self.remote.get(code)
        if rec is None and opts.mode == "update":
            return Action(code, name, "skip", "対象外 (--mode update: 勤怠に未登録)")
        if rec is not None and opts.mode == "new":
            return Action(code, name, "skip", "対象外 (--mode new: 勤怠に登録済み)")
        if rec is None and emp.resignation_date is not None and emp.resignation_date < self.month_start:
            return Action(code, name, "skip",
                          f"{emp.resignation_date:%Y-%m-%d} に退職済みで勤怠に未登録のため登録しません")
        source = (emp, self.context, override)
        fingerprint = ""
        link = self.links.get(code)
        key = str(rec.get("key") or "") if rec is not None else ""
        if not opts.full and link is not None and key and link.key == key and link.fingerprint:
            fingerprint = sync_fingerprint(*source)
            if link.fingerprint == fingerprint:
                return Action(code, name, "unchanged", "前回の連携から変更なし", key=key)
        division, _ = self.resolver.division(emp)
        if division is None:
            p = Problem.of("employee-division-unresolved", employee_code=code,
                           value=emp.department_code or "(空欄)")
            return Action(code, name, "error", p.message, problem=p)
        type_code, _ = self.resolver.employment_type(emp)
        if type_code is None:
            p = Problem.of("employee-type-unresolved", employee_code=code,
                           value=emp.employee_class or "(空欄)")
            return Action(code, name, "error", p.message, problem=p)
        desired = desired_fields(emp, division, type_code, self.rules.business_name)
        if rec is None:
            return self._create(emp, name, desired, source)
        effective = (override[2] if override is not None and override[2] else None) \
            or opts.effective_date or self.today
        view = rec
        if effective > self.today:
            view = self.future.get(effective, {}).get(code, rec)
        return self._compare(emp, name, key, desired, view, effective, source, fingerprint, link)

    def _create(self, emp: Employee, name: str, desired: dict, source: tuple) -> Action:
        for f in REQUIRED_ON_CREATE:
            if f not in desired:
                p = Problem.of("employee-required-missing", employee_code=emp.code, value=LABELS[f])
                return Action(emp.code, name, "error", p.message, problem=p)
        body = desired if self.create_all else {f: desired[f] for f in self.create_fields if f in desired}
        self._queue_resignation(emp, name, body, None)
        return Action(emp.code, name, "create", "新規登録", body=body, source=source)

    def _compare(self, emp, name, key, desired, view, effective, source, fingerprint, link) -> Action:
        body: dict[str, Any] = {}
        changes: dict[str, list[Any]] = {}
        remote_get = view.get
        for f in self.update_fields:
            new = desired.get(f)
            old = remote_get(f)
            if new == old:  # the common case, without normalising
                continue
            old = remote_value(view, f)
            if new is None:
                # a blank ledger value is not sent, except a withdrawn 退職年月日 (reinstatement)
                if f == "resignationDate" and old is not None:
                    body[f] = ""
                    changes[f] = [old, ""]
                continue
            if new != old:
                body[f] = new
                changes[f] = [old, new]
        if not body:
            # with --full the fingerprint is not computed for a current link (the 50,000-row
            # budget); a changed one is then refreshed by the next incremental run
            stale = (link is None or link.key != key or not link.fingerprint
                     or (fingerprint and link.fingerprint != fingerprint))
            return Action(emp.code, name, "unchanged", "差分なし", key=key, link=stale,
                          source=source, fp=fingerprint)
        dated = any(f in body for f in DATED_FIELDS)
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
        if dated and effective < self.month_start:
            # the attendance side refuses an updateDate before this month: the earliest it takes
            reason += f" (異動日 {effective:%Y-%m-%d} は当月より前のため {self.month_start:%Y-%m-%d} で送信)"
            effective = self.month_start
        elif dated:
            reason += f" (異動日 {effective:%Y-%m-%d})"
        return Action(emp.code, name, kind, reason, key=key, body=body, changes=changes,
                      effective_date=effective if dated else None, source=source, fp=fingerprint)

    def _queue_resignation(self, emp, name, body, change) -> None:
        date = emp.resignation_date
        if "resignationDate" in body and date is not None and date > self.today:
            old = change[0] if change else None
            self.queue.append(_queue_entry(emp.code, name, "resignationDate",
                                           [old, body["resignationDate"]], date))


def _queue_entry(code: str, name: str, api_field: str, change: list[Any], date: dt.date) -> dict:
    return {"employee_code": code, "name": name, "field": api_field, "old": change[0],
            "new": change[1], "effective_date": date.isoformat()}

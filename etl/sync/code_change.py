"""Code changes: one person whose 従業員番号 changed in the ledger (pure).

The attendance side keeps an employee's key when its ``code`` changes (PUT ``code`` by key), so a
renumbered person must not become a second attendance employee. Two cases:

* **confirmed** — 個別設定's 旧従業員番号 names the code the same person had before. While the
  attendance side still has the old code (and not the new one), the sync sees that record under
  the new code (``view``) and sends the new code with the other changes (``settle``), keeping
  the employee's key and history.
* **probable** — without 旧従業員番号, a ledger code new to the attendance side whose name, birth
  date and hire date equal those of an attendance employee whose code the ledger no longer has.
  The sync sends nothing for it (a skip with a warning) until HR confirms: 旧従業員番号 = the old
  code (the same person) or 「なし」 (another person: register the new code).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.errors import Problem
from etl.records import Employee, PendingChange
from etl.workbook.model import NEW_PERSON_WORDS, MappingBook


@dataclass(frozen=True)
class CodeChange:
    old: str  # the code the attendance side has
    new: str  # the ledger's code
    key: str  # 従業員識別キー of the attendance employee
    name: str  # for the report
    confirmed: bool  # through 旧従業員番号


@dataclass
class CodeChanges:
    confirmed: dict[str, CodeChange] = field(default_factory=dict)  # new code → change
    probable: dict[str, CodeChange] = field(default_factory=dict)  # new code → change (unconfirmed)
    problems: list[Problem] = field(default_factory=list)  # warnings for validate and the dry run
    # the attendance records by code as ``detect`` indexed them (the plan reuses it: 50,000 rows)
    by_code: dict[Any, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def old_codes(self) -> set[str]:
        return {c.old for c in self.confirmed.values()} | {c.old for c in self.probable.values()}

    def view(self, remote: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``remote`` with each confirmed change's record shown under its new code."""
        if not self.confirmed:
            return remote
        renamed = {c.old: c.new for c in self.confirmed.values()}
        return [r | {"code": renamed[str(r.get("code"))]} if str(r.get("code")) in renamed else r
                for r in remote]

    def remote_index(self) -> dict[str, dict[str, Any]] | None:
        """``{code: record}`` of what ``view`` returns, when ``detect`` built it already: no
        confirmed change renames a record, and every code is a string (JSON answers)."""
        if self.confirmed or not set(map(type, self.by_code)) <= {str}:
            return None
        return self.by_code

    def carry(self, pending: Mapping[tuple[str, str], PendingChange]
              ) -> tuple[dict[tuple[str, str], PendingChange], list[PendingChange], list[tuple[str, str]]]:
        """The ledger's pending dated changes (--effective-date) kept under a confirmed change's old
        code, under its new code: the plan sends them with their date, not today's. Returns that
        view of ``pending``, and what the ledger stores and drops to keep them under the new code
        (a change the new code has already for the same field wins; the old one is dropped)."""
        moved = {c.old: c.new for c in self.confirmed.values()}
        if not moved or not any(code in moved for code, _ in pending):
            return dict(pending), [], []
        out = {k: p for k, p in pending.items() if k[0] not in moved}
        save: list[PendingChange] = []
        drop: list[tuple[str, str]] = []
        for (code, name), p in pending.items():
            if code not in moved:
                continue
            drop.append((code, name))
            if (moved[code], name) not in out:
                out[(moved[code], name)] = carried = dataclasses.replace(p, employee_code=moved[code])
                save.append(carried)
        return out, save, drop

    def settle(self, actions: Iterable[Any]) -> None:
        """Put the confirmed code changes into the plan's actions; hold back the probable ones."""
        if not self.confirmed and not self.probable:
            return
        for a in actions:
            change = self.confirmed.get(a.code)
            if change is not None and a.kind in ("update", "retire", "unchanged"):
                what = f"従業員番号の変更 {change.old} → {a.code} (個別設定の旧従業員番号)"
                a.body = {"code": a.code} | (a.body or {})
                a.changes = {"code": [change.old, a.code]} | (a.changes or {})
                a.reason = what if a.kind == "unchanged" else f"{what}、{a.reason}"
                a.kind = "update" if a.kind == "unchanged" else a.kind
                a.key = change.key
                a.link = False
                continue
            change = self.probable.get(a.code)
            if change is not None and a.kind == "create":
                a.kind, a.body, a.changes = "skip", None, None
                a.reason = (f"従業員番号の変更の可能性 (勤怠の従業員 {change.old} と同じ人とみられます): "
                            "個別設定の旧従業員番号で確認されるまで、どちらの番号も連携しません")
                a.problem = next((p for p in self.problems if p.employee_code == a.code), probable_problem(change))


def plan_warnings(actions: Iterable[Any]) -> list[Problem]:
    """The warnings ``settle`` attached to the actions it held back (for the dry run's report)."""
    return [a.problem for a in actions if a.kind == "skip" and a.problem is not None]


def probable_problem(change: CodeChange) -> Problem:
    return Problem.of("probable-code-change", employee_code=change.new, value=change.old, name=change.name)


def detect(employees: list[Employee], book: MappingBook, remote: list[dict[str, Any]],
           links: Mapping[str, Any] | None = None, today: dt.date | None = None,
           business_name: bool | None = None) -> CodeChanges:
    """The confirmed and probable code changes between the ledger and the attendance side.

    Probable: the key this ledger code was last synced to (``links``) now has another code that the
    ledger lacks (changed in 勤怠's own screens), or else the same name, birth and hire date."""
    by_code = {c: r for r in remote if (c := r.get("code"))}  # codes are JSON strings
    out = CodeChanges(by_code=by_code)
    # ledger codes the attendance side lacks and the sync would create (not a leaver of an earlier month)
    missing = ([e for e in employees if e.code not in by_code]
               if not set(map(_code, employees)) <= by_code.keys() else [])  # the set test runs in C
    if missing:
        excluded = {o.employee_code for o in book.overrides if o.exclude}  # 連携除外: never sent anyway
        start = today.replace(day=1) if today is not None else None
        missing = [e for e in missing if e.code not in excluded
                   and (start is None or e.resignation_date is None or e.resignation_date >= start)]
    renumbered = [o for o in book.overrides if o.previous_code and o.employee_code]
    if not missing and not renumbered:  # the nightly common case: nothing to look at
        return out
    ledger = {e.code: e for e in employees} if renumbered else {e.code: e for e in missing}
    ledger_codes = ledger.keys() if renumbered else {e.code for e in employees}
    new_person: set[str] = set()
    claimed: set[str] = set()  # old codes named by 旧従業員番号
    for o in renumbered:
        old, new = o.previous_code, o.employee_code
        if old in NEW_PERSON_WORDS:
            new_person.add(new)
            continue
        claimed.add(old)
        if old == new or old in ledger_codes or new not in ledger_codes:
            continue  # validator errors (previous-code-*, override-unknown-employee)
        cell = o.pos.cell("previous_code")
        before, after = by_code.get(old), by_code.get(new)
        if before is None:
            if after is None:
                out.problems.append(Problem.of("previous-code-not-in-attendance", sheet=o.pos.sheet, cell=cell,
                                               employee_code=new, value=old))
            continue  # already changed (the new code is there), or nothing to change: a create
        if after is not None:
            out.problems.append(Problem.of("previous-code-both-in-attendance", sheet=o.pos.sheet, cell=cell,
                                           employee_code=new, value=old))
            continue
        out.confirmed[new] = CodeChange(old, new, str(before.get("key") or ""), _name(ledger[new]), True)

    taken: set[str] = set()
    if not missing:
        return out
    linked = [e for e in missing if e.code in links] if links else []
    if linked:
        assert links is not None
        by_key = {k: r for r in remote if (k := r.get("key"))}
        for e in linked:
            link = links.get(e.code)
            r = by_key.get(link.key) if link is not None else None
            if r is None or e.code in out.confirmed or e.code in new_person:
                continue
            old = str(r.get("code") or "")
            if old and old not in ledger_codes and old not in claimed and old not in taken:
                taken.add(old)
                change = CodeChange(old, e.code, str(r.get("key") or ""), _name(e), False)
                out.probable[e.code] = change
                out.problems.append(Problem.of("code-changed-in-attendance", employee_code=e.code, value=old))
    if not any(e.birth_date and e.hired_date for e in missing):  # nothing to match on
        return out
    gone: dict[tuple, list[dict[str, Any]]] = {}
    for code, r in by_code.items():
        if code not in ledger_codes and code not in claimed and code not in taken:
            for key in _remote_keys(r):
                gone.setdefault(key, []).append(r)
    if not gone:
        return out
    use_business = book.settings.business_name_as_name if business_name is None else business_name
    for e in missing:
        if e.code in out.confirmed or e.code in out.probable or e.code in new_person:
            continue
        match = next((r for k in _ledger_keys(e, use_business) for r in gone.get(k, ())
                      if str(r["code"]) not in taken), None)
        if match is None:
            continue
        taken.add(str(match["code"]))
        change = CodeChange(str(match["code"]), e.code, str(match.get("key") or ""), _name(e), False)
        out.probable[e.code] = change
        out.problems.append(probable_problem(change))
    if out.probable:  # a 旧従業員番号 勤怠 lacks, yet a probable match: held back, not "新規登録します"
        out.problems = [p for p in out.problems
                        if not (p.code == "previous-code-not-in-attendance" and p.employee_code in out.probable)]
    return out


_code = operator.attrgetter("code")


def _name(e: Employee) -> str:
    return f"{e.last_name} {e.first_name}".strip()


def _norm(text: Any) -> str:
    return "".join(str(text or "").split())


def _remote_keys(r: Mapping[str, Any]) -> list[tuple]:
    birth, hired = str(r.get("birthDate") or "")[:10], str(r.get("hiredDate") or "")[:10]
    if not birth or not hired:
        return []
    return [(_norm(r.get("lastName")) + _norm(r.get("firstName")), birth, hired)]


def _ledger_keys(e: Employee, business_name: bool) -> list[tuple]:
    if e.birth_date is None or e.hired_date is None:
        return []
    dates = (_iso(e.birth_date), _iso(e.hired_date))
    names = [_norm(e.last_name) + _norm(e.first_name)]
    if business_name and (e.business_last_name or e.business_first_name):
        names.append(_norm(e.business_last_name or e.last_name) + _norm(e.business_first_name or e.first_name))
    return [(n, *dates) for n in names if n]


def _iso(day: dt.date) -> str:
    return day.isoformat()

"""Attendance → ledger: employees the ledger lacks are added (and, on request, existing ones
refreshed), mapping division → department and type → class back through the workbook.

``plan_pull`` is pure; ``apply_pull`` writes the plan to the ledger in chunks of at most
``limit`` employees (no cap on the total), each chunk with the links (code ↔ key) of its
employees. A pulled employee's link carries no fingerprint, so the next sync compares it once.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.errors import Problem
from etl.ledger.normalize import normalize_code
from etl.ledger.rows import zero_key
from etl.records import EMPLOYEE_FIELDS, Employee, Link, Masters, RowResult
from etl.sync.code_change import CodeChange
from etl.sync.fields import employee_from_remote
from etl.workbook.model import MappingBook
from etl.workbook.resolve import Resolver

# ledger fields a refresh (--update-existing) may overwrite; a blank attendance value never does
REFRESHED = ("last_name", "first_name", "last_name_kana", "first_name_kana", "gender", "birth_date",
             "hired_date", "resignation_date", "email")


@dataclass
class PullItem:
    employee: Employee  # the ledger row to write
    key: str  # 従業員識別キー
    action: str  # create | update | unchanged | skip | held (not written: its code clashes, see plan_pull)
    changes: dict[str, list[Any]] = field(default_factory=dict)  # ledger field → [old, new]
    reason: str = ""  # a skip: why


@dataclass
class PullPlan:
    items: list[PullItem]
    links: list[Link]  # links to store (missing or pointing at another key)
    problems: list[Problem] = field(default_factory=list)

    def writes(self) -> list[PullItem]:
        return [i for i in self.items if i.action in ("create", "update")]


class _BackMapper:
    """division → department and type → class: the workbook's mapping rows reversed, else a ledger
    department / class with the same code, else with the same name (NFKC, trimmed; unique). An
    attendance code none of these reaches is never written into the ledger as if it were a ledger
    value: the field is left as it is (empty for a new employee) and a warning names it."""

    def __init__(self, book: MappingBook, departments: dict[str, str], classes: Iterable[str]):
        self.departments = departments
        self.classes = set(classes)
        self.division_to_department: dict[str, tuple[str, str]] = {}
        for m in book.divisions:
            if m.department_code and m.division_code:
                self.division_to_department.setdefault(
                    m.division_code, (m.department_code, m.department_name or departments.get(m.department_code, "")))
        self.type_to_class: dict[str, str] = {}
        for t in book.types:
            if t.employee_class and t.type_code:
                self.type_to_class.setdefault(t.type_code, t.employee_class)
        names = Counter(_key(n) for n in departments.values() if _key(n))
        self.department_by_name = {_key(n): c for c, n in departments.items() if _key(n) and names[_key(n)] == 1}
        self.class_by_key = {_key(c): c for c in self.classes}

    def department(self, record: dict, problems: list[Problem]) -> tuple[str, str] | None:
        """(department code, name), or None (warned) when the division has no way back."""
        division = str(record.get("divisionCode") or "")
        if not division:
            return "", ""
        if division in self.division_to_department:
            return self.division_to_department[division]
        if division in self.departments:
            return division, self.departments[division]
        name = str(record.get("divisionName") or "")
        code = self.department_by_name.get(_key(name)) if name else None
        if code is not None:
            return code, self.departments[code]
        problems.append(Problem.of("pull-unmapped-division", employee_code=str(record.get("code")),
                                   value=f"{division} {name}".strip()))
        return None

    def employee_class(self, record: dict, problems: list[Problem]) -> str | None:
        type_code = str(record.get("typeCode") or "")
        if not type_code:
            return ""
        if type_code in self.type_to_class:
            return self.type_to_class[type_code]
        name = str(record.get("typeName") or "")
        for candidate in (type_code, name):
            found = self.class_by_key.get(_key(candidate)) if candidate else None
            if found is not None:
                return found
        problems.append(Problem.of("pull-unmapped-type", employee_code=str(record.get("code")),
                                   value=f"{type_code} {name}".strip()))
        return None


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def plan_pull(remote: list[dict], employees: list[Employee], book: MappingBook, masters: Masters,
              links: dict[str, Link], departments: dict[str, str], classes: Iterable[str], *,
              update_existing: bool = False, renamed: Mapping[str, CodeChange] | None = None) -> PullPlan:
    """What pull-employees would write: one item per attendance employee the ledger lacks (and,
    with ``update_existing``, per existing one), plus the links to store. ``renamed``: attendance
    code → the code change (etl.sync.code_change) that makes it a ledger employee under another
    code; such a record is held back (a skip, no link): the same person is not added twice."""
    renamed = renamed or {}
    mapper = _BackMapper(book, departments, classes)
    resolver = Resolver(book, masters)
    ledger = {e.code: e for e in employees}
    by_zero_key: dict[str, str] = {}
    for e in employees:
        by_zero_key.setdefault(zero_key(e.code), e.code)
    items: list[PullItem] = []
    new_links: list[Link] = []
    problems: list[Problem] = []
    for record in sorted(remote, key=lambda r: str(r.get("code") or "")):
        code = normalize_code(record.get("code"))
        key = str(record.get("key") or "")
        if not code or not key:
            continue
        record = {**record, "code": code}
        change = renamed.get(code)
        if change is not None and code not in ledger:
            items.append(PullItem(employee_from_remote(record, "", "", ""), key, "skip", reason=_held(change)))
            continue
        twin = by_zero_key.get(zero_key(code)) if code not in ledger else None
        if twin is not None:  # 123 on the attendance side, 00123 in the ledger: never one person twice
            problems.append(Problem.of("pull-code-leading-zeros", employee_code=code, value=code, existing=twin))
            items.append(PullItem(employee_from_remote(record, "", "", ""), key, "held"))
            continue
        link = links.get(code)
        if link is None or link.key != key:
            new_links.append(Link(code, key, "", ""))
        current = ledger.get(code)
        if current is None:
            department, name = mapper.department(record, problems) or ("", "")
            emp = employee_from_remote(record, department, name, mapper.employee_class(record, problems) or "")
            items.append(PullItem(emp, key, "create",
                                  {f: [None, _show(getattr(emp, f))] for f in EMPLOYEE_FIELDS if getattr(emp, f)}))
        elif update_existing:
            items.append(_refresh(current, record, key, book, mapper, resolver, problems))
    return PullPlan(items=items, links=new_links, problems=problems)


def _refresh(current: Employee, record: dict, key: str, book: MappingBook, mapper: _BackMapper,
             resolver: Resolver, problems: list[Problem]) -> PullItem:
    fresh = employee_from_remote(record, "", "", "")
    values: dict[str, Any] = {f: getattr(fresh, f) for f in REFRESHED if getattr(fresh, f) not in ("", None)}
    uses_business = book.settings.business_name_as_name and (current.business_last_name or current.business_first_name)
    if uses_business:  # the attendance side holds the business name and its kana: the legal ones stay
        for name in ("last_name", "first_name", "last_name_kana", "first_name_kana"):
            values.pop(name, None)
    # department / class only when the attendance side no longer matches what they resolve to
    if record.get("divisionCode") and resolver.division(current)[0] != record.get("divisionCode"):
        department = mapper.department(record, problems)
        if department is not None:
            values["department_code"], values["department_name"] = department
    if record.get("typeCode") and resolver.employment_type(current)[0] != record.get("typeCode"):
        employee_class = mapper.employee_class(record, problems)
        if employee_class is not None:
            values["employee_class"] = employee_class
    changes = {f: [_show(getattr(current, f)), _show(v)] for f, v in values.items() if getattr(current, f) != v}
    if not changes:
        return PullItem(current, key, "unchanged")
    updated = dataclasses.replace(current, **{f: values[f] for f in changes})
    return PullItem(updated, key, "update", changes)


def _held(change: CodeChange) -> str:
    if change.confirmed:
        return (f"対象外: 台帳の従業員 {change.new} と同じ人です (個別設定の旧従業員番号)。次回の連携で勤怠の番号を "
                f"{change.new} に変更します。{change.old} として台帳に追加しません")
    return (f"対象外: 台帳の従業員 {change.new} と同じ人とみられます (従業員番号の変更、未確認)。個別設定の"
            f"旧従業員番号で確認されるまで {change.old} として台帳に追加しません")


def _show(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


NOT_WRITTEN = "未実行: 台帳への書き込みが途中で止まったため書き込んでいません。原因を取り除いて再実行してください"


def pull_rows(plan: PullPlan, result: str, confirmed: int | None = None) -> list[RowResult]:
    """One row per item; with ``confirmed``, only the first that many writes are ``result`` (what
    the database confirmed before it failed), the rest 未実行."""
    messages = {"create": "台帳に追加", "update": "台帳を更新", "unchanged": "差分なし",
                "held": "台帳に追加しませんでした (先頭の 0 だけ違う従業員番号が台帳にあります)"}
    rows, n = [], 0
    for i in plan.items:
        outcome = "ok" if i.action == "skip" else "failed" if i.action == "held" else result
        message = i.reason or messages[i.action]
        if i.action in ("create", "update"):
            n += 1
            if confirmed is not None and n > confirmed:
                outcome, message = "planned", NOT_WRITTEN
        rows.append(RowResult(employee_code=i.employee.code, action="create" if i.action == "held" else i.action,
                              result=outcome, changes=i.changes, message=message,
                              name=f"{i.employee.last_name} {i.employee.first_name}".strip()))
    return rows


def apply_pull(plan: PullPlan, ledger: Any, *, limit: int, now: str,
               confirmed: list[int] | None = None) -> tuple[int, int, list[int]]:
    """Write the plan in chunks of at most ``limit``; returns (inserted, updated, chunk sizes).
    ``confirmed`` (when given) gets each chunk's size as soon as the database has taken it, so a
    caller whose write fails midway can say what was written."""
    writes = plan.writes()
    link_of = {link.code: dataclasses.replace(link, synced_at=now) for link in plan.links}
    inserted = updated = 0
    chunks: list[int] = []
    for start in range(0, len(writes), limit):
        chunk = writes[start:start + limit]
        ins, upd = ledger.upsert_employees([i.employee for i in chunk])
        if confirmed is not None:
            confirmed.append(len(chunk))
        ledger.save_links([link_of.pop(i.employee.code) for i in chunk if i.employee.code in link_of])
        inserted, updated = inserted + ins, updated + upd
        chunks.append(len(chunk))
    rest = list(link_of.values())  # links of employees already in the ledger
    for start in range(0, len(rest), limit):
        ledger.save_links(rest[start:start + limit])
    return inserted, updated, chunks

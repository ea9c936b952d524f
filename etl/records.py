"""Plain records shared by the domain packages: no I/O imports here.

``Employee`` is one row of the ledger, ``Masters`` the attendance side's code → name lists,
``Link`` the 従業員番号 ↔ 従業員識別キー pair kept after a sync, ``PendingChange`` a dated change
kept until the attendance side shows it, ``RowResult`` one employee's
outcome in a job (the ``rows`` of result.json).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Employee:
    code: str  # 従業員番号: text, leading zeros kept
    last_name: str = ""  # 姓
    first_name: str = ""  # 名
    last_name_kana: str = ""  # 姓(カナ), full-width katakana
    first_name_kana: str = ""  # 名(カナ)
    business_last_name: str = ""  # ビジネスネーム(姓)
    business_first_name: str = ""  # ビジネスネーム(名)
    department_code: str = ""  # 部署コード
    department_name: str = ""  # 部署名
    employee_class: str = ""  # 社員区分
    gender: str = ""  # "male" | "female" | ""
    birth_date: dt.date | None = None  # 生年月日
    hired_date: dt.date | None = None  # 入社年月日
    resignation_date: dt.date | None = None  # 退職年月日
    email: str = ""  # メールアドレス (several separated by ';')
    business_last_name_kana: str = ""  # ビジネスネーム(セイ), full-width katakana
    business_first_name_kana: str = ""  # ビジネスネーム(メイ)

    def is_active(self, on: dt.date) -> bool:
        return self.resignation_date is None or self.resignation_date >= on

    def fingerprint(self) -> str:
        """A stable hash of every field: a changed fingerprint means the employee changed."""
        raw = json.dumps({k: (v.isoformat() if isinstance(v, dt.date) else v)
                          for k, v in asdict(self).items()}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


EMPLOYEE_FIELDS = tuple(f.name for f in fields(Employee))



@dataclass(frozen=True)
class Masters:
    """Live masters from the attendance API: code → name."""

    divisions: dict[str, str] = field(default_factory=dict)  # 所属
    working_types: dict[str, str] = field(default_factory=dict)  # 雇用区分


@dataclass(frozen=True)
class Link:
    """従業員番号 ↔ 従業員識別キー, and the employee's fingerprint when it was last synced."""

    code: str
    key: str
    fingerprint: str = ""
    synced_at: str = ""  # ISO 8601; a datetime given to save_links is stored as its isoformat()


@dataclass(frozen=True)
class PendingChange:
    """A 所属 / 雇用区分 change given a date on the command line (--effective-date), kept in the
    ledger so that every later run sends it with that date or not at all."""

    employee_code: str
    field: str  # divisionCode | typeCode
    value: str  # the attendance code
    effective_date: dt.date
    recorded_at: str = ""  # ISO 8601


@dataclass
class RowResult:
    employee_code: str
    action: str  # create | update | retire | unchanged | skip | error
    result: str  # ok | failed | planned
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field → [old, new]
    message: str = ""
    effective_date: str = ""  # for the report's queue of future-dated changes (not in the contract)
    name: str = ""  # the employee's name as HR knows it, for the report's list of failed rows
    kind: str = ""  # reconcile: the kind of difference (etl.sync.reconcile.KINDS); "" elsewhere
    side: str = ""  # reconcile: ledger | attendance | unknown — who changed since the last sync

    def to_dict(self) -> dict[str, Any]:
        out = {"employee_code": self.employee_code, "action": self.action, "result": self.result,
               "changes": self.changes, "message": self.message}
        if self.kind:
            out |= {"kind": self.kind, "side": self.side}
            if self.effective_date:  # a pending change: the day it takes effect
                out["effective_date"] = self.effective_date
        return out

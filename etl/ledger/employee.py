"""The ledger's employee record (従業員台帳の1行) as plain data."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, fields


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

    def is_active(self, on: dt.date) -> bool:
        return self.resignation_date is None or self.resignation_date >= on

    def fingerprint(self) -> str:
        """A stable hash of every field: a changed fingerprint means the employee changed."""
        raw = json.dumps({k: (v.isoformat() if isinstance(v, dt.date) else v)
                          for k, v in asdict(self).items()}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


EMPLOYEE_FIELDS = tuple(f.name for f in fields(Employee))

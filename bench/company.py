"""A deterministic synthetic company for the benchmarks (pure data + one workbook writer).

``size`` ledger employees (names, kana, dates from etl.demo_data) spread over ``departments``
department codes, each mapped to one of the sandbox's divisions; the employee classes mapped to
its working types; and a 個別設定 row per employee (a division or type override on some rows, a
異動日 on a third, 連携除外 on one in fifty). The same arguments give the same company.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from etl.clock import JST
from etl.demo_data import CLASSES, demo_employees
from etl.records import Employee, Masters
from etl.sandbox.data import DIVISIONS, WORKING_TYPES
from etl.sandbox.state import SandboxState
from etl.workbook.layout import FIXED_TIME, save_workbook
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.template import new_workbook

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=JST)  # a Thursday noon: outside the restricted hours
TODAY = NOW.date()
MONTH = "2026-10"  # the closed month the attendance measure imports
SEED = 1
DEPARTMENTS = 2_000


@dataclass(frozen=True)
class Company:
    employees: list[Employee]
    departments: dict[str, str]  # 部署コード → 部署名
    division_of: dict[str, str]  # 部署コード → 勤怠所属コード
    type_of: dict[str, str]  # 社員区分 → 勤怠雇用区分コード
    masters: Masters

    @property
    def size(self) -> int:
        return len(self.employees)


def masters() -> Masters:
    return Masters(divisions=dict(DIVISIONS), working_types=dict(WORKING_TYPES))


def empty_state() -> SandboxState:
    """The sandbox's divisions and working types, no employees (the sync creates them); the
    administrator has closed the month the attendance measure imports."""
    state = SandboxState([{"code": c, "name": n, "dayBorderTime": "05:00"} for c, n in DIVISIONS],
                         [{"code": c, "name": n} for c, n in WORKING_TYPES], seed=SEED)
    state.close_month(MONTH)
    return state


def make_company(size: int, departments: int = DEPARTMENTS, seed: int = SEED) -> Company:
    depts = {f"B{i:04d}": f"部署{i:04d}" for i in range(departments)}
    codes = list(depts)
    division_codes = [c for c, _ in DIVISIONS]
    division_of = {c: division_codes[i % len(division_codes)] for i, c in enumerate(codes)}
    people = []
    for i, e in enumerate(demo_employees(size, seed, TODAY, problems=False)):
        dept = codes[(i * 7919) % departments]  # a prime stride: every department gets people
        people.append(dataclasses.replace(e, department_code=dept, department_name=depts[dept]))
    return Company(people, depts, division_of, dict(CLASSES), masters())


def changed(company: Company, every: int = 97) -> list[Employee]:
    """About one employee in ``every`` edited in the ledger: a kana fix, a new e-mail address, or
    a move to the next department (an e-mail instead where a 個別設定 division would win)."""
    codes = list(company.departments)
    out = []
    for k, i in enumerate(range(1, company.size, every)):
        e = company.employees[i]
        kind = k % 3
        if kind == 2 and _division_override(i):
            kind = 1
        if kind == 0:
            out.append(dataclasses.replace(e, first_name_kana=e.first_name_kana + "ー"))
        elif kind == 1:
            out.append(dataclasses.replace(e, email=f"new.{e.code}@example.co.jp"))
        else:
            dept = codes[(codes.index(e.department_code) + 1) % len(codes)]
            out.append(dataclasses.replace(e, department_code=dept, department_name=company.departments[dept]))
    return out


def expected_creates(company: Company) -> int:
    """Who the first sync must create: all but 連携除外 and those who left before this month."""
    first = TODAY.replace(day=1)
    return sum(1 for i, e in enumerate(company.employees)
               if not _excluded(i) and not (e.resignation_date and e.resignation_date < first))


def _division_override(i: int) -> bool:
    return i % 4 == 0


def _excluded(i: int) -> bool:
    return i % 50 == 0


def override_rows(company: Company) -> list[list]:
    """個別設定: one row per employee, as HR would keep them."""
    divisions = list(company.masters.divisions)
    types = list(company.masters.working_types)
    dated = dt.datetime.combine(TODAY.replace(day=1), dt.time())  # this month: sent as updateDate
    rows = []
    for i, e in enumerate(company.employees):
        division = divisions[i % len(divisions)] if _division_override(i) else None
        type_code = types[i % len(types)] if i % 10 == 0 else None
        rows.append([e.code, f"{e.last_name} {e.first_name}", division, type_code,
                     dated if i % 3 == 0 else None, "はい" if _excluded(i) else "いいえ",
                     "出向中" if _excluded(i) else None])
    return rows


def write_workbook(company: Company, path: Path, *, overrides: bool = True) -> Path:
    """The mapping workbook HR would keep: every department and class mapped, defaults set."""
    classes = sorted({e.employee_class for e in company.employees})
    wb = new_workbook(company.masters, company.departments, classes)
    for row in wb[SHEET_DIVISIONS].iter_rows(min_row=2):
        if row[0].value in company.division_of:
            row[2].value = company.division_of[row[0].value]
    for row in wb[SHEET_TYPES].iter_rows(min_row=2):
        if row[0].value in company.type_of:
            row[1].value = company.type_of[row[0].value]
    defaults = {"既定の勤怠所属コード": "1000", "既定の勤怠雇用区分コード": "1"}
    for row in wb[SHEET_SETTINGS].iter_rows(min_row=2):
        if row[0].value in defaults:
            row[1].value = defaults[row[0].value]
    if overrides:
        ws = wb[SHEET_OVERRIDES]
        for row in override_rows(company):
            ws.append(row)
    return save_workbook(wb, Path(path), FIXED_TIME, private=False)

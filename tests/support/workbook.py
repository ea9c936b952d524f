"""Shared material for the workbook tests (no tests here): masters, a ledger, and a workbook
filled in by hand the way HR would, which each defect test then breaks in one place."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path

import openpyxl

from etl.errors import Problem
from etl.records import Employee, Masters
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.read import read_workbook
from etl.workbook.template import build_template
from etl.workbook.validate import validate_book

TODAY = dt.date(2026, 4, 10)
MASTERS = Masters(
    divisions={"1000": "本社", "1100": "営業部", "1200": "開発部", "0300": "物流センター"},
    working_types={"1": "正社員", "2": "契約社員", "3": "パート"},
)
HIRED = dt.date(2020, 4, 1)
EMPLOYEES = [
    Employee("000101", "山田", "太郎", department_code="100", department_name="総務部", employee_class="正社員",
             gender="male", hired_date=HIRED),
    Employee("000102", "佐藤", "花子", department_code="110", department_name="営業部", employee_class="契約社員",
             gender="female", hired_date=HIRED),
    Employee("000103", "鈴木", "一郎", department_code="120", department_name="開発部", employee_class="パート",
             gender="male", hired_date=HIRED),
    Employee("000104", "高橋", "次郎", department_code="0300", department_name="物流", employee_class="正社員",
             gender="male", hired_date=HIRED),  # resolves by the same code (no mapping row)
    Employee("000105", "田中", "三郎", department_code="120", department_name="開発部", employee_class="正社員",
             gender="male", hired_date=HIRED),
]


@functools.lru_cache(maxsize=1)
def _filled_bytes() -> bytes:
    """The template, filled by hand as HR would (build once per test session)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = build_template(Path(tmp) / "mapping.xlsx")
        wb = openpyxl.load_workbook(path)
        ws = wb[SHEET_DIVISIONS]
        for row in (["100", "総務部", "1000", "本社", ""], ["110", "営業部", "1100", "営業部", "4月に統合"],
                    ["120", "開発部", "1200", "開発部", None]):
            ws.append(row)
        ws = wb[SHEET_TYPES]
        for row in (["正社員", "1", "正社員", None], ["契約社員", "2", "契約社員", None], ["パート", "3", "パート", None]):
            ws.append(row)
        ws = wb[SHEET_OVERRIDES]
        ws.append(["000105", "田中 三郎", "1100", None, dt.datetime(2026, 5, 1), "いいえ", "5月から営業部"])
        ws = wb[SHEET_SETTINGS]
        ws["B5"] = "hr@example.co.jp; payroll@example.co.jp"
        wb.save(path)
        return path.read_bytes()


def hr_workbook(tmp_path: Path, edit: Callable[[openpyxl.Workbook], None] | None = None,
                name: str = "mapping.xlsx") -> Path:
    """The HR-filled workbook at tmp_path/name, after ``edit(wb)`` when given."""
    path = tmp_path / name
    path.write_bytes(_filled_bytes())
    if edit is not None:
        wb = openpyxl.load_workbook(path)
        edit(wb)
        wb.save(path)
    return path


def problems_of(path: Path, employees: list[Employee] | None = None, masters: Masters = MASTERS,
                today: dt.date = TODAY) -> list[Problem]:
    return validate_book(read_workbook(path), masters, EMPLOYEES if employees is None else employees, today)


def where(problems: list[Problem]) -> list[tuple[str, str, str]]:
    return [(p.code, p.sheet, p.cell) for p in problems]

"""Benchmark: validate a large mapping workbook against a large ledger (issue 4).

50,000 個別設定 rows + 2,000 所属マッピング rows, checked against a 50,000-employee ledger.
Prints the time of read_workbook + validate_book and its ratio to a bare read of the same
cells with the same engine (openpyxl read-only, iter_rows(values_only=True)); goal ≤ 1.5×.

    python bench/validate_workbook.py [--overrides 50000] [--departments 2000] [--employees 50000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402

from etl.kot.model import Masters  # noqa: E402
from etl.ledger.employee import Employee  # noqa: E402
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_TYPES  # noqa: E402
from etl.workbook.read import read_workbook  # noqa: E402
from etl.workbook.template import new_workbook  # noqa: E402
from etl.workbook.validate import validate_book  # noqa: E402

TODAY = dt.date(2026, 4, 10)
CLASSES = ["正社員", "契約社員", "パート", "アルバイト", "嘱託"]


def build(path: Path, n_overrides: int, n_departments: int, n_employees: int) -> tuple[Masters, list[Employee]]:
    divisions = {f"D{i:04d}": f"所属{i}" for i in range(n_departments)}
    masters = Masters(divisions, {str(i + 1): c for i, c in enumerate(CLASSES)})
    wb = new_workbook(masters)
    ws = wb[SHEET_DIVISIONS]
    for i in range(n_departments):
        ws.append([f"{i:05d}", f"部署{i}", f"D{i:04d}", f"所属{i}", None])
    ws = wb[SHEET_TYPES]
    for i, c in enumerate(CLASSES):
        ws.append([c, str(i + 1), c, None])
    ws = wb[SHEET_OVERRIDES]
    for i in range(n_overrides):
        ws.append([f"{i:08d}", f"従業員 {i}", f"D{(i * 7) % n_departments:04d}", str(i % 5 + 1),
                   dt.datetime(2026, 5, 1) if i % 3 == 0 else None, "はい" if i % 50 == 0 else "いいえ", None])
    wb.save(path)
    employees = [Employee(f"{i:08d}", "姓", "名", department_code=f"{i % n_departments:05d}",
                          employee_class=CLASSES[i % 5], hired_date=dt.date(2020, 4, 1)) for i in range(n_employees)]
    return masters, employees


def bare_read(path: Path) -> int:
    wb = openpyxl.load_workbook(path, read_only=True)
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            n += len(row)
    wb.close()
    return n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--overrides", type=int, default=50_000)
    p.add_argument("--departments", type=int, default=2_000)
    p.add_argument("--employees", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mapping.xlsx"
        t = time.perf_counter()
        masters, employees = build(path, args.overrides, args.departments, args.employees)
        print(f"built workbook ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
        bare, ours = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            cells = bare_read(path)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            book = read_workbook(path)
            problems = validate_book(book, masters, employees, TODAY)
            ours.append(time.perf_counter() - t)
        b, o = min(bare), min(ours)
        print(f"bare openpyxl read-only read of {cells:,} cells: {b:.2f} s")
        print(f"read_workbook + validate_book ({len(book.overrides):,} overrides, {len(book.divisions):,} "
              f"departments, {len(employees):,} employees, {len(problems)} problems): {o:.2f} s")
        print(f"ratio: {o / b:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()

"""Issue 4: validate a workbook with ``size`` 個別設定 rows and 2,000 department rows against a
``size``-employee ledger. Figure: read_workbook + validate_book; floor: a bare openpyxl read-only
read (iter_rows, values only) of the same sheets the reader reads; goal <= 1.5x.

Run alone: ``python bench/workbook_bench.py [--size 50000]`` (or ``run.py --only workbook``).
"""
from __future__ import annotations

import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl  # noqa: E402

from bench.company import TODAY, Company, make_company, write_workbook  # noqa: E402
from bench.measure import Measure, best_of, ratio_measure, table  # noqa: E402
from etl.errors import ERROR  # noqa: E402
from etl.workbook.model import HEADERS  # noqa: E402
from etl.workbook.read import read_workbook  # noqa: E402
from etl.workbook.validate import validate_book  # noqa: E402

GOAL = 1.5


def bare_read(path: Path) -> int:
    """The floor: every cell of the data sheets, as the reader opens them (read-only, values)."""
    n = 0
    with open(path, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=False, keep_links=False)
        for name in HEADERS:
            ws = wb[name]
            ws.reset_dimensions()
            for row in ws.iter_rows(values_only=True):
                n += len(row)
        wb.close()
    return n


def kinds_of(problems: list) -> str:
    errors = sum(p.severity == ERROR for p in problems)
    return f"{errors:,} errors, {len(problems) - errors:,} warnings"


def measure_workbook(company: Company, path: Path, repeat: int = 3) -> tuple[Measure, object]:
    """The measure, and the MappingBook read (the sync uses the same workbook)."""
    t = time.perf_counter()
    write_workbook(company, path)
    built_s = time.perf_counter() - t
    employees = company.employees
    floor, cells = best_of(repeat, lambda: bare_read(path))

    def ours():
        book = read_workbook(path)
        return book, validate_book(book, company.masters, employees, TODAY)

    figure, (book, problems) = best_of(repeat, ours)
    kinds = Counter(f"{p.severity}:{p.code}" for p in problems)
    detail = (f"{len(book.overrides):,} 個別設定 + {len(book.divisions):,} 部署 rows vs {len(employees):,} "
              f"employees; {kinds_of(problems)}")
    m = ratio_measure("workbook: read + validate", figure, floor, "s", max_ratio=GOAL, detail=detail, at_size=50_000,
                      cells=cells, overrides=len(book.overrides), departments=len(book.divisions),
                      employees=len(employees), problems=dict(kinds), file_mb=round(path.stat().st_size / 1e6, 2),
                      build_s=round(built_s, 2), repeat=repeat)
    return m, book


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        m, _ = measure_workbook(make_company(args.size), Path(tmp) / "mapping.xlsx", args.repeat)
    print(table([m]))
    print(m.detail)
    return 0 if m.ok is not False else 1


if __name__ == "__main__":
    sys.exit(main())

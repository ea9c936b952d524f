"""The ledger: upsert ``size`` employees into a fresh SQLite ledger and read them back (figures
only). Floor: the bare sqlite3 module doing the same work — executemany of the same rows into a
table of the same columns (same pragmas), and a SELECT of them."""
from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

from bench.measure import Measure, best_of, ratio_measure
from etl.ledger.store import Ledger, open_ledger
from etl.records import EMPLOYEE_FIELDS, Employee

_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON")


def _value(v):
    return v.isoformat() if isinstance(v, dt.date) else v


def bare_upsert(path: Path, employees: list[Employee]) -> float:
    rows = [tuple(_value(getattr(e, f)) for f in EMPLOYEE_FIELDS) for e in employees]
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in _PRAGMAS:
            con.execute(pragma)
        columns = ", ".join(f"{f} TEXT" + (" PRIMARY KEY" if f == "code" else "") for f in EMPLOYEE_FIELDS)
        con.execute(f"CREATE TABLE employees ({columns})")
        t = time.perf_counter()
        con.execute("BEGIN")
        con.executemany(f"INSERT INTO employees VALUES ({', '.join('?' * len(EMPLOYEE_FIELDS))})", rows)
        con.execute("COMMIT")
        return time.perf_counter() - t
    finally:
        con.close()


def bare_read(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return len(con.execute(f"SELECT {', '.join(EMPLOYEE_FIELDS)} FROM employees").fetchall())
    finally:
        con.close()


def measure_ledger(employees: list[Employee], folder: Path, repeat: int = 3) -> tuple[list[Measure], Ledger, str]:
    """(measures, the loaded ledger, its URL): the sync runs on this ledger."""
    url = f"sqlite:///{(folder / 'ledger.db').as_posix()}"
    ledger = open_ledger(url)  # creates the tables (not timed)
    t = time.perf_counter()
    inserted, _ = ledger.upsert_employees(employees)
    upsert_s = time.perf_counter() - t
    t = time.perf_counter()
    ledger.upsert_employees(employees)
    again_s = time.perf_counter() - t
    floor_upsert = bare_upsert(folder / "bare.db", employees)
    read_s, back = best_of(repeat, ledger.employees)
    floor_read, _ = best_of(repeat, lambda: bare_read(folder / "bare.db"))
    assert len(back) == len(employees) == inserted, (len(back), len(employees), inserted)
    n = f"{len(employees):,} employees"
    return [
        ratio_measure("ledger: upsert", upsert_s, floor_upsert, "s", detail=f"{n} into a new SQLite ledger",
                      upsert_unchanged_s=round(again_s, 3)),
        ratio_measure("ledger: read back", read_s, floor_read, "s", detail=f"{n} as Employee records"),
    ], ledger, url

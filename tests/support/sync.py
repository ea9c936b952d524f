"""Shared material for the end-to-end sync / pull tests: a sandbox company without
employees, a ledger, a filled workbook, and a harness that runs the commands through ``main`` on the
sandbox's ManualClock (so retries, rate limiting and --wait never sleep for real)."""
from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
from conftest import NOW, make_config

from etl.cli import main
from etl.clock import ManualClock
from etl.ledger.store import close_ledger, open_ledger
from etl.records import Employee
from etl.sandbox.data import DIVISIONS, WORKING_TYPES
from etl.sandbox.server import Sandbox
from etl.sandbox.state import SandboxState
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
from etl.workbook.template import build_template

TODAY = dt.date(2026, 11, 26)

# ledger department → sandbox division; "1200" has no row and resolves by the same code
DEPARTMENTS = {"D10": ("総務課", "1100"), "D20": ("東京営業課", "2100"), "1200": ("人事部", None)}
CLASSES = {"正社員": "1", "パート": "3"}


def empty_company() -> SandboxState:
    return SandboxState([{"code": c, "name": n, "dayBorderTime": "05:00"} for c, n in DIVISIONS],
                        [{"code": c, "name": n} for c, n in WORKING_TYPES])


def ledger_employees(n: int) -> list[Employee]:
    depts = list(DEPARTMENTS)
    return [Employee(code=f"E{i:04d}", last_name="山田", first_name=f"太郎{i}", last_name_kana="やまだ",
                     first_name_kana="ﾀﾛｳ", department_code=depts[i % 3], department_name=DEPARTMENTS[depts[i % 3]][0],
                     employee_class="正社員" if i % 4 else "パート", gender="male" if i % 2 else "female",
                     birth_date=dt.date(1990, 1, 1) + dt.timedelta(days=i), hired_date=dt.date(2020, 4, 1),
                     email=f"e{i}@example.co.jp")
            for i in range(1, n + 1)]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Run:
    """One finished command: exit code, stdout, stderr and its result.json."""

    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err
        lines = out.strip().splitlines()
        self.result: dict[str, Any] = {}
        self.report: Path | None = None
        if lines and lines[-1].startswith("report: "):  # a job that ran (a refused start writes no report)
            self.report = Path(lines[-1][len("report: "):])
            self.result = json.loads((self.report.parent / "result.json").read_text(encoding="utf-8"))

    def rows(self, **match: str) -> list[dict]:
        return [r for r in self.result["rows"] if all(r.get(k) == v for k, v in match.items())]

    @property
    def counts(self) -> dict[str, int]:
        return self.result["counts"]


class Harness:
    def __init__(self, tmp_path: Path, sandbox: Sandbox, ledger_url: str | None = None, **config: Any):
        self.tmp_path, self.sandbox = tmp_path, sandbox
        self.clock: ManualClock = sandbox.clock
        self.ledger_url = ledger_url or f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
        self.config = make_config(tmp_path, sandbox, ledger={"url": self.ledger_url}, **config)
        self.env = {"ETL_NOW": NOW, "KOT_TOKEN": sandbox.token}
        self.workbook = tmp_path / "mapping.xlsx"
        self.write_book()

    def close(self) -> None:
        close_ledger(self.ledger_url)

    # --- the ledger and the workbook -----------------------------------------------------
    @property
    def ledger(self):
        return open_ledger(self.ledger_url)

    def load(self, employees: list[Employee]) -> None:
        self.ledger.upsert_employees(employees)

    def write_book(self, edit: Callable[[openpyxl.Workbook], None] | None = None) -> Path:
        path = build_template(self.workbook)
        wb = openpyxl.load_workbook(path)
        for dept, (name, division) in DEPARTMENTS.items():
            if division:
                wb[SHEET_DIVISIONS].append([dept, name, division, None, None])
        for employee_class, type_code in CLASSES.items():
            wb[SHEET_TYPES].append([employee_class, type_code, None, None])
        if edit is not None:
            edit(wb)
        wb.save(path)
        return path

    def override(self, code: str, division: str | None = None, type_code: str | None = None,
                 date: dt.date | None = None, exclude: str = "いいえ") -> None:
        def edit(wb):
            wb[SHEET_OVERRIDES].append([code, None, division, type_code,
                                        dt.datetime.combine(date, dt.time()) if date else None, exclude, None])
        self.write_book(edit)

    def setting(self, label: str, value: str) -> None:
        self.settings({label: value})

    def settings(self, values: dict[str, str]) -> None:
        def edit(wb):
            ws = wb[SHEET_SETTINGS]
            for label, value in values.items():
                row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == label)
                ws.cell(row, 2).value = value
        self.write_book(edit)

    # --- commands ------------------------------------------------------------------------
    def run(self, *argv: str, tty: bool = False) -> Run:
        out, err = io.StringIO(), (_Terminal() if tty else io.StringIO())
        code = main(["--config", str(self.config), *argv], env=self.env, stdout=out, stderr=err, clock=self.clock)
        return Run(int(code), out.getvalue(), err.getvalue())

    def sync(self, *argv: str) -> Run:
        return self.run("sync-employees", *argv)

    def pull(self, *argv: str) -> Run:
        return self.run("pull-employees", *argv)

    # --- the attendance side -------------------------------------------------------------
    def remote(self, on: dt.date | None = None) -> dict[str, dict]:
        return {e["code"]: e for e in self.sandbox.state.all(on)}


class TripClock(ManualClock):
    """Jumps into the 17:30 restricted window once the sandbox has received ``after`` writes."""

    def __init__(self, start: str, after: int):
        super().__init__(start)
        self.after = after
        self.sandbox = None
        self.tripped = False

    def now(self):
        if not self.tripped and self.sandbox is not None and self.sandbox.writes() >= self.after:
            self.tripped = True
            self._now = self._now.replace(hour=17, minute=30, second=0)
        return self._now

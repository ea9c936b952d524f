"""Writing a month: the CSV file (atomic, owner-only) or the ledger's monthly_attendance (I/O).

``build_frame`` (etl.attendance.frame) makes the final frame; ``write_csv`` encodes and writes
it; the bench times the two apart from the fetch.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from etl.attendance.frame import BadCell, build_frame, render_csv
from etl.attendance.transform import MonthTable
from etl.fileio import write_bytes

__all__ = ["build_frame", "write_csv", "write_ledger", "csv_path"]


def csv_path(output_dir: Path, month: str) -> Path:
    """The default CSV file: output/attendance_YYYY-MM.csv."""
    return Path(output_dir) / f"attendance_{month}.csv"


def write_csv(frame: pd.DataFrame, path: Path, encoding: str = "cp932", *, replace: bool = False
              ) -> tuple[Path, list[BadCell]]:
    """Encode ``frame`` (see frame.render_csv) and write it atomically: temp file, then rename.

    Raises frame.UnencodableError before anything is written when a cell cannot be held.
    """
    data, replaced = render_csv(frame, encoding, replace=replace)
    return write_bytes(Path(path), data), replaced


def write_ledger(ledger, table: MonthTable) -> int:
    """Upsert the month's records by (employee code, month) in one transaction."""
    return ledger.upsert_monthly(table.month, table.records())

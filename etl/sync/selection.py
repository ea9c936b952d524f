"""The employees chosen for a sync: ``--employees CODES`` or ``--employees-file F``.

The file is a CSV (UTF-8 with or without BOM, or cp932) or an XLSX whose header row has a
従業員番号 column (the ledger's header words and aliases are accepted); every other column is
ignored, so a ledger export with a few rows kept works as is. Problems raise ``InputError``
(exit 3) before anything is sent.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from etl.errors import InputError, Problem
from etl.fileio import expanded_size, from_cwd
from etl.ledger.load import MAX_CSV_BYTES
from etl.ledger.normalize import normalize_code
from etl.ledger.rows import HEADER_FIELDS, header_key
from etl.ledger.xlsx import MAX_EXPANDED_BYTES

_SEPARATORS = re.compile(r"[,、，;；\s]+")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


def parse_codes(text: str) -> list[str]:
    """'001, 002 003' → ['001', '002', '003'] (full-width digits become half-width)."""
    return [c for c in (normalize_code(part) for part in _SEPARATORS.split(text or "")) if c]


def selection_from_args(employees: str | None, employees_file: str | None,
                        base: Path | None = None) -> frozenset[str] | None:
    """The chosen codes, or None when neither option was given (everyone)."""
    if employees is None and employees_file is None:
        return None
    if employees_file is not None:
        path = from_cwd(employees_file, base)
        codes = read_codes_file(path)
    else:
        codes = parse_codes(employees or "")
    if not codes:
        raise _fail(Problem.of("selection-empty", sheet=employees_file or "--employees"))
    return frozenset(codes)


def read_codes_file(path: Path) -> list[str]:
    name = path.name
    if not path.is_file():
        if path.exists():  # a folder, a FIFO, a device: never opened (a FIFO would block)
            what = "フォルダーです" if path.is_dir() else "通常のファイルではありません (FIFO・デバイスなど)"
            raise _fail(Problem.of("selection-file-unreadable", sheet=name, path=name, reason=what))
        raise _fail(Problem.of("selection-file-not-found", sheet=name, path=str(path)))
    try:
        xlsx = path.suffix.lower() in XLSX_SUFFIXES
        size = expanded_size(path) if xlsx else path.stat().st_size
        if size > (MAX_EXPANDED_BYTES if xlsx else MAX_CSV_BYTES):  # checked before anything is parsed
            raise ValueError(f"大きすぎます ({size / 2**20:,.0f} MB{' 展開後' if xlsx else ''})")
        rows = _xlsx_rows(path) if xlsx else _csv_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise _fail(Problem.of("selection-file-unreadable", sheet=name, path=name,
                               reason=f"{type(e).__name__}: {e}".splitlines()[0][:200])) from None
    header = next(rows, None)
    column = None
    if header is not None:
        column = next((i for i, v in enumerate(header) if HEADER_FIELDS.get(header_key(v)) == "code"), None)
    if column is None:
        raise _fail(Problem.of("selection-missing-column", sheet=name, cell="A1", path=name))
    return [code for row in rows if column < len(row) and (code := normalize_code(row[column]))]


def _csv_rows(path: Path):
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        text = data.decode("utf-8-sig")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp932")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return (row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            if any(v.strip() for v in row))


def _xlsx_rows(path: Path):
    import openpyxl
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl's own InvalidFileException and friends
        raise ValueError(str(e) or type(e).__name__) from None
    try:
        ws = wb.worksheets[0]
        rows = [[_cell(c) for c in r] for r in ws.iter_rows()]
    finally:
        wb.close()
    return (r for r in rows if any(v not in (None, "") for v in r))


def _cell(cell):
    """A cell's value; a number shown with leading zeros (format "00000") keeps them."""
    value = cell.value
    fmt = getattr(cell, "number_format", "General") or "General"
    if (isinstance(value, int | float) and not isinstance(value, bool) and fmt.strip("0") == ""
            and fmt and float(value).is_integer()):
        return str(int(value)).zfill(len(fmt))
    return value


def _fail(problem: Problem) -> InputError:
    where = f"{problem.sheet}: " if problem.sheet else ""
    return InputError(f"対象従業員の指定に誤りがあります。{where}{problem.message}", [problem])

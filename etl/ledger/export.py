"""Employees → a ledger file in the format `ledger load` reads (same headers, lossless round trip).

CSV: UTF-8 with BOM by default (Excel opens it), or cp932; CRLF; cells that Excel would run as a
formula (= + - @) are prefixed with ' (and `ledger load` takes it off again). XLSX: codes and
text as text cells (leading zeros survive), dates as date cells. Written atomically, owner-only.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from etl.errors import InputError, Problem
from etl.fileio import write_bytes
from etl.ledger.normalize import GENDER_LABELS
from etl.ledger.rows import COLUMNS, DATE_FIELDS
from etl.records import Employee
from etl.text import neutralise, sheet_text

CSV_ENCODINGS = ("utf-8-sig", "cp932")

# Characters Unicode text often has where cp932 (Windows-31J) has a look-alike (KOT_API.md § 5.3).
CP932_LOOKALIKES = str.maketrans({
    "\u301c": "\uff5e",  # 〜 WAVE DASH → ～
    "\u2212": "\uff0d",  # − MINUS SIGN → －
    "\u2016": "\u2225",  # ‖ → ∥
    "\u00a2": "\uffe0",  # ¢ → ￠
    "\u00a3": "\uffe1",  # £ → ￡
    "\u00ac": "\uffe2",  # ¬ → ￢
    "\u2014": "\u2015",  # — EM DASH → ―
})


def header() -> list[str]:
    return [c.label for c in COLUMNS]


def cells(e: Employee) -> list:
    """One employee as the file's cells: dates stay dates, gender as 男性 / 女性."""
    out = []
    for c in COLUMNS:
        value = getattr(e, c.field)
        if c.field == "gender":
            value = GENDER_LABELS.get(value, value)
        elif value is None:
            value = "" if c.field not in DATE_FIELDS else None
        out.append(value)
    return out


def _text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def csv_text(employees: list[Employee], table: dict[int, str] | None = None) -> str:
    """The CSV text; ``table`` (a str.translate table) is applied to each cell before the
    injection guard, which runs last."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header())
    for e in employees:
        w.writerow([neutralise(_text(v).translate(table) if table else _text(v)) for v in cells(e)])
    return buf.getvalue()


def encode_csv(employees: list[Employee], encoding: str = "utf-8-sig") -> bytes:
    """The CSV bytes; InputError listing every value cp932 cannot hold (nothing is written)."""
    if encoding not in CSV_ENCODINGS:
        raise ValueError(encoding)
    if encoding == "utf-8-sig":
        return csv_text(employees).encode("utf-8-sig")
    text = csv_text(employees, CP932_LOOKALIKES)
    try:
        return text.encode("cp932")
    except UnicodeEncodeError:
        pass
    problems = []
    for e in employees:
        for c, value in zip(COLUMNS, cells(e), strict=True):
            s = _text(value).translate(CP932_LOOKALIKES)
            try:
                s.encode("cp932")
            except UnicodeEncodeError as err:
                problems.append(Problem.of("ledger-unencodable", employee_code=e.code, value=s,
                                           column=c.label, encoding="cp932 (Shift_JIS)",
                                           char=s[err.start:err.end]))
    first = problems[0]
    more = f" (ほか {len(problems) - 1} 件)" if len(problems) > 1 else ""
    raise InputError(first.message + more, problems)


def write_csv(path: Path, employees: list[Employee], encoding: str = "utf-8-sig") -> Path:
    return write_bytes(path, encode_csv(employees, encoding))


def write_xlsx(path: Path, employees: list[Employee]) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("従業員台帳")
    ws.freeze_panes = "A2"
    for i, c in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 12 if c.field in DATE_FIELDS else 16
    bold = Font(bold=True)
    head = []
    for label in header():
        cell = WriteOnlyCell(ws, value=label)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    for e in employees:
        row = []
        for value in cells(e):
            if isinstance(value, dt.date):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
            else:
                cell = WriteOnlyCell(ws, value=None)
                if value not in (None, ""):
                    cell.value = sheet_text(str(value))
                    cell.data_type = "s"  # text even when it starts with "=" or is all digits
                cell.number_format = "@"
            row.append(cell)
        ws.append(row)
    buf = io.BytesIO()  # built whole first: a destination that cannot be written fails after, cleanly
    wb.save(buf)
    return write_bytes(path, buf.getvalue())


def write_ledger_file(path: Path, employees: list[Employee], encoding: str = "utf-8-sig") -> Path:
    """CSV or XLSX by the file's extension."""
    if Path(path).suffix.lower() == ".xlsx":
        return write_xlsx(path, employees)
    return write_csv(path, employees, encoding)

"""Employee ledger files (CSV / XLSX exports with Japanese headers) → Rows, or LedgerFileError.

The I/O shell around ``rows.parse_rows``: detect the encoding (UTF-8 with or without BOM,
cp932), refuse over-long lines before they eat memory, read CSV or the first XLSX sheet with a
code column. Any problem makes ``read_ledger`` raise ``LedgerFileError`` listing every problem
with its line (CSV, the header being line 1) or cell (XLSX, e.g. C5), so nothing gets written.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import stat
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from etl.errors import ERROR, LedgerFileError, Problem
from etl.ledger.rows import (
    BLANK_RUN,
    HEADER_FIELDS,
    MAX_ROWS,
    Rows,
    header_key,
    is_blank,
    leading_zero_clashes,
    parse_rows,
)
from etl.ledger.xlsx import MAX_EXPANDED_BYTES, Workbook, XlsxError, XlsxTooLarge
from etl.text import one_line

MAX_LINE_BYTES = 1_000_000
_MEASURE_CAP = 100_000_000  # stop measuring an over-long line after this many bytes
XLSX_SUFFIXES = (".xlsx", ".xlsm")
MAX_CSV_BYTES = 200 * 1024 * 1024  # a CSV of 200,000 employees is ~40 MB
MAX_ROW_FIELDS = 16_384  # Excel's column limit: a CSV row wider than this no spreadsheet wrote
FIELDS_PER_ROW = 100  # on average: a CSV of max_rows rows holds at most max_rows × this many fields


@dataclass(frozen=True)
class Limits:
    """How much one ledger file may hold (configurable: [ledger] max_rows)."""

    max_rows: int = MAX_ROWS
    blank_run: int = BLANK_RUN
    max_csv_bytes: int = MAX_CSV_BYTES
    max_expanded_bytes: int = MAX_EXPANDED_BYTES


def read_ledger(path: Path, *, existing: Iterable[str] = (), new_people: bool | Collection[str] = False,
                limits: Limits = Limits()) -> Rows:
    """Read and check a ledger file; raise LedgerFileError unless every row is valid.

    Warnings (unknown headers) are returned in ``Rows.problems`` beside the employees.
    ``existing``: the ledger's codes; a code of the file equal to one of them up to leading zeros
    is an error naming both, unless ``new_people`` says the file means new people (True: all of
    them, or a collection of codes).
    """
    path = Path(path)
    name = path.name
    size = _regular_file(path, name)
    if path.suffix.lower() in XLSX_SUFFIXES:
        rows = _read_xlsx(path, limits)
    elif path.suffix.lower() == ".xls":
        _unreadable(name, "古い Excel 形式 .xls です")
    else:
        if size > limits.max_csv_bytes:
            _too_large(name, size, limits.max_csv_bytes)
        try:
            rows = _read_csv(path, limits)
        except OSError as e:
            _unreadable(name, f"{type(e).__name__}: {e.strerror or e}",
                        "読み取り権限があるか、ほかのアプリがファイルを開いたままでないか確認してください。")
    # a new person by --new-people: a warning that the sync still waits for 個別設定's 「なし」
    accepted = new_people if new_people is True else set(new_people or ())
    rows.problems.extend(leading_zero_clashes(rows, existing, sheet=name, accepted=accepted))
    if any(p.severity == ERROR for p in rows.problems):
        _fail(name, rows.problems)
    if not rows.employees:
        _fail(name, [Problem.of("ledger-empty", sheet=name, path=name)])
    return rows


def _regular_file(path: Path, name: str) -> int:
    """The size of ``path``; a missing file, a folder, a FIFO or a device is refused (a FIFO would
    block the read forever, a device never ends)."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        _fail(name, [Problem.of("ledger-file-not-found", sheet=name, path=str(path))])
    except OSError as e:
        _unreadable(name, f"{type(e).__name__}: {e.strerror or e}",
                    "読み取り権限があるか、ほかのアプリがファイルを開いたままでないか確認してください。")
    if stat.S_ISDIR(st.st_mode):
        _unreadable(name, "フォルダーです", "台帳ファイル (CSV / XLSX) を指定してください。")
    if not stat.S_ISREG(st.st_mode):
        _unreadable(name, "通常のファイルではありません (FIFO・デバイスなど)", "台帳ファイル (CSV / XLSX) を指定してください。")
    return st.st_size


def _too_large(name: str, size: int, limit: int):
    _fail(name, [Problem.of("ledger-too-large", sheet=name, path=name, size=_megabytes(size), limit=_megabytes(limit))])


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def position(p: Problem) -> str:
    """Where a problem is, in Japanese: 「12行目」 (CSV) or 「セル C5」 (XLSX)."""
    if p.cell.startswith("行 "):
        return f"{p.cell[2:]}行目"
    return f"セル {p.cell}" if p.cell else ""


def failure_message(name: str, problems: list[Problem]) -> str:
    """One line: the file, its first error and how many more there are."""
    errors = [p for p in problems if p.severity == ERROR] or problems
    first = errors[0]
    where = position(first)
    if name in first.message:  # the message already names the file (and says where)
        text = first.message
    else:
        text = f"台帳ファイル {name}" + (f" {where}" if where else "") + f": {first.message}"
    if len(errors) > 1:
        text += f" (ほか {len(errors) - 1} 件。すべての問題はレポートの errors.csv にあります)"
    return one_line(text)


def _fail(name: str, problems: list[Problem]) -> NoReturn:
    raise LedgerFileError(failure_message(name, problems), problems)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _read_bytes(path: Path, max_bytes: int = MAX_CSV_BYTES) -> bytes:
    """The whole file, refusing any physical line longer than MAX_LINE_BYTES and a file longer
    than ``max_bytes`` (memory stays bounded even if the file grows while it is read)."""
    chunks: list[bytes] = []
    total = 0
    with open(path, "rb") as fh:
        line_no = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            line_no += 1
            total += len(line)
            if total > max_bytes:
                _too_large(path.name, total, max_bytes)
            if len(line) > MAX_LINE_BYTES:
                size = len(line)
                while not line.endswith(b"\n") and size < _MEASURE_CAP:
                    line = fh.readline(MAX_LINE_BYTES)
                    if not line:
                        break
                    size += len(line)
                shown = f"{size:,}" if size < _MEASURE_CAP else f"{_MEASURE_CAP:,} 以上"
                _fail(path.name, [Problem.of("ledger-line-too-long", sheet=path.name, cell=f"行 {line_no}",
                                             size=shown)])
            chunks.append(line)
    return b"".join(chunks)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """(line, byte within the line), both 1-based."""
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, else cp932; LedgerFileError saying where it broke."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        _fail(name, [Problem.of("ledger-encoding", sheet=name, cell="行 1", path=name,
                                where="UTF-16 のファイルです")])
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    else:
        candidates = ("utf-8", "cp932")
    failures: list[UnicodeDecodeError] = []
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as e:
            failures.append(e)
    worst = max(failures, key=lambda e: e.start)  # the encoding that read furthest is the likely one
    offset = worst.start + (3 if candidates == ("utf-8-sig",) else 0)
    line, byte = _position(data, offset)
    where = f"{line}行目の {byte} バイト目 (0x{data[offset]:02X}) で読めません"
    _fail(name, [Problem.of("ledger-encoding", sheet=name, cell=f"行 {line}", path=name, where=where)])
    raise AssertionError  # unreachable


_CSV_REASONS = {
    "unexpected end of data": "引用符 \" が閉じられていません",
    "expected after": "引用符 \" の後に区切り文字がありません",
    "field larger than field limit": "項目が長すぎます",
}


def _read_csv(path: Path, limits: Limits = Limits()) -> Rows:
    name = path.name
    text, _ = decode(_read_bytes(path, limits.max_csv_bytes), name)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    fields, max_fields = 0, limits.max_rows * FIELDS_PER_ROW
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            reason = next((v for k, v in _CSV_REASONS.items() if k in str(e)), str(e))
            _fail(name, [Problem.of("ledger-bad-row", sheet=name, cell=f"行 {start}", reason=reason)])
        # a million commas a line: the work and memory grow with the fields, not the rows or bytes
        if len(record) > MAX_ROW_FIELDS:
            _fail(name, [Problem.of("ledger-bad-row", sheet=name, cell=f"行 {start}",
                                    reason=f"列が多すぎます ({len(record):,} 列、Excel の上限は {MAX_ROW_FIELDS:,} 列)")])
        fields += len(record)
        if fields > max_fields:
            _fail(name, [Problem.of("ledger-too-large", sheet=name, cell=f"行 {start}", path=name,
                                    size=f"{start:,} 行目までで {fields:,} 項目", limit=f"{max_fields:,} 項目")])
        if record and not all(is_blank(v) for v in record):
            records.append((start, record))
    if not records:
        _fail(name, [Problem.of("ledger-empty", sheet=name, path=name)])
    (header_line, header), body = records[0], records[1:]
    return parse_rows(header, body, sheet=name, cell=lambda row, _col: f"行 {row}",
                      header_row=header_line, unescape=True, max_rows=limits.max_rows, blank_run=limits.blank_run)


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(index + 1)


RESAVE_HINT = "Excel で開いて「Excel ブック (.xlsx)」で保存し直すか、「CSV UTF-8」で保存してください。"


def _unreadable(name: str, reason: str, hint: str = RESAVE_HINT) -> NoReturn:
    _fail(name, [Problem.of("ledger-unreadable", sheet=name, path=name, reason=reason, hint=hint)])


def _non_blank(rows):
    return ((n, values) for n, values in rows if values and not all(is_blank(v) for v in values))


def _read_xlsx(path: Path, limits: Limits = Limits()) -> Rows:
    """The first visible sheet whose header row has a code column (else the first with data)."""
    name = path.name
    try:
        wb = Workbook(path, max_expanded=limits.max_expanded_bytes)
    except XlsxTooLarge as e:
        _fail(name, [Problem.of("ledger-too-large", sheet=name, path=name, size=f"展開後 {_megabytes(e.size)}",
                                limit=_megabytes(e.limit))])
    except XlsxError as e:
        _unreadable(name, str(e))
    try:
        chosen = None
        for sheet in sorted(wb.sheets, key=lambda s: not s.visible):
            rows = _non_blank(wb.rows(sheet))
            head = next(rows, None)
            if head is None:
                continue
            has_code = any(HEADER_FIELDS.get(header_key(v)) == "code" for v in head[1])
            if chosen is None or has_code:
                chosen = (head, rows)
            if has_code:
                break
        if chosen is None:
            _fail(name, [Problem.of("ledger-empty", sheet=name, path=name)])
        (header_row, header), body = chosen
        return parse_rows(header, body, sheet=name, cell=lambda row, col: f"{_column_letter(col)}{row}",
                          header_row=header_row, max_rows=limits.max_rows, blank_run=limits.blank_run)
    except XlsxError as e:
        _unreadable(name, str(e))
    finally:
        wb.close()

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
from pathlib import Path

from etl.errors import ERROR, LedgerFileError, Problem
from etl.ledger.rows import HEADER_FIELDS, Rows, header_key, is_blank, parse_rows
from etl.ledger.xlsx import Workbook, XlsxError
from etl.text import one_line

MAX_LINE_BYTES = 1_000_000
_MEASURE_CAP = 100_000_000  # stop measuring an over-long line after this many bytes
XLSX_SUFFIXES = (".xlsx", ".xlsm")


def read_ledger(path: Path) -> Rows:
    """Read and check a ledger file; raise LedgerFileError unless every row is valid.

    Warnings (unknown headers) are returned in ``Rows.problems`` beside the employees.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        _fail(name, [Problem.of("ledger-file-not-found", sheet=name, path=str(path))])
    if path.suffix.lower() in XLSX_SUFFIXES:
        rows = _read_xlsx(path)
    elif path.suffix.lower() == ".xls":
        _unreadable(name, "古い Excel 形式 .xls です")
    else:
        try:
            rows = _read_csv(path)
        except OSError as e:
            _unreadable(name, f"{type(e).__name__}: {e.strerror or e}",
                        "読み取り権限があるか、ほかのアプリがファイルを開いたままでないか確認してください。")
    if any(p.severity == ERROR for p in rows.problems):
        _fail(name, rows.problems)
    if not rows.employees:
        _fail(name, [Problem.of("ledger-empty", sheet=name, path=name)])
    return rows


def position(p: Problem) -> str:
    """Where a problem is, in Japanese: 「12行目」 (CSV) or 「セル C5」 (XLSX)."""
    if p.cell.startswith("line "):
        return f"{p.cell[5:]}行目"
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


def _fail(name: str, problems: list[Problem]):
    raise LedgerFileError(failure_message(name, problems), problems)


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """The whole file, refusing any physical line longer than MAX_LINE_BYTES (memory stays bounded)."""
    chunks: list[bytes] = []
    with open(path, "rb") as fh:
        line_no = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            line_no += 1
            if len(line) > MAX_LINE_BYTES:
                size = len(line)
                while not line.endswith(b"\n") and size < _MEASURE_CAP:
                    line = fh.readline(MAX_LINE_BYTES)
                    if not line:
                        break
                    size += len(line)
                shown = f"{size:,}" if size < _MEASURE_CAP else f"{_MEASURE_CAP:,} 以上"
                _fail(path.name, [Problem.of("ledger-line-too-long", sheet=path.name, cell=f"line {line_no}",
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
        _fail(name, [Problem.of("ledger-encoding", sheet=name, cell="line 1", path=name,
                                where="UTF-16 のファイルです")])
    if data.startswith(codecs.BOM_UTF8):
        candidates = ("utf-8-sig",)
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
    _fail(name, [Problem.of("ledger-encoding", sheet=name, cell=f"line {line}", path=name, where=where)])
    raise AssertionError  # unreachable


_CSV_REASONS = {
    "unexpected end of data": "引用符 \" が閉じられていません",
    "expected after": "引用符 \" の後に区切り文字がありません",
    "field larger than field limit": "項目が長すぎます",
}


def _read_csv(path: Path) -> Rows:
    name = path.name
    text, _ = decode(_read_bytes(path), name)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            reason = next((v for k, v in _CSV_REASONS.items() if k in str(e)), str(e))
            _fail(name, [Problem.of("ledger-bad-row", sheet=name, cell=f"line {start}", reason=reason)])
        if record and not all(is_blank(v) for v in record):
            records.append((start, record))
    if not records:
        _fail(name, [Problem.of("ledger-empty", sheet=name, path=name)])
    (header_line, header), body = records[0], records[1:]
    return parse_rows(header, body, sheet=name, cell=lambda row, _col: f"line {row}",
                      header_row=header_line, unescape=True)


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(index + 1)


RESAVE_HINT = "Excel で開いて「Excel ブック (.xlsx)」で保存し直すか、「CSV UTF-8」で保存してください。"


def _unreadable(name: str, reason: str, hint: str = RESAVE_HINT):
    _fail(name, [Problem.of("ledger-unreadable", sheet=name, path=name, reason=reason, hint=hint)])


def _non_blank(rows):
    return ((n, values) for n, values in rows if values and not all(is_blank(v) for v in values))


def _read_xlsx(path: Path) -> Rows:
    """The first visible sheet whose header row has a code column (else the first with data)."""
    name = path.name
    try:
        wb = Workbook(path)
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
                          header_row=header_row)
    except XlsxError as e:
        _unreadable(name, str(e))
    finally:
        wb.close()

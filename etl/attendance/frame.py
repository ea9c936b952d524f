"""Rows → the CSV's final frame (strings in 形式) → the encoded bytes (pure).

``build_frame`` formats each chosen column with its 形式 (分 / 時間(10進) / HH:MM / 日 / 回 /
文字) and neutralises risky text cells (etl.text). ``render_csv`` makes the safe
substitutions for cp932, finds what it still cannot hold (naming employee and column) and
encodes with CRLF line ends (no BOM for cp932, a BOM for UTF-8); the guard runs again after
the substitutions, last.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from etl.attendance.cp932 import encoding_label, make_safe, replace_unencodable, unencodable_chars
from etl.attendance.items import FMT_COUNT, FMT_DAYS, FMT_HHMM, FMT_HOURS, FMT_MINUTES, Column
from etl.attendance.transform import MonthTable
from etl.bulk import gc_paused
from etl.errors import Problem
from etl.text import RISKY_START, is_risky, neutralise

CLOSED_LABELS = {True: "締め済み", False: "未締め"}
_NUL_RISKY = re.compile("\x00(?:" + RISKY_START + ")")  # a cell (after its NUL) that is neutralised


def _one_hhmm(v: int) -> str:
    sign, m = ("-", -v) if v < 0 else ("", v)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


def _one_hours(v: int) -> str:
    """Decimal hours to 2 places, rounded half up, in integer arithmetic: 2701 → '45.02'."""
    sign, m = ("-", -v) if v < 0 else ("", v)
    h = (m * 100 + 30) // 60
    return f"{sign}{h // 100}.{h % 100:02d}"


def _one_number(v: Any) -> str:
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return str(v)


def _one_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return CLOSED_LABELS[v]
    if isinstance(v, dt.date):
        return f"{v.year:04d}/{v.month:02d}/{v.day:02d}"
    return _one_number(v)


def _whole(v: Any) -> int:
    return int(round(v)) if isinstance(v, float) else int(v or 0)


def _blank_none(one: Callable[[Any], str]) -> Callable[[Any], str]:
    """A missing value (None / NaN) is an empty cell, whatever the 形式."""
    return lambda v: "" if v is None or v != v else one(v)


FORMATTERS: dict[str, Callable[[Any], str]] = {
    FMT_MINUTES: _blank_none(lambda v: str(_whole(v))),
    FMT_HOURS: _blank_none(lambda v: _one_hours(_whole(v))),
    FMT_HHMM: _blank_none(lambda v: _one_hhmm(_whole(v))),
    FMT_DAYS: _blank_none(_one_number),
    FMT_COUNT: _blank_none(_one_number),
}


def _by_value(values: Sequence[Any], one: Callable[[Any], str]) -> np.ndarray:
    """Format each distinct value once, then spread it: a month has few distinct figures."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    table = np.array([one(v) for v in uniques.tolist()], dtype=object)
    return table[codes]


def format_column(values: Sequence[Any], column: Column) -> np.ndarray | list[str]:
    """One column's values as strings in its 形式; text is neutralised against formula injection."""
    one = FORMATTERS.get(column.fmt)
    if one is not None:
        return _by_value(values, one)
    texts = _texts(values)
    if _starts_risky(texts):
        texts = [neutralise(t) for t in texts]
    return texts


def _texts(values: Sequence[Any]) -> list[str]:
    """Values as text (文字). An array of bools or numbers is formatted a distinct value at a time,
    as the other 形式 are; a list (or array of objects) a value at a time, strs as they are."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return _by_value(values, _one_text).tolist()
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if set(map(type, values)) <= {str}:
        return list(values)
    return [v if type(v) is str else _one_text(v) for v in values]


def _starts_risky(texts: list[str]) -> bool:
    """Whether a cell is risky (etl.text.is_risky). The cells are joined, each after a NUL, and the
    whole searched for NUL + a risky start in C; a hit (perhaps a NUL inside a cell) is then
    checked cell by cell."""
    joined = "\x00" + "\x00".join(texts)
    return _NUL_RISKY.search(joined) is not None and any(map(is_risky, texts))


def build_frame(table: MonthTable | Sequence[dict[str, Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """The CSV as a frame of strings: one column per chosen Column, in order (headers may repeat)."""
    with gc_paused():
        if isinstance(table, MonthTable):
            source = table.columns
        else:  # records (dicts): take only the keys the columns use, one C-level pass each
            rows = list(table)
            source = {k: list(map(operator.itemgetter(k), rows)) for k in dict.fromkeys(c.item.key for c in columns)}
        n = len(source[columns[0].item.key]) if columns else 0
        data = {i: format_column(source[c.item.key], c) for i, c in enumerate(columns)}
        frame = pd.DataFrame(data, index=pd.RangeIndex(n), columns=range(len(columns)), dtype=_text_dtype() if n else None)
    frame.columns = [neutralise(c.header) for c in columns]
    return frame


def _text_dtype() -> Any:
    """The dtype pandas infers for a column of str (``str`` in pandas 3, ``object`` before), so the
    frame can be built without inferring it column by column (every cell is a str here)."""
    return pd.Series(["x"]).dtype


@dataclass(frozen=True)
class BadCell:
    row: int  # 0-based data row (-1 = the header)
    column: str  # header
    value: str  # the cell as it would be written
    chars: str  # what the encoding cannot hold


class UnencodableError(ValueError):
    def __init__(self, cells: list[BadCell]):
        super().__init__(f"{len(cells)} cells cannot be encoded")
        self.cells = cells


def _csv_text(header: list[str], columns: list[Sequence[str]]) -> str:
    """CSV text with CRLF, quoting as the csv module does (minimal). Cells rarely need quotes, so
    the rows are joined directly and checked by counting; otherwise the csv module writes them."""
    n = len(columns[0]) if columns else 0
    lines = [",".join(header)]
    lines.extend(map(",".join, zip(*columns, strict=True)))
    text = "\r\n".join(lines) + "\r\n"
    width = len(header)
    plain = (width > 1 and '"' not in text and text.count(",") == (width - 1) * (n + 1)
             and text.count("\r") == n + 1 and text.count("\n") == n + 1)
    if plain:
        return text
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    return buf.getvalue()


def _text(header: list[str], frame: pd.DataFrame) -> tuple[str, list[Any]]:
    """The CSV text and the columns it was made from, missing cells (NA) written as "".

    The cells are taken as they are first: ``to_numpy(na_value="")`` tests every cell for NA in
    Python (~1 ms a column of 50,000), and a frame from build_frame has none. A missing cell is
    not a str, so the join fails on it (TypeError) and the columns are taken again with NA filled.
    Lists, because rows zip from lists faster than from arrays."""
    columns = [frame.iloc[:, i].to_numpy(dtype=object).tolist() for i in range(frame.shape[1])]
    with gc_paused():
        try:
            return _csv_text(header, columns), columns
        except TypeError:
            columns = [frame.iloc[:, i].to_numpy(dtype=object, na_value="") for i in range(frame.shape[1])]
            return _csv_text(header, columns), columns


def _is_cp932(encoding: str) -> bool:
    return encoding_label(encoding).startswith("Shift_JIS")


def render_csv(frame: pd.DataFrame, encoding: str = "cp932", *, replace: bool = False) -> tuple[bytes, list[BadCell]]:
    """The CSV file's bytes. For cp932, safe equivalents are applied first; a cell that still
    cannot be held raises UnencodableError (every such cell listed) unless ``replace``, when its
    characters become "?" and the cells are returned so they can be reported."""
    header = [str(h) for h in frame.columns]
    codec = "cp932" if _is_cp932(encoding) else "utf-8"
    text, columns = _text(header, frame)
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        data = None
    bad: list[BadCell] = []
    if data is None:
        header = [make_safe(h) for h in header]
        columns = [[make_safe(v) if not v.isascii() else v for v in col] for col in columns]
        bad = _bad_cells(header, columns, codec)
        if bad and not replace:
            raise UnencodableError(bad)
        if bad:
            header = [replace_unencodable(h, codec) for h in header]
            columns = [[v if v.isascii() else replace_unencodable(v, codec) for v in col] for col in columns]
        # the mapping may have dropped an invisible character or turned − into －: guard again, last
        header = [neutralise(h) for h in header]
        columns = [[neutralise(v) if not v.isascii() else v for v in col] for col in columns]
        data = _csv_text(header, columns).encode(codec)
    if codec == "utf-8":
        data = b"\xef\xbb\xbf" + data
    return data, bad


def _bad_cells(header: list[str], columns: list[list[str]], codec: str) -> list[BadCell]:
    bad = [BadCell(-1, h, h, chars) for h in header if (chars := unencodable_chars(h, codec))]
    for j, col in enumerate(columns):
        try:
            "\x00".join(col).encode(codec)
            continue
        except UnicodeEncodeError:
            pass
        for i, value in enumerate(col):
            if not value.isascii() and (chars := unencodable_chars(value, codec)):
                bad.append(BadCell(i, header[j], value, chars))
    return bad


def bad_cell_problems(cells: list[BadCell], codes: Sequence[str], encoding: str, *, replaced: bool) -> list[Problem]:
    """Each cell that cannot be held, as a problem naming the employee and the column."""
    code = "unencodable-replaced" if replaced else "unencodable-character"
    return [Problem.of(code, employee_code=codes[c.row] if 0 <= c.row < len(codes) else "",
                       value=c.value, column=c.column, encoding=encoding_label(encoding))
            for c in cells]

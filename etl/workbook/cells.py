"""Cell-level conversions for the mapping workbook: labels, codes, dates, booleans, times.

Each parser takes a raw cell value as openpyxl gives it (str, int, float, bool, datetime, date,
time or None) and returns a typed value or raises ``CellError`` whose ``hint`` says what to do.
A formula (a string starting with ``=``) is never evaluated: it is a ``FormulaError``.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache

from etl.workbook.model import FALSE_WORDS, TRUE_WORDS

_TRUE = frozenset(TRUE_WORDS)
_FALSE = frozenset(FALSE_WORDS)
EXCEL_EPOCH = dt.date(1899, 12, 30)
_MAX_SERIAL = 2958465  # 9999-12-31


class CellError(ValueError):
    """A value that cannot be read as the expected kind; ``hint`` is Japanese advice."""

    def __init__(self, hint: str = ""):
        super().__init__(hint)
        self.hint = hint


class FormulaError(CellError):
    def __init__(self) -> None:
        super().__init__("数式ではなく値を直接入力してください。")


def is_formula(value: object) -> bool:
    """A formula cell as read without evaluation: '=…' text, or an openpyxl formula object."""
    if isinstance(value, str):
        return value[:1] == "="
    return value is not None and not isinstance(value, (int, float, dt.date, dt.time, dt.timedelta))


@lru_cache(maxsize=4096)
def norm_label(text: str) -> str:
    """Header / label key: NFKC, case-folded, without any whitespace (「本体部署 ｺｰﾄﾞ」 = 「本体部署コード」)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def text(value: object) -> str:
    """Free text (names, notes): str, trimmed; numbers without a trailing '.0'."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def code(value: object) -> str:
    """A code cell as text: NFKC, trimmed; a numeric 1 or 1.0 reads "1". Raises on a formula."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value[:1] == "=":
            raise FormulaError()
        if value.isascii():
            return value.strip()
        return unicodedata.normalize("NFKC", value).strip()
    if isinstance(value, bool):
        raise CellError("コードを文字として入力してください (TRUE/FALSE は使えません)。")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        raise CellError("コードは文字として入力してください (セルの書式を「文字列」にしてから入力し直す)。")
    if isinstance(value, (dt.date, dt.time)):
        raise CellError("日付ではなくコードを入力してください (セルの書式を「文字列」にしてから入力し直す)。")
    raise FormulaError()


def choice(value: object) -> str:
    """A code picked from a 「1000 本社」 dropdown: the code part, before the first space (an
    attendance-side code is 3–10 alphanumerics, never a space). A bare code reads as itself."""
    text = code(value)
    return text.split(maxsplit=1)[0] if text else ""


def choice_label(code_text: str, name: str) -> str:
    """The dropdown entry for a code: 「1000 本社」 (the bare code when the name is unknown)."""
    return f"{code_text} {name}".strip() if name else code_text


def boolean(value: object, *, blank: bool = False) -> bool:
    """はい/いいえ, する/しない, TRUE/FALSE, ○/×, 1/0 (and yes/no, on/off). Blank → ``blank``."""
    if value is None:
        return blank
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value[:1] == "=":
            raise FormulaError()
        word = unicodedata.normalize("NFKC", value).strip().casefold()
        if not word:
            return blank
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    elif is_formula(value):
        raise FormulaError()
    raise CellError("はい または いいえ を選んでください。")


_TIME_SUFFIX = re.compile(r"(?<=\d)(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
DATE_HINT = "YYYY-MM-DD (例 2026-04-01)、YYYY/MM/DD または和暦 (令和8年4月1日) で入力してください。"


def date(value: object) -> dt.date | None:
    """A date from a date cell, an Excel serial number or text (ISO, slashes, 和暦). Blank → None.

    Text is parsed by the ledger's ``parse_date`` (one date grammar for the whole tool); this
    wrapper adds what is particular to workbook cells: formulas and non-whole serial numbers.
    """
    from etl.ledger.normalize import parse_date

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise CellError(DATE_HINT)
    if isinstance(value, (int, float)):
        if 1 <= value <= _MAX_SERIAL and float(value).is_integer():
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise CellError(DATE_HINT)
    if not isinstance(value, str):
        raise FormulaError() if is_formula(value) else CellError(DATE_HINT)
    if value[:1] == "=":
        raise FormulaError()
    s = _TIME_SUFFIX.sub("", unicodedata.normalize("NFKC", value).strip())
    if not s:
        return None
    try:
        return parse_date(s)
    except ValueError:
        raise CellError(DATE_HINT) from None


_HHMM = re.compile(r"(\d{1,2})[:時](\d{2})分?(?::\d{2})?")
TIME_HINT = "00:00〜23:59 の HH:MM 形式 (例 02:00) で入力してください。"


def time_of_day(value: object) -> dt.time | None:
    """HH:MM from a time cell, a day fraction or text. Blank → None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, bool):
        raise CellError(TIME_HINT)
    if isinstance(value, (int, float)):
        if 0 <= value < 1:
            minutes = round(value * 24 * 60)
            return dt.time(minutes // 60 % 24, minutes % 60)
        raise CellError(TIME_HINT)
    if not isinstance(value, str):
        raise CellError(TIME_HINT)
    if value[:1] == "=":
        raise FormulaError()
    s = unicodedata.normalize("NFKC", value).strip()
    if not s:
        return None
    m = _HHMM.fullmatch(s)
    if m and int(m[1]) < 24 and int(m[2]) < 60:
        return dt.time(int(m[1]), int(m[2]))
    raise CellError(TIME_HINT)


def integer(value: object) -> int | None:
    """A whole number from a number cell or text ("15", "15日"). Blank → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError("整数で入力してください。")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError("整数で入力してください。")
    if isinstance(value, str):
        if value[:1] == "=":
            raise FormulaError()
        s = unicodedata.normalize("NFKC", value).strip().removesuffix("日").strip()
        if not s:
            return None
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
    raise CellError("整数で入力してください。")


def shown(value: object) -> str:
    """A raw value as the user sees it, for messages."""
    if isinstance(value, str):
        return value.strip()
    if is_formula(value):  # an openpyxl formula object
        return str(getattr(value, "text", "") or "(数式)")
    return text(value)

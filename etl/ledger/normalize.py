"""Value normalisers for ledger data (pure): codes, kana, dates (incl. 和暦), gender, e-mail.

Every function is idempotent, so load → export → load gives the same values.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from etl.text import split_emails

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 (after Excel's fictional 1900-02-29)
MAX_SERIAL = 2958465  # 9999-12-31
MIN_YEAR = 1868  # 明治元年: anything older is a typo


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# --------------------------------------------------------------------------------------------
# codes
# --------------------------------------------------------------------------------------------


def normalize_code(value) -> str:
    """A code as text: NFKC (full-width → half-width), trimmed, leading zeros kept.

    Numbers from spreadsheet cells never become "123.0": int 123 and float 123.0 → "123".
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} はコードではありません")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return nfkc(str(value)).strip()


# --------------------------------------------------------------------------------------------
# kana
# --------------------------------------------------------------------------------------------

_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(ord("ぁ"), ord("ゖ") + 1)}
_HIRAGANA_TO_KATAKANA.update({ord("ゝ"): ord("ヽ"), ord("ゞ"): ord("ヾ")})


def to_katakana(text: str) -> str:
    """Hiragana and half-width katakana → full-width katakana (NFKC joins ｶﾞ into ガ); trimmed."""
    if not text:
        return ""
    return nfkc(str(text)).translate(_HIRAGANA_TO_KATAKANA).strip()


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------


# era → (first day, last day or None, offset added to the era year)
ERAS: dict[str, tuple[dt.date, dt.date | None, int]] = {
    "令和": (dt.date(2019, 5, 1), None, 2018),
    "平成": (dt.date(1989, 1, 8), dt.date(2019, 4, 30), 1988),
    "昭和": (dt.date(1926, 12, 25), dt.date(1989, 1, 7), 1925),
    "大正": (dt.date(1912, 7, 30), dt.date(1926, 12, 24), 1911),
}
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正"}

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_WESTERN = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME)
_KANJI = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")  # as text only 5 digits (1927-2173): "12" is a typo, not a date
_WAREKI = re.compile(
    r"(令和|平成|昭和|大正|[RHST])\s*(\d{1,2}|元)\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})\s*日?",
    re.IGNORECASE,
)


def from_serial(serial: float) -> dt.date:
    """An Excel serial day number (1900 date system) → date; the time of day is dropped."""
    day = int(serial)
    if day < 1 or day > MAX_SERIAL or day == 60:  # 60 is Excel's non-existent 1900-02-29
        raise ValueError(f"{serial!r} は日付のシリアル値として範囲外です")
    return EXCEL_EPOCH + dt.timedelta(days=day + (1 if day < 60 else 0))


def _checked(year: int, month: int, day: int) -> dt.date:
    value = dt.date(year, month, day)  # raises ValueError for 2月30日 and the like
    if value.year < MIN_YEAR:
        raise ValueError(f"{value} は古すぎます")
    return value


def _wareki(era: str, year_text: str, month: int, day: int) -> dt.date:
    era = _ERA_LETTERS.get(era.upper(), era)
    first, last, offset = ERAS[era]
    year = 1 if year_text == "元" else int(year_text)
    if year < 1:
        raise ValueError(f"{era}{year}年はありません")
    value = dt.date(year + offset, month, day)
    if value < first or (last is not None and value > last):
        raise ValueError(f"{era}{year_text}年{month}月{day}日は{era}の期間外です")
    return value


def parse_date(value) -> dt.date | None:
    """A date from a cell or text; "" / None → None; ValueError when unreadable or impossible.

    Accepts date/datetime, Excel serial numbers (int/float, or digits as text), YYYY-MM-DD,
    YYYY/MM/DD, YYYYMMDD, YYYY年M月D日 and 和暦 (令和6年4月1日, R6.4.1, 平成31年4月30日, 令和元年5月1日).
    As text, only a five-digit number is taken as a serial ("45383"); "12" is an error.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} は日付ではありません")
    if isinstance(value, int | float | Decimal):
        return from_serial(float(value))
    text = nfkc(str(value)).strip()
    if not text:
        return None
    if m := _WESTERN.fullmatch(text) or _KANJI.fullmatch(text) or _COMPACT.fullmatch(text):
        return _checked(int(m[1]), int(m[2]), int(m[3]))
    if m := _WAREKI.fullmatch(text):
        return _wareki(m[1], m[2], int(m[3]), int(m[4]))
    if _SERIAL.fullmatch(text):
        return from_serial(float(text))
    raise ValueError(f"「{text}」は日付として読めません")


# --------------------------------------------------------------------------------------------
# gender, e-mail
# --------------------------------------------------------------------------------------------

_GENDERS = {"男性": "male", "男": "male", "male": "male", "m": "male",
            "女性": "female", "女": "female", "female": "female", "f": "female"}
GENDER_LABELS = {"male": "男性", "female": "女性"}


def parse_gender(value) -> str:
    """男性/女性/男/女/male/female/M/F → "male"/"female"; "" → ""; ValueError otherwise."""
    if value is None:
        return ""
    text = nfkc(str(value)).strip().casefold()
    if not text:
        return ""
    try:
        return _GENDERS[text]
    except KeyError:
        raise ValueError(f"「{value}」は性別として読めません") from None


_EMAIL = re.compile(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+")


def normalize_emails(value) -> tuple[str, list[str]]:
    """E-mail addresses (several separated by ; , or whitespace) → ("a@x.jp;b@y.jp", [bad ones])."""
    text = nfkc("" if value is None else str(value)).strip()
    parts = split_emails(text)
    bad = [p for p in parts if not _EMAIL.fullmatch(p)]
    return ";".join(parts), bad


def clean_text(value) -> str:
    """A free-text cell (names, department name, class): trimmed, numbers without ".0"."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return normalize_code(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()

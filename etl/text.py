"""Text rules every writer shares: the formula-injection guard and one-line messages.

``neutralise`` is applied last to every text cell a CSV writer emits: whatever can drop or
change characters (the cp932 look-alike mapping) runs before it, so nothing can bring a leading
= + - @ back. A cell is risky when its first visible character is = + - @ or their full-width
forms ＝ ＋ － ＠ (Excel in Japanese takes those as a formula too) or −, or it starts with a tab or CR;
invisible characters (zero-width space, BOM, bidi controls, variation selectors, spaces) before
that character do not hide it. ``text_cells`` is the same guard for an XLSX workbook: every
cell this program wrote that would be a formula is written as a text cell instead.
``sheet_text`` is what every XLSX writer puts in a cell: characters an XLSX file cannot hold
(C0 controls but tab and line breaks) shown as \\xNN, so a control character in a ledger value or
an API answer is visible instead of crashing the save. ``one_line`` keeps a message on one
terminal line. ``is_excel_error`` recognises Excel's error values (#N/A, #REF!, …).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# a cell whose first visible character is one of these could run as a formula in Excel
# (− U+2212 too: cp932 encodes it as the bytes of －, so a cp932 file shows it as －)
DANGEROUS = "=+-@\uff1d\uff0b\uff0d\uff20\u2212"
RISKY_PREFIXES = (*DANGEROUS, "\t", "\r")
# characters that show nothing (or only space) and may stand before a dangerous one: white space,
# format characters (Unicode category Cf: zero-width, BOM, bidi controls, soft hyphen…),
# variation selectors, the combining grapheme joiner, the Hangul fillers
_INVISIBLE = ("\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
              "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
              "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
RISKY_START = "[" + _INVISIBLE + "]*[" + re.escape(DANGEROUS) + "]|[\t\r]"
_RISKY = re.compile(RISKY_START)


def is_risky(text: str) -> bool:
    """Whether Excel could take ``text`` as a formula (see the module doc)."""
    return _RISKY.match(text) is not None


def neutralise(value: Any) -> str:
    """The cell as text, prefixed with ' when it is risky, so Excel shows it as text."""
    text = "" if value is None else str(value)
    return "'" + text if _RISKY.match(text) else text


def unneutralise(value: str) -> str:
    """Undo ``neutralise`` (a ledger file written by `ledger export` loads back as it was)."""
    return value[1:] if value[:1] == "'" and _RISKY.match(value, 1) else value


def formula_cells(wb: Any) -> set[int]:
    """The ids of the cells of an openpyxl workbook that hold a formula now (HR's own formulas,
    to be kept as they are by ``text_cells``)."""
    return {id(c) for c in _cells(wb) if c.data_type == "f"}


def text_cells(wb: Any, keep: Iterable[int] = ()) -> int:
    """Every formula cell of ``wb`` except those in ``keep`` becomes a text cell with the same
    text: what this program writes into a workbook is never a live formula. The count changed."""
    kept = set(keep)
    changed = 0
    for cell in _cells(wb):
        if cell.data_type == "f" and id(cell) not in kept:
            value = cell.value
            cell.value = value if isinstance(value, str) else str(getattr(value, "text", None) or value)
            cell.data_type = "s"
            changed += 1
    return changed


def _cells(wb: Any) -> Iterable[Any]:
    """The cells a workbook holds (not the empty ones inside its used range)."""
    for ws in getattr(wb, "worksheets", ()):
        yield from getattr(ws, "_cells", {}).values()


# what XML 1.0 (so an XLSX cell) cannot hold: openpyxl refuses these (IllegalCharacterError)
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def sheet_text(value: Any) -> Any:
    """``value`` fit for an XLSX cell: a str with the characters XML cannot hold shown as \\xNN
    (as ``one_line`` shows them); anything else as it is."""
    if isinstance(value, str) and _NOT_IN_XLSX.search(value):
        return _NOT_IN_XLSX.sub(lambda m: f"\\x{ord(m[0]):02x}", value)
    return value


# what Excel shows in a cell whose formula failed: an XLSX holds it as an error cell (t="e"), a
# CSV saved from Excel as its text. Never a value: a ledger file holding one is refused.
EXCEL_ERROR_VALUES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                      "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
                      "#EXTERNAL!", "#PYTHON!")
_EXCEL_ERROR = re.compile(r"\s*(?:" + "|".join(map(re.escape, EXCEL_ERROR_VALUES)) + r")\s*", re.IGNORECASE)


def is_excel_error(value: Any) -> bool:
    """Whether ``value`` is one of Excel's error values (#N/A, #REF!, …), spaces around it aside."""
    return isinstance(value, str) and _EXCEL_ERROR.fullmatch(value) is not None


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """``text`` fit for one terminal line: line breaks and tabs become spaces, other control
    characters (NUL, ESC…) are shown as \\xNN."""
    return _CONTROL_CHARS.sub(lambda m: " " if m[0] in "\r\n\t" else f"\\x{ord(m[0]):02x}", text)


_EMAIL_SEPARATORS = re.compile(r"[,;、，；\s\u3000]+")
OTHER_EMAIL_SEPARATORS = re.compile(r"[,、，；\s\u3000]")  # any separator but ";" (the ledger's own form)


def split_emails(text: str | None) -> list[str]:
    """E-mail addresses separated by comma, semicolon, 、, whitespace or newline (full-width ，；
    too); blanks and repeats (ignoring case) dropped, order kept."""
    if not text:
        return []
    if not OTHER_EMAIL_SEPARATORS.search(text):  # the ledger's own form "a@x.jp;b@y.jp": the plan's hot path
        parts = [p for p in text.split(";") if p]
        if len(parts) < 2:
            return parts
    else:
        parts = [p for p in _EMAIL_SEPARATORS.split(text) if p]
    out: list[str] = []
    seen: set[str] = set()
    for part in parts:
        if part.lower() not in seen:
            seen.add(part.lower())
            out.append(part)
    return out

"""Text for a cp932 (Windows "Shift_JIS") file: safe equivalents, and what still cannot be held.

cp932 holds the NEC and IBM extensions (①, ㈱, 髙, 﨑), so the file is written as cp932, never
as JIS ``shift_jis``. Characters it lacks but that have an obvious look-alike it does hold are
mapped (〜 → ～, − → －, — → ―, NBSP → space…); variation selectors are dropped (the base
character stays). Anything else (𠮷, 鷗, é…) is reported, or replaced by "?" when asked.
"""
from __future__ import annotations

import unicodedata

# character → the cp932 character that looks and reads the same (KOT_API.md §5.3)
SAFE_EQUIVALENTS: dict[str, str] = {
    "\u301c": "\uff5e",  # 〜 WAVE DASH → ～ FULLWIDTH TILDE (what cp932's 0x8160 means)
    "\u2212": "\uff0d",  # − MINUS SIGN → － FULLWIDTH HYPHEN-MINUS (0x817C)
    "\u2016": "\u2225",  # ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
    "\u00a2": "\uffe0",  # ¢ → ￠
    "\u00a3": "\uffe1",  # £ → ￡
    "\u00ac": "\uffe2",  # ¬ → ￢
    "\u00a5": "\uffe5",  # ¥ → ￥
    "\u203e": "\uffe3",  # ‾ OVERLINE → ￣
    "\u00a6": "\uffe4",  # ¦ → ￤
    "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR
    "\u2013": "\uff0d",  # – EN DASH → －
    "\u2012": "\uff0d",  # ‒ FIGURE DASH → －
    "\u2011": "\u2010",  # ‑ NON-BREAKING HYPHEN → ‐
    "\u00a0": " ",  # NO-BREAK SPACE → space
    "\u2002": " ", "\u2003": "\u3000", "\u2009": " ",  # en / em / thin space
    "\u00b7": "\u30fb",  # · MIDDLE DOT → ・
    "\u2022": "\u30fb",  # • BULLET → ・
    "\u2027": "\u30fb",  # ‧ HYPHENATION POINT → ・
    "\u2215": "\uff0f",  # ∕ DIVISION SLASH → ／
    "\u2053": "\uff5e",  # ⁓ SWUNG DASH → ～
}
# dropped: variation selectors (IVS / SVS) and zero-width characters
_DROPPED = [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), 0x200B, 0x200C, 0x200D, 0xFEFF]

TRANSLATION: dict[int, str | None] = {ord(k): v for k, v in SAFE_EQUIVALENTS.items()}
TRANSLATION.update(dict.fromkeys(_DROPPED))

_COMBINING_KANA = ("\u3099", "\u309a")  # combining (han)dakuten: NFC joins them to か+゛ → が


def make_safe(text: str) -> str:
    """``text`` with the safe equivalents applied (the result may still hold unencodable chars)."""
    if any(c in text for c in _COMBINING_KANA):
        text = unicodedata.normalize("NFC", text)
    return text.translate(TRANSLATION)


def unencodable_chars(text: str, encoding: str) -> str:
    """The characters of ``text`` that ``encoding`` cannot hold, in order, without repeats."""
    bad: list[str] = []
    for ch in text:
        if ord(ch) < 0x80 or ch in bad:
            continue
        try:
            ch.encode(encoding)
        except UnicodeEncodeError:
            bad.append(ch)
    return "".join(bad)


def replace_unencodable(text: str, encoding: str) -> str:
    """``text`` with every character ``encoding`` cannot hold replaced by "?"."""
    bad = unencodable_chars(text, encoding)
    return "".join("?" if c in bad else c for c in text) if bad else text


def encoding_label(encoding: str) -> str:
    """How the encoding is named to HR."""
    return "Shift_JIS (cp932)" if encoding.lower().replace("-", "").replace("_", "") in ("cp932", "shiftjis", "sjis") \
        else "UTF-8"

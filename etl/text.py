"""Text rules every writer shares: the formula-injection guard and one-line messages.

``neutralise`` is applied last to every text cell a writer emits (CSV and XLSX), so nothing that
runs earlier can reintroduce a leading = + - @. ``one_line`` keeps a message on one terminal line.
"""
from __future__ import annotations

import re
from typing import Any

# a CSV cell starting with one of these could run as a formula in Excel (CSV injection)
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A CSV cell that starts with = + - @ (or tab/CR) is prefixed with ' so Excel shows it as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in RISKY_PREFIXES else text


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    """``text`` fit for one terminal line: line breaks and tabs become spaces, other control
    characters (NUL, ESC…) are shown as \\xNN."""
    return _CONTROL_CHARS.sub(lambda m: " " if m[0] in "\r\n\t" else f"\\x{ord(m[0]):02x}", text)


_EMAIL_SEPARATORS = re.compile(r"[,;、，；\s\u3000]+")
_NOT_SEMICOLON = re.compile(r"[,、，；\s\u3000]")


def split_emails(text: str | None) -> list[str]:
    """E-mail addresses separated by comma, semicolon, 、, whitespace or newline (full-width ，；
    too); blanks and repeats (ignoring case) dropped, order kept."""
    if not text:
        return []
    if not _NOT_SEMICOLON.search(text):  # the ledger's own form "a@x.jp;b@y.jp": the plan's hot path
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

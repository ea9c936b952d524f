"""The typed shape of a ``/monthly-workings`` entry: only the fields the items read (pure).

``decode_month`` turns the answer's bytes into ``Entry`` structs (msgspec): the ~40 fields per
employee the catalogue does not use are skipped while parsing, and nothing else is built. A
number KOT leaves out (a null property is omitted) is ``ABSENT`` in the struct, so the transform
can tell "absent" from 0 after converting a whole block of numbers at once.

Minutes and counts are integers (KOT_API.md §2.3-2.4); day counts may be fractional (half days).
The fields come from ``items.ITEMS`` (their ``sources``, kinds and ``SPELLINGS``): a new source
there is a new field here. An answer that does not fit the types (a value that is not a number, a
null object, fractional minutes) is read again leniently, as the transform always has: a value
that is not a number counts as absent, and fractional minutes are cut to whole minutes.
"""
from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import numpy as np

from etl.attendance.items import DAYS, ITEMS, SPELLINGS

ABSENT = -(2**53)  # what a struct holds for a number the entry lacks (exact as int64 and float64)
LISTED = ("employeeKey", "startDate", "endDate", "holidaysObtained", "isClosing")  # read as they are


class Holiday(msgspec.Struct, gc=False, frozen=True):
    """One ``holidaysObtained`` element (code 1 = 有休 by default; hourly leave has no dayCount)."""

    code: Any = None
    dayCount: int | float | None = None  # noqa: N815 - KOT's name


def _source_paths() -> tuple[dict[str, list[str]], set[str]]:
    """KOT fields read as numbers, grouped by their outer object ('' = top level), every spelling;
    and those that may be fractional (the sources of a 日数 item)."""
    groups: dict[str, list[str]] = {"": []}
    fractional: set[str] = set()
    for item in ITEMS:
        for path in item.sources:
            if path.startswith("holidaysObtained.") or path in LISTED:
                continue
            for name in SPELLINGS.get(path, (path,)):
                outer, _, inner = name.rpartition(".")
                names = groups.setdefault(outer, [])
                if inner not in names:
                    names.append(inner)
                if item.kind == DAYS:
                    fractional.add(name)
    return groups, fractional


_GROUPS, FRACTIONAL = _source_paths()
OBJECTS: tuple[str, ...] = tuple(o for o in _GROUPS if o)
# The blocks of numbers the transform converts at once, in struct order: (object or '', names, dtype).
# Top-level numbers come as two blocks (fractional, whole), each object as one.
BLOCKS: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    ("", tuple(n for n in _GROUPS[""] if n in FRACTIONAL), np.float64),
    ("", tuple(n for n in _GROUPS[""] if n not in FRACTIONAL), np.int64),
    *((o, tuple(_GROUPS[o]), np.float64 if any(f"{o}.{i}" in FRACTIONAL for i in _GROUPS[o]) else np.int64)
      for o in OBJECTS),
)
NUMBERS: tuple[str, ...] = BLOCKS[0][1] + BLOCKS[1][1]  # top-level numbers, in struct order after LISTED
PATHS: tuple[str, ...] = tuple(f"{o}.{n}" if o else n for o, names, _ in BLOCKS for n in names)


def _number_type(path: str) -> Any:
    return int | float if path in FRACTIONAL else int


_OBJECT_TYPES = {o: msgspec.defstruct(f"{o[0].upper()}{o[1:]}", [(i, _number_type(f"{o}.{i}"), ABSENT) for i in _GROUPS[o]],
                                      gc=False, frozen=True)
                 for o in OBJECTS}
_EMPTY = {o: t() for o, t in _OBJECT_TYPES.items()}  # an absent object: every number ABSENT

Entry = msgspec.defstruct(
    "Entry",
    [("employeeKey", str | None, None), ("startDate", str | None, None), ("endDate", str | None, None),
     ("holidaysObtained", list[Holiday] | None, None), ("isClosing", bool | None, None),
     *((n, _number_type(n), ABSENT) for n in NUMBERS),
     *((o, t, _EMPTY[o]) for o, t in _OBJECT_TYPES.items())],
    gc=False,  # no reference cycles: 50,000 of them are left out of the collector's scans
)

ENTRIES: Any = list[Entry]  # type: ignore[valid-type]  # a type made at run time, from the catalogue
_DECODER = msgspec.json.Decoder(ENTRIES)


_KEY = operator.attrgetter("employeeKey")


def decode_month(data: bytes) -> Any:
    """The answer's bytes → a list of ``Entry``; an answer of another shape (an error body, a value
    the types do not allow, an entry without its employeeKey) → plain JSON, as ``json.loads`` gives it. Raises ValueError
    when the bytes are not JSON (the client treats that as a cut-short answer and retries)."""
    try:
        entries = _DECODER.decode(data)
    except msgspec.ValidationError:
        return json.loads(data)
    except msgspec.DecodeError as e:
        raise ValueError(str(e)) from None
    if not all(map(_KEY, entries)):  # an entry without its employeeKey: the client's shape check says so
        return json.loads(data)
    return entries


def as_entries(raw: Iterable[Any]) -> list[Any]:
    """Entries as ``Entry`` structs, whatever they came as (structs, or dicts from a state file or
    a test). Dicts are converted strictly in one call; when that fails they are read one by one,
    keeping only values of the right type."""
    items = raw if isinstance(raw, list) else list(raw)
    if set(map(type, items)) <= {Entry}:
        return items
    dicts = [e for e in items if type(e) is not Entry]
    try:
        converted = iter(msgspec.convert(dicts, ENTRIES))
    except (msgspec.ValidationError, TypeError):
        converted = iter([_lenient(d) for d in dicts])
    return [e if type(e) is Entry else next(converted) for e in items]


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) and value == value else ABSENT


def _lenient(d: Any) -> Any:
    """One entry, reading what has the documented type and treating everything else as absent."""
    if not isinstance(d, Mapping):
        return Entry()
    fields: dict[str, Any] = {n: _number(d[n]) for n in NUMBERS if n in d}
    for outer in OBJECTS:
        obj = d.get(outer)
        if isinstance(obj, Mapping):
            fields[outer] = _OBJECT_TYPES[outer](**{i: _number(obj[i]) for i in _GROUPS[outer] if i in obj})
    for name in ("employeeKey", "startDate", "endDate"):
        if isinstance(d.get(name), str):
            fields[name] = d[name]
    if d.get("isClosing") is not None:
        fields["isClosing"] = bool(d["isClosing"])
    leave = d.get("holidaysObtained")
    if isinstance(leave, list):
        fields["holidaysObtained"] = [
            Holiday(h.get("code"), None if (n := _number(h.get("dayCount"))) == ABSENT else n)
            for h in leave if isinstance(h, Mapping)]
    return Entry(**fields)


def entry_key(entry: Any) -> Any:
    """The employeeKey of an entry, a struct or a dict."""
    return _KEY(entry) if type(entry) is Entry else entry.get("employeeKey") if isinstance(entry, Mapping) else None

"""KOT ``/monthly-workings`` entries → the month's table of records (pure).

The arithmetic follows ``items.ITEMS`` (which KOT fields make each total). The transform is
columnar: the entries are read a block at a time with C-level itemgetter passes (see
``_extract_blocked``: the parsed JSON is far bigger than the CPU cache, so memory, not Python, is
the cost), and ``MonthTable`` holds one list or numpy array per item. ``MonthTable.rows()`` gives
one dict per employee for the ledger and the checks.
"""
from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from etl.attendance.items import DATE, DAYS, FLAG, ITEMS, LEDGER_KEYS, TEXT, Item
from etl.bulk import gc_paused

# items computed by summing KOT fields (minutes, days and counts)
_SUMMED: tuple[Item, ...] = tuple(i for i in ITEMS if i.kind not in (TEXT, DATE, FLAG) and i.key != "paid_leave_days")
_EMPTY: Mapping[str, Any] = {}


class Person(NamedTuple):
    """Who an ``employeeKey`` is: code, display name and attendance-side division."""

    code: str
    name: str = ""
    division_code: str = ""
    division_name: str = ""


@dataclass
class MonthTable:
    """One month of attendance, column by column, sorted by employee code."""

    month: str
    columns: dict[str, Any] = field(default_factory=dict)  # item key → a list or numpy array, one value per employee
    unknown_keys: list[str] = field(default_factory=list)  # employeeKeys with no code anywhere

    def __len__(self) -> int:
        return len(self.columns.get("employee_code", ()))

    def column(self, key: str) -> list[Any]:
        """One column as plain Python values (ints, floats, str, dates, bools)."""
        values = self.columns[key]
        return values.tolist() if isinstance(values, np.ndarray) else list(values)

    def rows(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """One dict per employee (all columns, or just ``keys``, e.g. ``LEDGER_KEYS``)."""
        names = list(self.columns if keys is None else keys)
        return [dict(zip(names, values, strict=True)) for values in zip(*(self.column(k) for k in names), strict=True)]

    def records(self) -> list[dict[str, Any]]:
        """The ledger's monthly_attendance records."""
        return self.rows(LEDGER_KEYS)

    @classmethod
    def from_rows(cls, month: str, rows: list[Mapping[str, Any]]) -> MonthTable:
        """A table from row dicts (tests, and rows read back from the ledger)."""
        keys = list(rows[0]) if rows else [i.key for i in ITEMS]
        return cls(month, {k: [r.get(k) for r in rows] for k in keys})


def full_name(last: Any, first: Any) -> str:
    return " ".join(p for p in (str(last or "").strip(), str(first or "").strip()) if p)


def directory(remote_employees: Iterable[Mapping[str, Any]], links: Mapping[str, Any] | Iterable[Any] = (),
              ledger_employees: Iterable[Any] = ()) -> dict[str, Person]:
    """employeeKey → Person: the attendance side's employee list (resigned included) first, then
    the ledger's links (code, key) for keys the list does not hold. Names come from the ledger
    when it has the employee, otherwise from the attendance side."""
    names = {e.code: full_name(e.last_name, e.first_name) for e in ledger_employees}
    out: dict[str, Person] = {}
    for link in (links.values() if isinstance(links, Mapping) else links):
        if link.key and link.code:
            out[link.key] = Person(link.code, names.get(link.code, ""))
    for r in remote_employees:
        key, code = r.get("key"), r.get("code")
        if not key or not code:
            continue
        code = str(code)
        out[key] = Person(code, names.get(code) or full_name(r.get("lastName"), r.get("firstName")),
                          str(r.get("divisionCode") or ""), str(r.get("divisionName") or ""))
    return out


def _pick(entries: list[Mapping[str, Any]], names: tuple[str, ...], default: Any) -> list[tuple[Any, ...]]:
    """(entry[name] for name in names) per entry; one C call per entry when every key is there
    (KOT leaves null properties out, so a missing key falls back to ``default``)."""
    getter = operator.itemgetter(*names)
    single = len(names) == 1
    try:
        picked = list(map(getter, entries))
    except KeyError:
        picked = [getter(e) if all(n in e for n in names) else
                  (e.get(names[0], default) if single else tuple(e.get(n, default) for n in names))
                  for e in entries]
    return [(v,) for v in picked] if single else picked


def _column(values: tuple[Any, ...] | list[Any]) -> np.ndarray:
    """Numbers → a float column (None and junk count as 0)."""
    try:
        return np.fromiter(values, dtype=np.float64, count=len(values))
    except (TypeError, ValueError):
        return np.array([v if isinstance(v, int | float) else 0 for v in values], dtype=np.float64)


def _sources(items: Iterable[Item]) -> dict[str, list[str]]:
    """KOT field paths grouped by their outer object ('' = top level)."""
    groups: dict[str, list[str]] = {}
    for path in dict.fromkeys(p for i in items for p in i.sources):
        outer, _, inner = path.rpartition(".")
        groups.setdefault(outer, []).append(inner)
    return groups


_GROUPS = _sources(_SUMMED)
_OBJECTS = tuple(o for o in _GROUPS if o)
_LISTED = ("employeeKey", "startDate", "endDate", "holidaysObtained", "isClosing")  # not summed
_TOP = (*_LISTED, *_OBJECTS, *_GROUPS.get("", ()))
_PATHS = tuple(f"{outer}.{inner}" if outer else inner for outer, inners in _GROUPS.items() for inner in inners)
_BLOCK = 256  # entries read at a time: a block's dicts stay in the CPU cache while every field is read

Convert = Callable[[list[Any]], list[Any]]


def _extract(entries: list[Mapping[str, Any]], convert: Mapping[str, Convert]
             ) -> tuple[list[list[Any]], dict[str, np.ndarray]]:
    """The ``_LISTED`` values, each list passed through ``convert[name]`` if any (value by value), and
    every summed KOT field as a float column. Complete, well-formed entries take the fast path;
    a missing field, a null object or a value that is not a number sends all of them down the
    lenient one (the same result either way)."""
    if not entries:
        return [convert.get(name, _same)([]) for name in _LISTED], {path: np.zeros(0) for path in _PATHS}
    try:
        return _extract_blocked(entries, convert)
    except (KeyError, TypeError, ValueError):
        top, fields = _extract_lenient(entries)
        return [convert.get(name, _same)(values) for name, values in zip(_LISTED, top, strict=True)], fields


def _extract_blocked(entries: list[Mapping[str, Any]], convert: Mapping[str, Convert]
                     ) -> tuple[list[list[Any]], dict[str, np.ndarray]]:
    """The fast path: C-level itemgetter passes, block by block.

    The parsed JSON (~150 MB for 50,000 entries) is far bigger than the CPU cache, and reading a
    nested object (holidayWork, ...) costs a trip to memory per entry; a whole-list pass per
    object or per conversion would pay that again and again. Reading every field of a block
    before the next one pays it once. Raises KeyError / TypeError / ValueError on an entry the
    lenient path must handle."""
    n = len(entries)
    top_getter = operator.itemgetter(*_LISTED, *_OBJECTS)
    lists: list[list[Any]] = [[] for _ in _LISTED]
    numbers = np.empty((n, len(_PATHS)), dtype=np.float64)  # one row per entry, one column per path
    for lo in range(0, n, _BLOCK):
        block = entries[lo:lo + _BLOCK]
        hi = lo + len(block)
        top = dict(zip((*_LISTED, *_OBJECTS), zip(*map(top_getter, block), strict=True), strict=True))
        for name, values in zip(_LISTED, lists, strict=True):
            values.extend(convert.get(name, _same)(list(top[name])))
        col = 0
        for outer, inners in _GROUPS.items():
            numbers[lo:hi, col:col + len(inners)] = _floats(top[outer] if outer else block, inners, hi - lo)
            col += len(inners)
    return lists, dict(zip(_PATHS, np.ascontiguousarray(numbers.T), strict=True))


def _floats(objects: Iterable[Mapping[str, Any]], names: list[str], count: int) -> np.ndarray:
    """(count, len(names)) floats: each object's values of ``names``, converted in one C call."""
    getter = operator.itemgetter(*names)
    values = itertools.chain.from_iterable(map(getter, objects)) if len(names) > 1 else map(getter, objects)
    return np.fromiter(values, dtype=np.float64, count=count * len(names)).reshape(count, len(names))


def _extract_lenient(entries: list[Mapping[str, Any]]) -> tuple[list[list[Any]], dict[str, np.ndarray]]:
    """The general path: missing keys count as 0 (KOT leaves null properties out), a null
    object as an empty one, and values that are not numbers as 0."""
    rows = _pick(entries, _TOP, 0)
    top = dict(zip(_TOP, zip(*rows, strict=True), strict=True))
    fields: dict[str, np.ndarray] = {k: _column(top[k]) for k in _GROUPS.get("", [])}
    for outer in _OBJECTS:
        inners = _GROUPS[outer]
        dicts = [o or _EMPTY for o in top[outer]]
        picked = list(zip(*_pick(dicts, tuple(inners), 0), strict=True))
        fields.update({f"{outer}.{k}": _column(v) for k, v in zip(inners, picked, strict=True)})
    return [list(top[k]) for k in _LISTED], fields


def _total(fields: dict[str, np.ndarray], item: Item) -> np.ndarray:
    out = fields[item.sources[0]]
    for path in item.sources[1:]:
        out = out + fields[path]
    return out if item.kind == DAYS else out.astype(np.int64)


def paid_leave_days(entries: Iterable[Mapping[str, Any]] | None, codes: Iterable[Any]) -> float | int:
    """Days of leave whose code is one of ``codes`` (hourly leave has no dayCount and adds 0)."""
    return _paid_leave([entries], _code_set(codes))[0]


def _code_set(codes: Iterable[Any]) -> frozenset[Any]:
    """Leave codes as text and as numbers (KOT sends 1; the setting says "1")."""
    out: set[Any] = set()
    for c in codes:
        text = str(c).strip()
        out.add(text)
        if text.lstrip("-").isdigit():
            out.add(int(text))
    return frozenset(out)


def _paid_leave(lists: list[Any], codes: frozenset[Any]) -> list[Any]:
    """Per entry, its leave days (see paid_leave_days); only the entries with any leave are walked."""
    out: list[Any] = [0] * len(lists)
    for i in itertools.compress(range(len(lists)), lists):
        total = 0
        for h in lists[i]:
            if h.get("code") in codes:
                total += h.get("dayCount") or 0
        out[i] = total
    return out


def _converters(paid_leave_codes: frozenset[Any]) -> dict[str, Convert]:
    """How the ``_LISTED`` KOT values become columns (a value at a time; the key stays as it is)."""
    return {"startDate": _dates, "endDate": _dates, "isClosing": _truths,
            "holidaysObtained": lambda lists: _paid_leave(lists, paid_leave_codes)}


def _same(values: list[Any]) -> list[Any]:
    return values


def _truths(values: list[Any]) -> list[bool]:
    return list(map(bool, values))


def _dates(values: list[Any]) -> list[dt.date | None]:
    memo: dict[Any, dt.date | None] = {}
    for v in set(values):
        try:
            memo[v] = dt.date.fromisoformat(str(v)[:10]) if v else None
        except ValueError:
            memo[v] = None
    return list(map(memo.__getitem__, values))


def transform_month(raw: list[Mapping[str, Any]], month: str, people: Mapping[str, Person], *,
                    paid_leave_codes: Iterable[Any] = ("1",), imported_at: str = "") -> MonthTable:
    """Every entry whose employeeKey is known → one record (ledger columns + name, division, key)."""
    with gc_paused():
        return _transform(raw, month, people, paid_leave_codes, imported_at)


def _transform(raw: list[Mapping[str, Any]], month: str, people: Mapping[str, Person],
               paid_leave_codes: Iterable[Any], imported_at: str) -> MonthTable:
    table = MonthTable(month)
    convert = _converters(_code_set(paid_leave_codes))
    try:  # converted block by block, while the entries are in the CPU cache
        listed, fields = _extract(raw, convert)
        later: Mapping[str, Convert] = {}
    except Exception:  # noqa: BLE001 - junk, perhaps in an entry dropped below: convert after dropping, as usual
        listed, fields = _extract(raw, {})
        later = convert
    keys = listed[0]
    persons = list(map(people.get, keys))
    if None in persons:
        table.unknown_keys = [str(k or "") for k, p in zip(keys, persons, strict=True) if p is None]
        kept = [p is not None for p in persons]
        listed = [list(itertools.compress(values, kept)) for values in listed]
        persons = list(itertools.compress(persons, kept))
        fields = {k: v[np.array(kept, dtype=bool)] for k, v in fields.items()}
    keys, starts, ends, paid, closing = (later.get(name, _same)(values)
                                         for name, values in zip(_LISTED, listed, strict=True))
    n = len(persons)
    codes, names, division_codes, division_names = (list(c) for c in zip(*persons, strict=True)) if n else ([],) * 4
    cols: dict[str, Any] = {
        "employee_code": codes,
        "name": names,
        "division_code": division_codes,
        "division_name": division_names,
        "month": [month] * n,
        "period_start": starts,
        "period_end": ends,
    }
    for item in _SUMMED:
        cols[item.key] = _total(fields, item)
    cols["paid_leave_days"] = np.asarray(paid, dtype=np.float64)
    cols["is_closing"] = np.array(closing, dtype=bool)
    cols["imported_at"] = [imported_at] * n
    cols["employee_key"] = list(map(str, keys))
    order = None
    if codes != sorted(codes):
        order = np.array(sorted(range(n), key=codes.__getitem__), dtype=np.intp)
    for key in (*(i.key for i in ITEMS), "imported_at", "employee_key"):
        values = cols[key]
        if order is not None:
            values = (values if isinstance(values, np.ndarray) else np.array(values, dtype=object))[order]
        table.columns[key] = values
    return table

"""KOT ``/monthly-workings`` entries → the month's table of records (pure).

The arithmetic follows ``items.ITEMS`` (which KOT fields make each total). The entries are the
typed structs of ``entries.decode_month`` (only the fields used; dicts are converted first), and
the transform is columnar: every number of every entry goes into one float matrix in a few C-level
passes, NaN marking a field the entry lacks (KOT omits nulls; it counts as 0, and a field no entry
has is reported). ``MonthTable`` holds one list or numpy array per item; ``MonthTable.rows()``
gives one dict per employee for the ledger and the checks.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from msgspec.structs import astuple

from etl.attendance.entries import ABSENT, BLOCKS, LISTED, Holiday, as_entries
from etl.attendance.items import DATE, DAYS, FLAG, ITEMS, LEDGER_KEYS, SPELLINGS, TEXT, Item
from etl.bulk import gc_paused
from etl.errors import Problem

# items computed by summing KOT fields (minutes, days and counts)
_SUMMED: tuple[Item, ...] = tuple(i for i in ITEMS if i.kind not in (TEXT, DATE, FLAG) and i.key != "paid_leave_days")


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
    problems: list[Problem] = field(default_factory=list)  # attendance-field-missing warnings
    absent: set[str] = field(default_factory=set)  # KOT source paths no entry has (optional ones included)

    def optional_absent(self) -> list[tuple[str, str]]:
        """(KOT field, item label) for each optional source no entry of the month has (e.g. the
        週40時間超 of ``weeklyWork`` when the tenant does not send it): not a warning, but said."""
        if not len(self):
            return []
        return [(path, i.label) for i in ITEMS for path in i.optional if path in self.absent]

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
    stored: Iterable[Any] = links.values() if isinstance(links, Mapping) else links
    for link in stored:
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


_BLOCK = 512  # entries read at a time: a block's structs and tuples stay in the CPU cache


def _extract(entries: list[Any]) -> tuple[list[list[Any]], dict[str, np.ndarray]]:
    """The ``LISTED`` values as lists, and every numeric KOT path as a column (``ABSENT`` where an
    entry lacks it). Block by block: each entry becomes a tuple (one C call), the block is turned
    field-major, and each ``entries.BLOCKS`` group is converted in one C-level pass; 50,000 entries
    are far bigger than the CPU cache, so every field of a block is read before the next block."""
    n = len(entries)
    listed: list[list[Any]] = [[] for _ in LISTED]
    arrays = [np.empty((len(names), n), dtype=dtype) for _, names, dtype in BLOCKS]
    first = len(LISTED)
    for lo in range(0, n, _BLOCK):
        fields = list(zip(*map(astuple, entries[lo:lo + _BLOCK]), strict=True))  # one tuple per struct field
        hi = lo + len(fields[0])
        for kept, column in zip(listed, fields, strict=False):
            kept.extend(column)
        at = first
        for (outer, names, dtype), out in zip(BLOCKS, arrays, strict=True):
            if outer:
                numbers = itertools.chain.from_iterable(zip(*map(astuple, fields[at]), strict=True))
                at += 1
            else:
                numbers = itertools.chain.from_iterable(fields[at:at + len(names)])
                at += len(names)
            out[:, lo:hi] = np.fromiter(numbers, dtype=dtype, count=(hi - lo) * len(names)).reshape(len(names), -1)
    columns = {f"{outer}.{name}" if outer else name: out[j]
               for (outer, names, _), out in zip(BLOCKS, arrays, strict=True) for j, name in enumerate(names)}
    return listed, columns


def _fields(columns: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], set[str]]:
    """Each KOT source path (by its catalogue spelling) → a number column, absent values as 0; and
    the paths no entry has."""
    fields: dict[str, np.ndarray] = {}
    missing: set[str] = set()
    for path in _SOURCES:
        names = SPELLINGS.get(path, (path,))
        values = columns[names[0]].copy()
        gap = values == ABSENT
        for other in names[1:]:  # an entry without the first spelling takes the next
            if gap.any():
                values = np.where(gap, columns[other], values)
                gap = values == ABSENT
        if gap.any():
            if gap.all():
                missing.add(path)
            values[gap] = 0
        fields[path] = values
    return fields, missing


_SOURCES = tuple(dict.fromkeys(p for item in _SUMMED for p in item.sources))


def _total(fields: dict[str, np.ndarray], item: Item) -> np.ndarray:
    out = fields[item.sources[0]]
    for path in item.sources[1:]:
        out = out + fields[path]
    return out if item.kind == DAYS else out.astype(np.int64)


def missing_problems(month: str, missing: Iterable[str]) -> list[Problem]:
    """A warning per KOT field that no entry of the month has, naming it and each item it feeds
    (the item's value is computed with the field as 0). Optional sources are not warned about."""
    problems = []
    for path in sorted(missing, key=_SOURCE_ORDER.index):
        items = [i for i in ITEMS if path in i.sources and path not in i.optional]
        if items:
            names = " / ".join(SPELLINGS.get(path, (path,)))
            problems.append(Problem.of("attendance-field-missing", value=names, month=month,
                                       item="」「".join(i.label for i in items)))
    return problems


_SOURCE_ORDER = list(dict.fromkeys(p for item in ITEMS for p in item.sources))


def paid_leave_days(entries: Iterable[Any] | None, codes: Iterable[Any]) -> float | int:
    """Days of leave whose code is one of ``codes`` (hourly leave has no dayCount and adds 0)."""
    leave = [h if isinstance(h, Holiday) else Holiday(h.get("code"), h.get("dayCount")) for h in entries or ()]
    return _paid_leave([leave], _code_set(codes))[0]


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
        out[i] = sum([h.dayCount or 0 for h in lists[i] if h.code in codes])
    return out


def _dates(values: list[Any]) -> list[dt.date | None]:
    """Each distinct text parsed once (a month's entries mostly share one period)."""
    memo: dict[Any, dt.date | None] = {}
    for v in set(values):
        try:
            memo[v] = dt.date.fromisoformat(str(v)[:10]) if v else None
        except ValueError:
            memo[v] = None
    if len(memo) == 1:
        return [next(iter(memo.values()))] * len(values)
    return list(map(memo.__getitem__, values))


def transform_month(raw: Iterable[Any], month: str, people: Mapping[str, Person], *,
                    paid_leave_codes: Iterable[Any] = ("1",), imported_at: str = "") -> MonthTable:
    """Every entry whose employeeKey is known → one record (ledger columns + name, division, key).

    ``raw`` is the month's entries as ``decode_month`` gives them (``Entry`` structs) or as dicts.
    A KOT field that no entry has becomes a warning in ``MonthTable.problems``."""
    with gc_paused():
        return _transform(as_entries(raw), month, people, paid_leave_codes, imported_at)


def _transform(entries: list[Any], month: str, people: Mapping[str, Person],
               paid_leave_codes: Iterable[Any], imported_at: str) -> MonthTable:
    table = MonthTable(month)
    listed, columns = _extract(entries)
    keys, starts, ends, leave, closing = listed
    persons = list(map(people.get, keys))
    if None in persons:
        table.unknown_keys = [str(k or "") for k, p in zip(keys, persons, strict=True) if p is None]
        kept = [p is not None for p in persons]
        keys, starts, ends, leave, closing, persons = (list(itertools.compress(values, kept)) for values in
                                                       (keys, starts, ends, leave, closing, persons))
        mask = np.array(kept, dtype=bool)
        columns = {path: values[mask] for path, values in columns.items()}
    fields, missing = _fields(columns)
    table.problems = missing_problems(month, missing)
    table.absent = missing
    n = len(persons)
    codes, names, division_codes, division_names = (list(c) for c in zip(*persons, strict=True)) if n else ([],) * 4
    cols: dict[str, Any] = {
        "employee_code": codes,
        "name": names,
        "division_code": division_codes,
        "division_name": division_names,
        "month": [month] * n,
        "period_start": _dates(starts),
        "period_end": _dates(ends),
    }
    for item in _SUMMED:
        cols[item.key] = _total(fields, item)
    cols["paid_leave_days"] = np.asarray(_paid_leave(leave, _code_set(paid_leave_codes)), dtype=np.float64)
    cols["is_closing"] = np.array(closing, dtype=bool)
    cols["imported_at"] = [imported_at] * n
    cols["employee_key"] = keys  # every kept key is a str: people's keys are
    order = None
    if codes != sorted(codes):
        order = np.array(sorted(range(n), key=codes.__getitem__), dtype=np.intp)
    for key in (*(i.key for i in ITEMS), "imported_at", "employee_key"):
        values = cols[key]
        if order is not None:
            values = (values if isinstance(values, np.ndarray) else np.array(values, dtype=object))[order]
        table.columns[key] = values
    return table



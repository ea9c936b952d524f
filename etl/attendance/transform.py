"""KOT ``/monthly-workings`` entries → the month's table of records (pure).

The arithmetic follows ``items.ITEMS`` (which KOT fields make each total). The transform is
columnar: one tight list comprehension per KOT field over all employees (``MonthTable`` holds
one list per item), so 50,000 employees take a few tens of milliseconds. ``MonthTable.rows()``
gives one dict per employee for the ledger and the checks.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping
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
_TOP = ("employeeKey", "startDate", "endDate", "holidaysObtained", "isClosing", *_OBJECTS, *_GROUPS.get("", ()))


def _extract(entries: list[Mapping[str, Any]]) -> tuple[list[list[Any]], dict[str, np.ndarray]]:
    """Top-level values as lists (key, dates, leave, closing) and every summed KOT field as a
    float column, in one pass over the entries per object."""
    n = len(entries)
    rows = _pick(entries, _TOP, 0)
    values = list(zip(*rows, strict=True)) if n else [()] * len(_TOP)
    top = dict(zip(_TOP, values, strict=True))
    fields: dict[str, np.ndarray] = {k: _column(top[k]) for k in _GROUPS.get("", [])}
    for outer in _OBJECTS:
        inners = _GROUPS[outer]
        dicts = [o or _EMPTY for o in top[outer]]
        picked = list(zip(*_pick(dicts, tuple(inners), 0), strict=True)) if n else [()] * len(inners)
        fields.update({f"{outer}.{k}": _column(v) for k, v in zip(inners, picked, strict=True)})
    return [list(top[k]) for k in ("employeeKey", "startDate", "endDate", "holidaysObtained", "isClosing")], fields


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
    out: list[Any] = []
    append = out.append
    for entries in lists:
        if not entries:
            append(0)
            continue
        total = 0
        for h in entries:
            if h.get("code") in codes:
                total += h.get("dayCount") or 0
        append(total)
    return out


def _dates(values: Iterable[Any]) -> list[dt.date | None]:
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
    (keys, starts, ends, leave, closing), fields = _extract(raw)
    persons = list(map(people.get, keys))
    if None in persons:
        table.unknown_keys = [str(k or "") for k, p in zip(keys, persons, strict=True) if p is None]
        kept = np.array([p is not None for p in persons], dtype=bool)
        keep = kept.nonzero()[0].tolist()
        keys, starts, ends, leave, closing, persons = ([seq[i] for i in keep]
                                                       for seq in (keys, starts, ends, leave, closing, persons))
        fields = {k: v[kept] for k, v in fields.items()}
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
    cols["is_closing"] = np.array([bool(v) for v in closing], dtype=bool)
    cols["imported_at"] = [imported_at] * n
    cols["employee_key"] = [str(k) for k in keys]
    order = None
    if any(a > b for a, b in zip(codes, codes[1:], strict=False)):
        order = np.array(sorted(range(n), key=codes.__getitem__), dtype=np.intp)
    for key in (*(i.key for i in ITEMS), "imported_at", "employee_key"):
        values = cols[key]
        if order is not None:
            values = (values if isinstance(values, np.ndarray) else np.array(values, dtype=object))[order]
        table.columns[key] = values
    return table

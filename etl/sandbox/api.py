"""The endpoints of the sandbox: (method, path, query, body, today) → (status, JSON bytes).

No sockets here (``sandbox.py`` is the HTTP shell with auth, restricted hours, throttling and
faults). Big answers (GET /employees, /monthly-workings) are serialized once and cached until
the state's version or the day changes, so 50,000 employees are answered quickly.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from etl.sandbox.data import PART_TIME_TYPES, Month, daily_working, month_bounds, monthly_working
from etl.sandbox.state import (
    ADDITIONAL,
    E_DATE_FORMAT,
    E_INVALID,
    E_NOT_FOUND,
    ApiFailure,
    EmployeeRecord,
    SandboxState,
    parse_date,
)

MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_RANGE_DAYS = 62
_ZERO_FIELDS = ("workingCount", "workingDayCount", "absentdayCount", "lateCount", "earlyLeaveCount",
                "late", "earlyLeave", "assigned", "unassigned", "overtime", "night", "nightOvertime")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise ApiFailure(400, (f"{name} は true か false にしてください: {value}", E_INVALID))
    return value == "true"


def _fields(params: dict[str, str]) -> tuple[str, ...]:
    names = tuple(n.strip() for n in params.get("additionalFields", "").split(",") if n.strip())
    unknown = [n for n in names if n not in ADDITIONAL]
    if unknown:
        raise ApiFailure(400, (f"additionalFields に指定できない項目です: {', '.join(unknown)}", E_INVALID))
    return names


def _as_of(params: dict[str, str], name: str, today: dt.date) -> dt.date:
    if name not in params:
        return today
    day = parse_date(params[name], name)
    if not _years(today, -3) <= day <= _years(today, 1):
        raise ApiFailure(400, (f"{name} は3年前から1年後までの日付にしてください: {day}", E_INVALID))
    return day


def _update_date(params: dict[str, str], today: dt.date, strict: bool) -> dt.date:
    """PUT /employees/{key}'s ``updateDate`` (default today). The published description states no
    window for it; ``strict`` (off by default) turns on the refusal this sandbox used to make
    without a source: before the 1st of the current month or more than a year ahead."""
    effective = parse_date(params["updateDate"], "updateDate") if "updateDate" in params else today
    if strict and (effective < today.replace(day=1) or effective > _years(today, 1)):
        raise ApiFailure(400, (f"updateDate は当月1日から1年後までの日付にしてください: {effective}", E_INVALID))
    return effective


class SandboxApi:
    def __init__(self, state: SandboxState, *, strict_update_date: bool = False):
        self.state = state
        # an unpublished rule, only on request: see _update_date
        self.strict_update_date = strict_update_date
        self._cache: dict[tuple, bytes] = {}
        self._cache_lock = threading.Lock()
        self.routes: list[tuple[str, re.Pattern, Callable]] = [
            ("GET", re.compile(r"/divisions"), self.divisions),
            ("GET", re.compile(r"/working-types"), self.working_types),
            ("GET", re.compile(r"/employees"), self.employees),
            ("POST", re.compile(r"/employees"), self.create),
            ("GET", re.compile(r"/employees/([^/]+)"), self.employee),
            ("PUT", re.compile(r"/employees/([^/]+)"), self.update),
            ("DELETE", re.compile(r"/employees/([^/]+)"), self.delete),
            ("GET", re.compile(r"/monthly-workings/([^/]+)"), self.monthly),
            ("GET", re.compile(r"/daily-workings"), self.daily),
        ]

    def handle(self, method: str, path: str, params: dict[str, str], body: bytes,
               today: dt.date) -> tuple[int, bytes]:
        """Route one request (``path`` below /v1.0); every refusal is a KOT error body."""
        try:
            known = False
            for verb, pattern, func in self.routes:
                m = pattern.fullmatch(path)
                if m:
                    known = True
                    if verb == method:
                        return func(*(unquote(g) for g in m.groups()), params=params, body=body, today=today)
            if known:
                raise ApiFailure(405, (f"{method} {path} は使えません", E_INVALID))
            raise ApiFailure(404, (f"{path} はありません", E_NOT_FOUND))
        except ApiFailure as e:
            return e.status, dumps({"errors": e.errors})

    # --- masters -----------------------------------------------------------------------------
    def divisions(self, **_: Any) -> tuple[int, bytes]:
        return 200, dumps(self.state.divisions)

    def working_types(self, **_: Any) -> tuple[int, bytes]:
        return 200, dumps(self.state.working_types)

    # --- employees ---------------------------------------------------------------------------
    def employees(self, *, params: dict[str, str], today: dt.date, **_: Any) -> tuple[int, bytes]:
        on = _as_of(params, "date", today)
        resigners = _flag(params, "includeResigner")
        fields = _fields(params)
        division = params.get("division") or None

        def build() -> bytes:
            state = self.state
            out = []
            for rec in state.records():
                if not resigners and rec.resigned_before(on):
                    continue
                if division and rec.placement(on)[0] != division:
                    continue
                out.append(state.view(rec, on, fields))
            return dumps(out)

        return 200, self._cached(("employees", on, resigners, fields, division), build)

    def employee(self, code: str, *, params: dict[str, str], today: dt.date, **_: Any) -> tuple[int, bytes]:
        on = _as_of(params, "date", today)
        resigners = _flag(params, "includeResigner")
        fields = _fields(params)
        rec = self.state.record_by_code(code)
        if rec is None or (not resigners and rec.resigned_before(on)):
            raise ApiFailure(404, (f"従業員コード {code} の従業員は存在しません", E_NOT_FOUND))
        return 200, dumps(self.state.view(rec, on, fields))

    def create(self, *, body: bytes, today: dt.date, **_: Any) -> tuple[int, bytes]:
        rec = self.state.create(_json(body), today)
        return 201, dumps(self.state.view(rec, today))

    def update(self, key: str, *, params: dict[str, str], body: bytes, today: dt.date, **_: Any) -> tuple[int, bytes]:
        effective = _update_date(params, today, self.strict_update_date)
        rec = self.state.update(key, _json(body), effective)
        return 200, dumps(self.state.view(rec, max(effective, today)))

    def delete(self, key: str, **_: Any) -> tuple[int, bytes]:
        self.state.delete(key)
        return 204, b""

    # --- attendance --------------------------------------------------------------------------
    def monthly(self, month: str, *, params: dict[str, str], today: dt.date, **_: Any) -> tuple[int, bytes]:
        if not MONTH_RE.fullmatch(month):
            raise ApiFailure(400, (f"日付の形式が正しくありません (YYYY-MM): {month}", E_DATE_FORMAT))
        division = params.get("division") or None
        return 200, self._cached(("monthly", month, division, today),
                                 lambda: dumps(self._monthly_entries(month, division, today)))

    def _monthly_entries(self, month: str, division: str | None, today: dt.date) -> list[dict]:
        state = self.state
        fixed = state.monthly.get(month)
        if fixed is not None:
            return self._fixed(fixed, month, division, today)
        period = Month.of(month, today)
        out = []
        for rec in state.records():
            div, type_code = rec.placement(period.start)
            if division and div != division:
                continue
            entry = monthly_working(state.seed, rec.key, period, part_time=type_code in PART_TIME_TYPES,
                                    hired=rec.data.get("hiredDate"), resigned=rec.data.get("resignationDate"))
            if entry is not None:
                out.append(entry)
        return out

    def _fixed(self, fixed: list[dict], month: str, division: str | None, today: dt.date) -> list[dict]:
        """A month given by the state file: exactly its entries, codes resolved to keys."""
        start, end = month_bounds(month)
        base: dict[str, Any] = {"year": start.year, "month": start.month, "startDate": start.isoformat(),
                                "endDate": end.isoformat(), "isClosing": end < today.replace(day=1),
                                "holidaysObtained": [], **dict.fromkeys(_ZERO_FIELDS, 0)}
        out = []
        for item in fixed:
            entry = {**base, **{k: v for k, v in item.items() if k != "employeeCode"}}
            rec: EmployeeRecord | None = None
            if item.get("employeeCode") is not None:
                rec = self.state.record_by_code(str(item["employeeCode"]))
                entry.setdefault("employeeKey", rec.key if rec else "unknown-" + str(item["employeeCode"]))
            elif item.get("employeeKey"):
                rec = self.state.record_by_key(item["employeeKey"])
            if division and (rec is None or rec.placement(start)[0] != division):
                continue
            out.append({k: v for k, v in entry.items() if v is not None})
        return out

    def daily(self, *, params: dict[str, str], today: dt.date, **_: Any) -> tuple[int, bytes]:
        if ("start" in params) != ("end" in params):
            raise ApiFailure(400, ("start と end は両方指定してください", E_INVALID))
        start = parse_date(params["start"], "start") if "start" in params else today
        end = parse_date(params["end"], "end") if "end" in params else today
        if end < start:
            raise ApiFailure(400, ("end は start 以降の日付にしてください", E_INVALID))
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ApiFailure(400, (f"start から end までは {MAX_RANGE_DAYS} 日以内にしてください", E_INVALID))
        division = params.get("division") or None
        state = self.state
        records = state.records()
        days = []
        day = start
        while day <= end:
            iso = day.isoformat()
            items = []
            for rec in records:
                hired, resigned = rec.data.get("hiredDate"), rec.data.get("resignationDate")
                if (hired and hired > iso) or (resigned and resigned < iso):
                    continue
                div, type_code = rec.placement(day)
                if division and div != division:
                    continue
                items.append(daily_working(state.seed, rec.key, day, today, part_time=type_code in PART_TIME_TYPES,
                                           division=(div, state.division_names.get(div, ""))))
            days.append({"date": iso, "dailyWorkings": items})
            day += dt.timedelta(days=1)
        return 200, dumps(days)

    # --- cache -------------------------------------------------------------------------------
    def _cached(self, key: tuple, build: Callable[[], bytes]) -> bytes:
        version = self.state.version
        with self._cache_lock:
            hit = self._cache.get((version, *key))
        if hit is not None:
            return hit
        with self.state.lock:  # a consistent snapshot; writes wait for the build
            version = self.state.version
            data = build()
        with self._cache_lock:
            for stale in [k for k in self._cache if k[0] != version]:
                del self._cache[stale]
            if len(self._cache) >= 8:
                self._cache.clear()
            self._cache[(version, *key)] = data
        return data


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        raise ApiFailure(400, ("リクエストボディが UTF-8 の JSON ではありません", E_INVALID)) from None

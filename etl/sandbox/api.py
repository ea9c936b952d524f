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

from etl.clock import api_date_window, month_start
from etl.sandbox.data import (
    PART_TIME_TYPES,
    Month,
    daily_working,
    leave_grants,
    leave_taken,
    month_bounds,
    monthly_defaults,
    monthly_working,
    variational_work,
    weekly_work,
)
from etl.sandbox.state import (
    ADDITIONAL,
    E_DATE_FORMAT,
    E_INVALID,
    E_NOT_FOUND,
    MONTH_RE,
    ApiFailure,
    EmployeeRecord,
    SandboxState,
    parse_date,
)

MAX_RANGE_DAYS = 62
# additionalFields by endpoint (KOT_API.md §2.1, §2.3, §2.4); only top-level names
MONTHLY_ADDITIONAL = ("weeklyWork", "variationalWork", "isConfirmation", "currentDateEmployee")
DAILY_ADDITIONAL = ("currentDateEmployee",)
YEARLY_ADDITIONAL = ("currentDateEmployee",)
DEFAULT_DAY_BORDER = "00:00"  # a state-file division without dayBorderTime (the sandbox's choice)


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


def _fields(params: dict[str, str], allowed: tuple[str, ...] = ADDITIONAL) -> tuple[str, ...]:
    names = tuple(n.strip() for n in params.get("additionalFields", "").split(",") if n.strip())
    unknown = [n for n in names if n not in allowed]
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


def _in_window(first: dt.date, last: dt.date, today: dt.date, what: str, *, months: bool = False) -> None:
    """KOT_API.md §1.5: dates go back at most 3 years and forward at most 1 year (400 otherwise);
    for a month, the month that holds the day 3 years back is still served (etl.clock's window)."""
    earliest, latest = api_date_window(today)
    if months:
        earliest = month_start(earliest)
    if first < earliest or last > latest:
        raise ApiFailure(400, (f"{what} は3年前 ({earliest}) から1年後 ({latest}) までにしてください", E_INVALID))


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
            ("GET", re.compile(r"/employee-groups"), self.employee_groups),
            ("GET", re.compile(r"/yearly-workings/holidays/([^/]+)/([^/]+)"), self.yearly_holidays),
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
        return 200, dumps([{**d, "dayBorderTime": d.get("dayBorderTime") or DEFAULT_DAY_BORDER}
                           for d in self.state.divisions])

    def employee_groups(self, **_: Any) -> tuple[int, bytes]:
        groups = self.state.attendance.employee_groups
        if not groups:  # KOT_API.md §2.1: fails when the company does not use groups
            raise ApiFailure(400, ("従業員グループを使用していません", E_INVALID))
        return 200, dumps(groups)

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
        first, _last = month_bounds(month)
        _in_window(first, first, today, f"月 {month}", months=True)
        fields = _fields(params, MONTHLY_ADDITIONAL)
        division = params.get("division") or None
        return 200, self._cached(("monthly", month, division, fields, today),
                                 lambda: dumps(self._monthly_entries(month, division, fields, today)))

    def _monthly_entries(self, month: str, division: str | None, fields: tuple[str, ...],
                         today: dt.date) -> list[dict]:
        state = self.state
        closing = state.is_closed(month, today)
        fixed = state.monthly.get(month)
        if fixed is not None:
            return self._fixed(fixed, month, division, fields, closing, today)
        period = Month.of(month, today, closing=closing)
        out = []
        for rec in state.records():
            div, type_code = rec.placement(period.start)
            if division and div != division:
                continue
            entry = monthly_working(state.seed, rec.key, period, part_time=type_code in PART_TIME_TYPES,
                                    hired=rec.data.get("hiredDate"), resigned=rec.data.get("resignationDate"))
            if entry is not None:
                out.append(self._monthly_additional(entry, fields, rec, today, generated=True))
        return out

    def _monthly_additional(self, entry: dict, fields: tuple[str, ...], rec: EmployeeRecord | None,
                            today: dt.date, *, generated: bool) -> dict:
        """The optional fields asked for (a state file's own value when it gives one), the rest dropped."""
        out = {k: v for k, v in entry.items() if k not in MONTHLY_ADDITIONAL}
        for name in fields:
            if name in entry:
                out[name] = entry[name]
            elif name == "weeklyWork":
                out[name] = weekly_work(entry) if generated else weekly_work({})
            elif name == "variationalWork":
                out[name] = variational_work(entry)
            elif name == "isConfirmation":
                out[name] = bool(entry.get("isClosing"))
            elif name == "currentDateEmployee" and rec is not None:
                out[name] = self.state.view(rec, today, ())
        return out

    def _fixed(self, fixed: list[dict], month: str, division: str | None, fields: tuple[str, ...], closing: bool,
               today: dt.date) -> list[dict]:
        """A month given by the state file: exactly its entries, as given over every documented
        field's default (an object given in part, e.g. ``legalHolidayWork: {normal: 480}``, over
        its own defaults); codes resolved to keys; isClosing from the entry, else the state's."""
        start, _end = month_bounds(month)
        base: dict[str, Any] = {**monthly_defaults(month), "isClosing": closing}
        out = []
        for item in fixed:
            entry = {**base}
            for k, v in item.items():  # an object given in part keeps its other documented fields
                if k != "employeeCode":
                    entry[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
            rec: EmployeeRecord | None = None
            if item.get("employeeCode") is not None:
                rec = self.state.record_by_code(str(item["employeeCode"]))
                entry.setdefault("employeeKey", rec.key if rec else "unknown-" + str(item["employeeCode"]))
            elif item.get("employeeKey"):
                rec = self.state.record_by_key(item["employeeKey"])
            if division and (rec is None or rec.placement(start)[0] != division):
                continue
            entry = self._monthly_additional(entry, fields, rec, today, generated=False)
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
        _in_window(start, end, today, "start・end")
        fields = _fields(params, DAILY_ADDITIONAL)
        division = params.get("division") or None
        state = self.state
        records = state.records()
        days = []
        day = start
        while day <= end:
            iso = day.isoformat()
            closing = state.is_closed(iso[:7], today)
            items = []
            for rec in records:
                hired, resigned = rec.data.get("hiredDate"), rec.data.get("resignationDate")
                if (hired and hired > iso) or (resigned and resigned < iso):
                    continue
                div, type_code = rec.placement(day)
                if division and div != division:
                    continue
                item = daily_working(state.seed, rec.key, day, today, part_time=type_code in PART_TIME_TYPES,
                                     division=(div, state.division_names.get(div, "")), closing=closing)
                if "currentDateEmployee" in fields:
                    item["currentDateEmployee"] = state.view(rec, today, ())
                items.append(item)
            days.append({"date": iso, "dailyWorkings": items})
            day += dt.timedelta(days=1)
        return 200, dumps(days)

    # --- yearly leave ------------------------------------------------------------------------
    def yearly_holidays(self, type_code: str, year: str, *, params: dict[str, str], today: dt.date,
                        **_: Any) -> tuple[int, bytes]:
        """GET /yearly-workings/holidays/{employeeTypeCode}/{year} (KOT_API.md §2.6): the 年度's
        grants and uses per leave type of the employees of that type; from the state key
        ``yearlyHolidays`` as given, or computed for a generated world."""
        # the description types ``year`` as an integer (no range is published); a year the
        # calendar cannot hold is refused too
        if not re.fullmatch(r"\d{1,4}", year) or not 1 <= int(year) <= 9998:
            raise ApiFailure(400, (f"年度は整数 (例 2026) で指定してください: {year}", E_DATE_FORMAT))
        if type_code not in self.state.type_names:
            raise ApiFailure(400, (f"雇用区分コード {type_code} は存在しません", E_INVALID))
        fields = _fields(params, YEARLY_ADDITIONAL)
        return 200, self._cached(("yearly", type_code, year, fields, today),
                                 lambda: dumps(self._yearly(type_code, int(year), fields, today)))

    def _yearly(self, type_code: str, year: int, fields: tuple[str, ...], today: dt.date) -> dict:
        state, world = self.state, self.state.attendance
        start, end = world.year_bounds(year)
        on = min(end, today)
        employees: list[dict[str, Any]] = []
        given = world.yearly_holidays.get(str(year))
        if given is not None:
            for item in given:
                rec = (state.record_by_code(str(item["employeeCode"])) if item.get("employeeCode") is not None
                       else state.record_by_key(str(item.get("employeeKey", ""))))
                if rec is None or rec.placement(on)[1] != type_code:
                    continue
                employees.append({"employeeKey": rec.key,
                                  "holidays": [{"granted": [], "obtained": [], "remained": [], "expired": [],
                                                **{k: v for k, v in h.items() if v is not None}}  # a null is left out
                                               for h in item.get("holidays") or []]})
        elif world.generated_leave:
            for rec in state.records():
                hired, resigned = rec.data.get("hiredDate"), rec.data.get("resignationDate")
                if not hired or hired > end.isoformat() or (resigned and resigned < start.isoformat()):
                    continue
                if rec.placement(on)[1] != type_code:
                    continue
                part_time = type_code in PART_TIME_TYPES
                granted = leave_grants(dt.date.fromisoformat(hired), start, end, part_time=part_time)
                obtained = leave_taken(state.seed, rec.key, start, end, today, part_time=part_time,
                                       hired=hired, resigned=resigned)
                holidays = [{"code": 1, "name": "有休", "granted": granted, "obtained": obtained,
                             "remained": [], "expired": []}] if granted or obtained else []
                employees.append({"employeeKey": rec.key, "holidays": holidays})
        if "currentDateEmployee" in fields:
            for entry in employees:
                found = state.record_by_key(str(entry["employeeKey"]))
                if found is not None:
                    entry["currentDateEmployee"] = state.view(found, today, ())
        return {"year": year, "startDate": start.isoformat(), "endDate": end.isoformat(),
                "closeDate": world.close_date, "employees": employees}

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

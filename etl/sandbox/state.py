"""The sandbox's world: divisions, working types, employees with effective-dated history.

Pure data and rules, no HTTP: ``SandboxState`` validates and applies creates/updates/deletes the
way KOT does (DESIGN § The attendance API) and answers "the employees as of D". It is
thread-safe (one RLock) and keeps a ``version`` that changes on every write, so the server can
cache serialized answers. A refusal is an ``ApiFailure`` (status + KOT-shaped errors).

Error codes chosen by the sandbox where KOT's are not published: 1 invalid value or request,
2 date format (published), 3 duplicate code, 4 not found.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CODE_RE = re.compile(r"[0-9A-Za-z]{3,10}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
REQUIRED = ("code", "lastName", "firstName", "divisionCode", "typeCode", "gender")
GENDERS = ("male", "female")
DATE_FIELDS = ("birthDate", "hiredDate", "resignationDate")
ADDITIONAL = ("lastNamePhonetics", "firstNamePhonetics", "hiredDate", "birthDate", "resignationDate",
              "emailAddresses", "allDayRegardingWorkInMinute")
PLACEMENT = ("divisionCode", "typeCode")  # effective-dated (updateDate)
WRITABLE = ("code", "lastName", "firstName", "gender") + PLACEMENT + ADDITIONAL
BEGINNING = dt.date.min

E_INVALID, E_DATE_FORMAT, E_DUPLICATE, E_NOT_FOUND = 1, 2, 3, 4


class ApiFailure(Exception):
    """A refusal the server answers with ``{"errors": [...]}``."""

    def __init__(self, status: int, *errors: tuple[str, int]):
        super().__init__("; ".join(m for m, _ in errors))
        self.status = status
        self.pairs: list[tuple[str, int]] = list(errors)
        self.errors = [{"message": m, "code": c} for m, c in errors]


def parse_date(text: Any, name: str) -> dt.date:
    """A query/body date 'YYYY-MM-DD' or ApiFailure 400 code 2."""
    if isinstance(text, str) and DATE_RE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ApiFailure(400, (f"{name} の日付の形式が正しくありません (YYYY-MM-DD): {text}", E_DATE_FORMAT))


@dataclass
class EmployeeRecord:
    key: str
    code: str
    data: dict[str, Any]  # every non-dated field (None = null)
    history: list[tuple[dt.date, str, str]] = field(default_factory=list)  # (from, division, type)

    def placement(self, on: dt.date | None) -> tuple[str, str]:
        if on is None or len(self.history) == 1:
            return self.history[-1][1:]
        i = bisect.bisect_right(self.history, (on, "\uffff", "\uffff")) - 1
        return self.history[max(i, 0)][1:]

    def set_placement(self, on: dt.date, division: str | None, type_code: str | None) -> None:
        current_div, current_type = self.placement(on)
        entry = (on, division or current_div, type_code or current_type)
        self.history = [h for h in self.history if h[0] != on]
        bisect.insort(self.history, entry)

    def resigned_before(self, on: dt.date) -> bool:
        resigned = self.data.get("resignationDate")
        return bool(resigned) and str(resigned) < on.isoformat()


class SandboxState:
    def __init__(self, divisions: list[dict], working_types: list[dict], *, seed: int = 1,
                 monthly: dict[str, list[dict]] | None = None):
        self.divisions = [dict(d) for d in divisions]
        self.working_types = [dict(t) for t in working_types]
        self.division_names = {d["code"]: d.get("name", "") for d in self.divisions}
        self.type_names = {t["code"]: t.get("name", "") for t in self.working_types}
        self.seed = seed
        self.monthly: dict[str, list[dict]] = {k: list(v) for k, v in (monthly or {}).items()}
        self.attendance = AttendanceWorld()  # closing, leave, groups, the company's year (own module below)
        self.lock = threading.RLock()
        self.version = 0
        self._by_key: dict[str, EmployeeRecord] = {}
        self._by_code: dict[str, str] = {}
        self._created: dict[str, int] = {}  # code → creations so far

    # --- reading -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_key)

    def records(self) -> list[EmployeeRecord]:
        with self.lock:
            return list(self._by_key.values())

    def record_by_code(self, code: str) -> EmployeeRecord | None:
        with self.lock:
            key = self._by_code.get(code)
            return self._by_key.get(key) if key else None

    def record_by_key(self, key: str) -> EmployeeRecord | None:
        with self.lock:
            return self._by_key.get(key)

    def view(self, rec: EmployeeRecord, on: dt.date | None, fields: tuple[str, ...] | None = ADDITIONAL) -> dict:
        """The employee as the API answers it on ``on``; null fields omitted."""
        division, type_code = rec.placement(on)
        out = {"code": rec.code, "key": rec.key, "lastName": rec.data.get("lastName"),
               "firstName": rec.data.get("firstName"), "divisionCode": division,
               "divisionName": self.division_names.get(division), "typeCode": type_code,
               "typeName": self.type_names.get(type_code), "gender": rec.data.get("gender"),
               "employeeGroups": [dict(g) for g in rec.data.get("employeeGroups") or ()]}  # returned only; [] when none
        for name in fields or ():
            out[name] = rec.data.get(name)
        return {k: v for k, v in out.items() if v is not None}

    def get(self, code: str, on: dt.date | None = None) -> dict | None:
        """Convenience for tests: the employee with every field, or None."""
        rec = self.record_by_code(code)
        return None if rec is None else self.view(rec, on)

    def all(self, on: dt.date | None = None) -> list[dict]:
        return [self.view(r, on) for r in self.records()]

    # --- writing -----------------------------------------------------------------------------
    def create(self, body: Any, today: dt.date) -> EmployeeRecord:
        clean = self._validate(body, partial=False)
        with self.lock:
            self._check_unique(clean["code"], None)
            # the key depends on the code and how often that code was created, not on the order of
            # the requests: concurrent syncs give every employee the same key (and figures) each run
            n = self._created[clean["code"]] = self._created.get(clean["code"], 0) + 1
            key = hashlib.sha256(f"kot-sandbox:{self.seed}:created:{clean['code']}:{n}".encode()).hexdigest()
            return self._insert(key, clean, [(BEGINNING, clean["divisionCode"], clean["typeCode"])])

    def add(self, employee: dict, history: list[dict] | None = None) -> EmployeeRecord:
        """Seed an employee (state files, generator): KOT's validation, key kept when given."""
        clean = self._validate({k: v for k, v in employee.items()
                                if k in WRITABLE}, partial=False)
        try:
            groups = employee_groups(employee.get("employeeGroups"), "employeeGroups")
        except ValueError as e:
            raise ApiFailure(400, (str(e), E_INVALID)) from None
        if groups:
            clean["employeeGroups"] = groups
        key = employee.get("key") or hashlib.sha256(f"kot-sandbox:{self.seed}:{clean['code']}".encode()).hexdigest()
        entries = [(BEGINNING, clean["divisionCode"], clean["typeCode"])]
        for h in history or []:
            entries.append((parse_date(h.get("date"), "history.date"),
                            self._known(h.get("divisionCode"), "divisionCode") or clean["divisionCode"],
                            self._known(h.get("typeCode"), "typeCode") or clean["typeCode"]))
        with self.lock:
            if key in self._by_key:
                raise ApiFailure(400, (f"key {key} が重複しています", E_DUPLICATE))
            self._check_unique(clean["code"], None)
            return self._insert(key, clean, sorted(entries))

    def update(self, key: str, body: Any, effective: dt.date) -> EmployeeRecord:
        clean = self._validate(body, partial=True)
        with self.lock:
            rec = self._by_key.get(key)
            if rec is None:
                raise ApiFailure(404, (f"従業員 (key {key}) が見つかりません", E_NOT_FOUND))
            if "code" in clean and clean["code"] != rec.code:
                self._check_unique(clean["code"], key)
                del self._by_code[rec.code]
                rec.code = clean["code"]
                self._by_code[rec.code] = key
            if any(k in clean for k in PLACEMENT):
                rec.set_placement(effective, clean.get("divisionCode"), clean.get("typeCode"))
            for name, value in clean.items():
                if name not in PLACEMENT and name != "code":
                    rec.data[name] = value
            self.version += 1
            return rec

    def delete(self, key: str) -> None:
        with self.lock:
            rec = self._by_key.pop(key, None)
            if rec is None:
                raise ApiFailure(404, (f"従業員 (key {key}) が見つかりません", E_NOT_FOUND))
            del self._by_code[rec.code]
            self.version += 1

    def set_monthly(self, month: str, entries: list[dict]) -> None:
        """Fix the answer of /monthly-workings/{month} (entries may name employeeCode)."""
        with self.lock:
            self.monthly[month] = [dict(e) for e in entries]
            self.version += 1

    def close_month(self, *months: str) -> None:
        """The administrator closes ``months`` (締め): their entries answer ``isClosing: true``."""
        with self.lock:
            self.attendance.closed_months.update(months)
            self.version += 1

    def close_ended_months(self, on: bool = True) -> None:
        """The explicit choice to close every month that ended before the current one."""
        with self.lock:
            self.attendance.auto_close = on
            self.version += 1

    def is_closed(self, month: str, today: dt.date) -> bool:
        """Closed when the state says so, or (``auto_close``, an explicit choice) when it ended
        before the current month. Real KOT waits for the administrator."""
        world = self.attendance
        if month in world.closed_months:
            return True
        return world.auto_close and f"{month}-01" < today.replace(day=1).isoformat()

    def set_yearly_holidays(self, year: int | str, employees: list[dict]) -> None:
        """Fix the answer of /yearly-workings/holidays/*/{year} (entries may name employeeCode)."""
        with self.lock:
            self.attendance.yearly_holidays[str(year)] = [dict(e) for e in employees]
            self.version += 1

    def _insert(self, key: str, clean: dict, history: list) -> EmployeeRecord:
        data = {k: v for k, v in clean.items() if k not in PLACEMENT and k != "code"}
        rec = EmployeeRecord(key=key, code=clean["code"], data=data, history=history)
        self._by_key[key] = rec
        self._by_code[rec.code] = key
        self.version += 1
        return rec

    def _check_unique(self, code: str, own_key: str | None) -> None:
        other = self._by_code.get(code)
        if other is not None and other != own_key:
            raise ApiFailure(400, (f"従業員コード {code} は既に登録されています", E_DUPLICATE))

    def _known(self, code: Any, name: str) -> str | None:
        if code in (None, ""):
            return None
        names = self.division_names if name == "divisionCode" else self.type_names
        if code not in names:
            label = "所属" if name == "divisionCode" else "雇用区分"
            raise ApiFailure(400, (f"{name}: {label}コード {code} は存在しません", E_INVALID))
        return code

    def _validate(self, body: Any, *, partial: bool) -> dict[str, Any]:
        """KOT's checks on a POST (every field) or PUT (only what is sent; "" → null)."""
        if not isinstance(body, dict):
            raise ApiFailure(400, ("リクエストボディは JSON オブジェクトにしてください", E_INVALID))
        errors: list[tuple[str, int]] = []
        clean: dict[str, Any] = {}
        for name in body:
            if name not in WRITABLE:
                errors.append((f"{name} は登録・更新できない項目です", E_INVALID))
        for name in WRITABLE:
            if name not in body:
                if not partial and name in REQUIRED:
                    errors.append((f"{name} は必須です", E_INVALID))
                continue
            value = body[name]
            if value in ("", None, []):
                if name in REQUIRED:
                    errors.append((f"{name} は必須です", E_INVALID))
                else:
                    clean[name] = None
                continue
            try:
                clean[name] = self._value(name, value)
            except ApiFailure as e:
                errors.extend(e.pairs)
        if errors:
            raise ApiFailure(400, *errors)
        return clean

    def _value(self, name: str, value: Any) -> Any:
        if name == "code":
            if not isinstance(value, str) or not CODE_RE.fullmatch(value):
                raise ApiFailure(400, (f"code は半角英数字3〜10文字にしてください: {value}", E_INVALID))
        elif name == "gender":
            if value not in GENDERS:
                raise ApiFailure(400, (f"gender は male か female にしてください: {value}", E_INVALID))
        elif name in PLACEMENT:
            self._known(value, name)
        elif name in DATE_FIELDS:
            parse_date(value, name)
        elif name == "emailAddresses":
            if not isinstance(value, list) or not all(isinstance(v, str) and "@" in v for v in value):
                raise ApiFailure(400, ("emailAddresses はメールアドレスの配列にしてください", E_INVALID))
            value = list(value)
        elif name == "allDayRegardingWorkInMinute":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ApiFailure(400, ("allDayRegardingWorkInMinute は0以上の整数にしてください", E_INVALID))
        elif not isinstance(value, str):
            raise ApiFailure(400, (f"{name} は文字列にしてください", E_INVALID))
        return value

    # --- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The state as a ``--state`` JSON document (history included)."""
        with self.lock:
            employees = []
            for rec in self._by_key.values():
                first = rec.history[0]
                item = {"key": rec.key, "code": rec.code, "divisionCode": first[1], "typeCode": first[2],
                        **{k: v for k, v in rec.data.items() if v is not None}}
                if len(rec.history) > 1:
                    item["history"] = [{"date": d.isoformat(), "divisionCode": div, "typeCode": t}
                                       for d, div, t in rec.history[1:]]
                employees.append(item)
            return {"divisions": self.divisions, "workingTypes": self.working_types,
                    "employees": employees, "monthlyWorkings": self.monthly, **self.attendance.to_dict()}


def state_from_dict(doc: Any, *, seed: int = 1) -> SandboxState:
    """Build a state from a ``--state`` document; ValueError with a readable message."""
    if not isinstance(doc, dict):
        raise ValueError("JSON オブジェクト (divisions, workingTypes, employees) にしてください")
    for name in ("divisions", "workingTypes"):
        items = doc.get(name)
        if not isinstance(items, list) or not all(isinstance(x, dict) and x.get("code") for x in items):
            raise ValueError(f"{name} は code と name を持つオブジェクトの配列にしてください")
    monthly = doc.get("monthlyWorkings") or {}
    if not isinstance(monthly, dict) or not all(isinstance(v, list) for v in monthly.values()):
        raise ValueError("monthlyWorkings は {\"YYYY-MM\": [...]} の形にしてください")
    state = SandboxState(doc["divisions"], doc["workingTypes"], seed=seed, monthly=monthly)
    state.attendance = AttendanceWorld.from_dict(doc)
    for i, emp in enumerate(doc.get("employees") or []):
        if not isinstance(emp, dict):
            raise ValueError(f"employees[{i}] はオブジェクトにしてください")
        try:
            state.add(emp, emp.get("history"))
        except ApiFailure as e:
            raise ValueError(f"employees[{i}] ({emp.get('code')}): {e}") from None
    return state


def load_state(path: str | Path, *, seed: int = 1) -> SandboxState:
    """Read a ``--state`` JSON file (UTF-8); ValueError naming the file on any problem."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ValueError(f"{p} が見つかりません") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{p} は UTF-8 の JSON として読めません ({e})") from None
    try:
        return state_from_dict(doc, seed=seed)
    except ValueError as e:
        raise ValueError(f"{p}: {e}") from None


# --- the attendance side's world: closing, yearly leave, groups -------------------------------

@dataclass
class AttendanceWorld:
    """What the state says about attendance beyond the employees (state-file keys in brackets).

    * ``closed_months`` [closedMonths]: the months the administrator has closed (締め).
    * ``auto_close`` [autoCloseMonths]: an explicit choice to close every month that ended
      before the current one (benchmarks; real KOT waits for the administrator).
    * ``yearly_holidays`` [yearlyHolidays]: 年度 → employees' leave, served as given.
    * ``generated_leave``: generated worlds (``--employees``) compute leave for every employee.
    * ``business_year_start`` [businessYearStartDate, "MM/DD"] and ``close_date`` [closeDate]:
      the 年度 and the closing day the yearly leave answer carries (sandbox defaults "04/01", 0).
    * ``employee_groups`` [employeeGroups]: the company's groups (GET /employee-groups).
    """

    closed_months: set[str] = field(default_factory=set)
    auto_close: bool = False
    yearly_holidays: dict[str, list[dict]] = field(default_factory=dict)
    generated_leave: bool = False
    business_year_start: str = "04/01"
    close_date: int = 0
    employee_groups: list[dict] = field(default_factory=list)

    def year_bounds(self, year: int) -> tuple[dt.date, dt.date]:
        """The first and last day of 年度 ``year`` (it starts in ``year``)."""
        month, day = (int(x) for x in self.business_year_start.split("/"))
        start = dt.date(year, month, day)
        return start, dt.date(year + 1, month, day) - dt.timedelta(days=1)

    def year_of(self, day: dt.date) -> int:
        start, _ = self.year_bounds(day.year)
        return day.year if day >= start else day.year - 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.closed_months:
            out["closedMonths"] = sorted(self.closed_months)
        if self.auto_close:
            out["autoCloseMonths"] = True
        if self.yearly_holidays:
            out["yearlyHolidays"] = self.yearly_holidays
        if self.business_year_start != "04/01":
            out["businessYearStartDate"] = self.business_year_start
        if self.close_date:
            out["closeDate"] = self.close_date
        if self.employee_groups:
            out["employeeGroups"] = self.employee_groups
        return out

    @classmethod
    def from_dict(cls, doc: dict) -> AttendanceWorld:
        """The keys above from a ``--state`` document; ValueError naming the key."""
        closed = doc.get("closedMonths") or []
        if not isinstance(closed, list) or not all(isinstance(m, str) and MONTH_RE.fullmatch(m) for m in closed):
            raise ValueError('closedMonths は ["YYYY-MM", ...] の形にしてください')
        auto = doc.get("autoCloseMonths", False)
        if not isinstance(auto, bool):
            raise ValueError("autoCloseMonths は true か false にしてください")
        yearly = doc.get("yearlyHolidays") or {}
        if not isinstance(yearly, dict) or not all(
                re.fullmatch(r"\d{4}", str(y)) and isinstance(v, list) and all(isinstance(e, dict) for e in v)
                for y, v in yearly.items()):
            raise ValueError('yearlyHolidays は {"<年度>": [{"employeeCode": ..., "holidays": [...]}]} の形にしてください')
        start = doc.get("businessYearStartDate", "04/01")
        if not isinstance(start, str) or not re.fullmatch(r"(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])", start):
            raise ValueError('businessYearStartDate は "MM/DD" (例 "04/01") にしてください')
        close = doc.get("closeDate", 0)
        if not isinstance(close, int) or isinstance(close, bool) or not 0 <= close <= 31:
            raise ValueError("closeDate は 0〜31 の整数にしてください")
        return cls(closed_months=set(closed), auto_close=auto, yearly_holidays={str(k): list(v) for k, v in yearly.items()},
                   business_year_start=start, close_date=close,
                   employee_groups=employee_groups(doc.get("employeeGroups"), "employeeGroups"))


def employee_groups(value: Any, where: str) -> list[dict]:
    """A list of {code, name[, category]} (state files); ValueError naming ``where``."""
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(g, dict) and g.get("code") and "name" in g for g in value):
        raise ValueError(f"{where} は code と name を持つオブジェクトの配列にしてください")
    return [dict(g) for g in value]

"""MappingBook + live masters + ledger → every Problem, in one pass (pure).

Linear in the size of the workbook and the ledger: set and dict lookups only; difflib runs
only for the few distinct unknown codes, and its suggestions are cached.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from etl.attendance.items import resolve_columns
from etl.clock import DEFAULT_RESTRICTED_HOURS, JST, RestrictedHours, api_date_window
from etl.errors import ERROR, Problem
from etl.records import Employee, Masters
from etl.workbook.model import (
    HEADERS,
    NEW_PERSON_WORDS,
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_HOWTO,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
    TEMPLATE_VERSION,
    MappingBook,
)
from etl.workbook.resolve import (
    FROM_DEFAULT_DIVISION,
    FROM_DEFAULT_TYPE,
    Resolver,
    department_label,
    unresolved_hint,
)
from etl.workbook.suggest import Suggest

SHEET_ORDER = {s: i for i, s in enumerate(
    (SHEET_HOWTO, SHEET_SETTINGS, SHEET_FIELDS, SHEET_DIVISIONS, SHEET_TYPES, SHEET_OVERRIDES, SHEET_OUTPUT))}
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
ENCODING_VALUES = ("cp932", "utf-8-sig")
OUTPUT_VALUES = ("csv", "ledger")


def validate_book(book: MappingBook, masters: Masters, employees: list[Employee], today: dt.date) -> list[Problem]:
    """Every problem of ``book`` against the attendance masters and the ledger, sorted by sheet and row."""
    problems = list(book.read_problems)
    v = _Checks(book, masters, employees, today, problems)
    v.settings()
    v.fields()
    v.divisions()
    v.types()
    v.overrides()
    v.output_columns()
    v.unresolved()
    return _sorted(_dedupe(problems))


class _Checks:
    def __init__(self, book: MappingBook, masters: Masters, employees: list[Employee], today: dt.date,
                 problems: list[Problem]):
        self.book = book
        self.masters = masters
        self.employees = employees
        self.today = today
        self.out = problems
        self.divisions_hint = Suggest(masters.divisions, "所属")
        self.types_hint = Suggest(masters.working_types, "雇用区分")
        self.ledger_codes = {e.code for e in employees}
        self.department_names: dict[str, str] = {}
        for e in employees:
            if e.department_code and not self.department_names.get(e.department_code):
                self.department_names[e.department_code] = e.department_name
        self.classes = {e.employee_class for e in employees}

    def add(self, code: str, **kw: Any) -> None:
        self.out.append(Problem.of(code, **kw))

    # --- 設定 ----------------------------------------------------------------------------------
    def settings(self) -> None:
        s = self.book.settings
        where = s.cells

        def at(key: str) -> dict[str, str]:
            return {"sheet": SHEET_SETTINGS, "cell": where.get(key, "")}

        def shown(key: str, value: object) -> str:
            return s.raw.get(key) or str(value)

        if s.template_version != TEMPLATE_VERSION:
            self.add("template-version", value=shown("template_version", s.template_version),
                     expected=TEMPLATE_VERSION, **at("template_version"))
        if s.auto_import_day is not None and not 1 <= s.auto_import_day <= 28:
            self.add("invalid-setting", item="勤怠データ自動取込日", value=shown("auto_import_day", s.auto_import_day),
                     hint="1〜28 の整数を入力してください (29日以降はない月があるため。空欄なら自動では取り込みません)。",
                     **at("auto_import_day"))
        if s.csv_encoding not in ENCODING_VALUES:
            self.add("invalid-setting", item="勤怠CSV文字コード", value=shown("csv_encoding", s.csv_encoding),
                     hint="Shift_JIS または UTF-8 を選んでください。", **at("csv_encoding"))
        if s.attendance_output not in OUTPUT_VALUES:
            self.add("invalid-setting", item="勤怠データ出力先", value=shown("attendance_output", s.attendance_output),
                     hint="CSV または 台帳 を選んでください。", **at("attendance_output"))
        for address in s.notify_emails:
            if not EMAIL.fullmatch(address):
                self.add("invalid-email", value=address, **at("notify_emails"))
        if s.auto_sync:
            hours = RestrictedHours.parse(DEFAULT_RESTRICTED_HOURS)
            moment = dt.datetime.combine(self.today, s.auto_sync_time)
            if hours.current(moment.replace(tzinfo=JST)):
                self.add("auto-sync-restricted-hours", value=f"{s.auto_sync_time:%H:%M}", windows=str(hours),
                         **at("auto_sync_time"))
        if s.default_division_code and s.default_division_code not in self.masters.divisions:
            self.add("unknown-default-division", value=s.default_division_code,
                     hint=self.divisions_hint.hint(s.default_division_code), **at("default_division_code"))
        if s.default_type_code and s.default_type_code not in self.masters.working_types:
            self.add("unknown-default-type", value=s.default_type_code,
                     hint=self.types_hint.hint(s.default_type_code), **at("default_type_code"))

    # --- 連携項目 --------------------------------------------------------------------------------
    def fields(self) -> None:
        for f in self.book.fields:
            if f.required and not f.enabled:
                self.add("required-field-off", sheet=f.pos.sheet, cell=f.pos.cell("enabled"), value=f.ledger_field)

    # --- 所属マッピング / 雇用区分マッピング ---------------------------------------------------
    def divisions(self) -> None:
        self._mapping_rows(self.book.divisions, SHEET_DIVISIONS, ("department_code", "division_code"),
                           self.masters.divisions, self.divisions_hint, "unknown-division",
                           self.department_names, "unknown-department", target_column=2)

    def types(self) -> None:
        self._mapping_rows(self.book.types, SHEET_TYPES, ("employee_class", "type_code"),
                           self.masters.working_types, self.types_hint, "unknown-employment-type",
                           self.classes, "unknown-employee-class", target_column=1)

    def _mapping_rows(self, rows, sheet: str, fields: tuple[str, str], known, hint, unknown_target: str,
                      ledger_keys, unknown_key: str, *, target_column: int) -> None:
        """One mapping sheet: targets must exist in the masters, keys in the ledger, each key once."""
        key_field, target_field = fields
        key_header, target_header = HEADERS[sheet][0], HEADERS[sheet][target_column]
        seen: dict[str, tuple[str, str]] = {}
        for m in rows:
            pos, key, target = m.pos, getattr(m, key_field), getattr(m, target_field)
            if target and target not in known:
                self.add(unknown_target, sheet=pos.sheet, cell=pos.cell(target_field), value=target,
                         hint=hint.hint(target))
            if not key:
                if target:
                    self.add("mapping-key-missing", sheet=pos.sheet, cell=pos.cell(key_field),
                             target=target_header, header=key_header)
                continue
            if key not in ledger_keys:
                self.add(unknown_key, sheet=pos.sheet, cell=pos.cell(key_field), value=key)
            self._duplicate(seen, key, target, pos.sheet, pos.cell(key_field))

    def _duplicate(self, seen: dict[str, tuple[str, str]], key: str, target: str, sheet: str, cell: str) -> None:
        prev = seen.get(key)
        if prev is None:
            seen[key] = (target, cell)
            return
        prev_target, prev_cell = prev
        code = "duplicate-mapping-conflict" if prev_target and target and prev_target != target else "duplicate-mapping"
        self.add(code, sheet=sheet, cell=cell, value=key, other=f"セル {prev_cell}")
        if not prev_target and target:
            seen[key] = (target, cell)

    # --- 個別設定 ----------------------------------------------------------------------------------
    def overrides(self) -> None:
        divisions, types = self.masters.divisions, self.masters.working_types
        ledger = self.ledger_codes
        far = api_date_window(self.today)[1]
        seen: dict[str, tuple[tuple, str]] = {}
        previous_seen: dict[str, str] = {}
        for o in self.book.overrides:
            pos = o.pos
            if o.division_code and o.division_code not in divisions:
                self.add("unknown-division", sheet=pos.sheet, cell=pos.cell("division_code"), value=o.division_code,
                         employee_code=o.employee_code, hint=self.divisions_hint.hint(o.division_code))
            if o.type_code and o.type_code not in types:
                self.add("unknown-employment-type", sheet=pos.sheet, cell=pos.cell("type_code"), value=o.type_code,
                         employee_code=o.employee_code, hint=self.types_hint.hint(o.type_code))
            if o.effective_date is not None:
                if o.effective_date < self.today:
                    self.add("effective-date-past", sheet=pos.sheet, cell=pos.cell("effective_date"),
                             employee_code=o.employee_code, value=o.effective_date.isoformat())
                elif o.effective_date > far:
                    self.add("effective-date-far", sheet=pos.sheet, cell=pos.cell("effective_date"),
                             employee_code=o.employee_code, value=o.effective_date.isoformat(), limit=far.isoformat())
            if not o.employee_code:
                filled = [label for label, v in zip(HEADERS[SHEET_OVERRIDES][2:6],
                                                    (o.division_code, o.type_code, o.effective_date, o.exclude),
                                                    strict=True) if v]
                if filled:
                    self.add("mapping-key-missing", sheet=pos.sheet, cell=pos.cell("employee_code"),
                             target=filled[0], header=HEADERS[SHEET_OVERRIDES][0])
                continue
            if o.employee_code not in ledger:
                self.add("override-unknown-employee", sheet=pos.sheet, cell=pos.cell("employee_code"),
                         value=o.employee_code, employee_code=o.employee_code)
            self._previous_code(o, previous_seen)
            target = (o.division_code, o.type_code, o.effective_date, o.exclude)
            prev = seen.get(o.employee_code)
            if prev is None:
                seen[o.employee_code] = (target, pos.cell("employee_code"))
            else:
                code = "duplicate-mapping" if prev[0] == target else "duplicate-mapping-conflict"
                self.add(code, sheet=pos.sheet, cell=pos.cell("employee_code"), value=o.employee_code,
                         employee_code=o.employee_code, other=f"セル {prev[1]}")

    def _previous_code(self, o, seen: dict[str, str]) -> None:
        """旧従業員番号: the code this person had before (see etl.sync.code_change)."""
        old, pos = o.previous_code, o.pos
        if not old or old in NEW_PERSON_WORDS:
            return
        cell = pos.cell("previous_code")
        if old == o.employee_code:
            self.add("previous-code-same", sheet=pos.sheet, cell=cell, value=old, employee_code=o.employee_code)
        elif old in self.ledger_codes:
            self.add("previous-code-in-ledger", sheet=pos.sheet, cell=cell, value=old, employee_code=o.employee_code)
        elif old in seen:
            self.add("previous-code-duplicate", sheet=pos.sheet, cell=cell, value=old, employee_code=o.employee_code,
                     other=f"セル {seen[old]}")
        else:
            seen[old] = cell

    # --- 勤怠出力項目 ------------------------------------------------------------------------------
    def output_columns(self) -> None:
        columns = self.book.output_columns
        self.out.extend(resolve_columns(columns)[1])
        seen: dict[str, str] = {}
        for c in columns:
            header = c.header or c.item
            if not c.enabled or not header:
                continue
            if header in seen:
                self.add("duplicate-output-column", sheet=c.pos.sheet, cell=c.pos.cell("header"), value=header,
                         other=f"セル {seen[header]}")
            else:
                seen[header] = c.pos.cell("header")

    # --- employees whose division / type cannot be resolved --------------------------------------------
    def unresolved(self) -> None:
        resolver = Resolver(self.book, self.masters)
        overrides = resolver.overrides
        hired_only = self.book.settings.hired_only
        today = self.today
        no_division: Counter[str] = Counter()
        no_type: Counter[str] = Counter()
        default_division: dict[str, list[str]] = {}
        default_type: dict[str, list[str]] = {}
        for e in self.employees:
            if not e.is_active(today) or (hired_only and e.hired_date is None):
                continue
            o = overrides.get(e.code)
            if o is not None and o.exclude:
                continue
            division, division_from = resolver.division(e)
            if division is None:
                no_division[e.department_code] += 1
            elif division_from == FROM_DEFAULT_DIVISION:
                default_division.setdefault(department_label(e), []).append(e.code)
            type_code, type_from = resolver.employment_type(e)
            if type_code is None:
                no_type[e.employee_class] += 1
            elif type_from == FROM_DEFAULT_TYPE:
                default_type.setdefault(e.employee_class or "(空欄)", []).append(e.code)
        self._report_unresolved("unresolved-division", no_division, self.book.divisions, SHEET_DIVISIONS,
                                "department_code", "division_code", self.department_names)
        self._report_unresolved("unresolved-employment-type", no_type, self.book.types, SHEET_TYPES,
                                "employee_class", "type_code", {})
        settings = self.book.settings
        for code, decided, target, key in (
                ("default-division-used", default_division, settings.default_division_code, "default_division_code"),
                ("default-type-used", default_type, settings.default_type_code, "default_type_code")):
            for value, codes in sorted(decided.items()):
                self.add(code, sheet=SHEET_SETTINGS, cell=settings.cells.get(key, ""), value=value,
                         count=len(codes), target=target, employees=employee_list(codes))

    def _report_unresolved(self, code: str, counts: Counter[str], rows: tuple, sheet: str, key_attr: str,
                           target_attr: str, names: dict[str, str]) -> None:
        if not counts:
            return
        blank_rows: dict[str, str] = {}
        last, key_col = 1, "A"
        for m in rows:
            last = max(last, m.pos.row)
            key_col = m.pos.cols.get(key_attr, key_col)
            key = getattr(m, key_attr)
            if key and not getattr(m, target_attr):
                blank_rows.setdefault(key, m.pos.cell(target_attr))
        # when the sheet or one of its headers is missing, the row to add is unknown: no cell
        missing_sheet = not rows and any(p.code in ("missing-sheet", "missing-header") and p.sheet == sheet
                                         for p in self.book.read_problems)
        flagged = {p.cell for p in self.out if p.sheet == sheet and p.severity == ERROR}
        kind = "division" if sheet == SHEET_DIVISIONS else "type"
        setting = "default_division_code" if kind == "division" else "default_type_code"
        for key in sorted(counts):
            if not key:  # a blank key cannot be a mapping row: the default setting is the place
                self.add(code, sheet=SHEET_SETTINGS, cell=self.book.settings.cells.get(setting, ""),
                         value="(空欄)", count=counts[key], hint=unresolved_hint(kind, key))
                continue
            if missing_sheet:
                cell = ""
            elif key in blank_rows:
                cell = blank_rows[key]
                if cell in flagged:
                    continue  # the row is there; its target cell is already reported (a formula, a bad code)
            else:
                last += 1
                cell = f"{key_col}{last}"
            shown = key or "(空欄)"
            if names.get(key):
                shown = f"{key} ({names[key]})"
            self.add(code, sheet=sheet, cell=cell, value=shown, count=counts[key], hint=unresolved_hint(kind, key))


def employee_list(codes: list[str], limit: int = 20) -> str:
    """「従業員 A, B, C 他 N 名」: the employees a warning is about, by code."""
    shown = ", ".join(codes[:limit])
    rest = len(codes) - limit
    return f"従業員 {shown}" + (f" 他 {rest} 名" if rest > 0 else "")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for p in problems:
        key = (p.code, p.sheet, p.cell, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


_CELL = re.compile(r"([A-Z]+)(\d+)")


def _sorted(problems: list[Problem]) -> list[Problem]:
    def key(p: Problem) -> tuple:
        m = _CELL.fullmatch(p.cell or "")
        row = int(m[2]) if m else 0
        col = (len(m[1]), m[1]) if m else (0, "")
        return (SHEET_ORDER.get(p.sheet, 99), row, col)
    return sorted(problems, key=key)

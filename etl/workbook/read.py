"""Workbook → MappingBook: typed values that keep their sheet and cell.

Opened read-only with formulas left unevaluated. A file that cannot be opened at all raises
``WorkbookError`` (exit 3, one line naming the file); everything else — a missing sheet or
header, an unreadable date, a formula in a code cell — becomes a Problem in
``MappingBook.read_problems`` so the validator reports every problem in one pass.
"""
from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from etl.bulk import gc_paused
from etl.errors import Problem, WorkbookError
from etl.workbook import cells
from etl.workbook.model import (
    HEADERS,
    OPTIONAL_HEADERS,
    SETTING_ITEMS,
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
    SYNC_FIELDS,
    TEMPLATE_VERSION,
    DivisionMapping,
    FieldToggle,
    MappingBook,
    OutputColumn,
    Override,
    Pos,
    TypeMapping,
    WorkbookSettings,
)
from etl.workbook.opening import open_workbook, unreadable
from etl.workbook.setting_values import VersionError, parse_setting

# Data rows read per sheet at most. A mapping sheet has about as many rows as there are employees
# at the very most (個別設定); a sheet with a million rows is legal in Excel but would take minutes
# and gigabytes to read and report, so the reader stops with a clear error instead.
MAX_SHEET_ROWS = 100_000
# rows in a row blank in every column the reader uses: the sheet ends there (a warning says where),
# so a million rows filled only in an unused column are not read to the end
BLANK_RUN = 1_000

_BROKEN = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ET.ParseError, zipfile.LargeZipFile)

_SETTING_LABELS = {cells.norm_label(label): label for label in SETTING_ITEMS}
_FIELD_LABELS = {cells.norm_label(label): label for label in SYNC_FIELDS}


def read_workbook(path: Path) -> MappingBook:
    """Read the mapping workbook at ``path``. Raises WorkbookError when it cannot be opened."""
    path = Path(path)
    with open_workbook(path, read_only=True) as wb, warnings.catch_warnings(), gc_paused():
        warnings.simplefilter("ignore")
        try:
            return _Reader(wb, path).read()
        except _BROKEN as e:
            raise unreadable(path, f"内容が壊れています: {type(e).__name__}") from None


# --------------------------------------------------------------------------------------------


class _Sheet:
    """One data sheet: header → column index, rows as value tuples with their row number."""

    def __init__(self, name: str, ws: Any, fields: dict[str, str], problems: list[Problem],
                 keys: tuple[str, ...] = ()):
        # fields: attribute name → header label; keys: attributes without which no row is read
        self.name = name
        self.ws = ws
        self.problems = problems
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # never trust <dimension>: some tools write a wrong one
        rows = ws.iter_rows(values_only=True)
        header = next(rows, ())
        self.rows = rows
        found: dict[str, int] = {}
        for i, label in enumerate(header):
            if isinstance(label, str) and label.strip():
                found.setdefault(cells.norm_label(label), i)
        from openpyxl.utils import get_column_letter

        self.index: dict[str, int] = {}
        self.cols: dict[str, str] = {}
        free = len(header) + 1
        while free > 1 and (header[free - 2] is None or str(header[free - 2]).strip() == ""):
            free -= 1
        optional = OPTIONAL_HEADERS.get(name, ())
        for place, (attr, label) in enumerate(fields.items()):
            at = found.get(cells.norm_label(label))
            if at is None and label in optional:
                continue  # a column added after the workbook was made: its values read as blank
            if at is None:
                # point at the template's column for it when that cell is blank, else at the end of row 1
                blank = place >= len(header) or header[place] is None or str(header[place]).strip() == ""
                if blank and place + 1 < free:
                    cell = f"{get_column_letter(place + 1)}1"
                else:
                    cell, free = f"{get_column_letter(free)}1", free + 1
                problems.append(Problem.of("missing-header", sheet=name, cell=cell, header=label))
                continue
            self.index[attr] = at
            self.cols[attr] = self.cols[label] = get_column_letter(at + 1)  # Pos.cell("item") or ("勤怠データ項目")
        self.usable = all(k in self.index for k in keys)

    def records(self) -> Iterator[tuple[int, Callable[[str], Any]]]:
        """(row number, getter) for every non-empty row; getter(attr) → raw value or None."""
        if not self.usable:
            return
        index = self.index
        used = sorted(set(index.values()))
        count = run = 0
        for n, row in enumerate(self.rows, start=2):
            width = len(row)
            if all((v := row[i] if i < width else None) is None or (isinstance(v, str) and not v.strip())
                   for i in used):
                run += 1  # blank in every known column (notes beside the table are ignored)
                if run >= BLANK_RUN:
                    self.problems.append(Problem.of("sheet-blank-run", sheet=self.name, cell=f"A{n - run + 1}",
                                                    run=f"{BLANK_RUN:,}"))
                    return
                continue
            run = 0
            count += 1
            if count > MAX_SHEET_ROWS:
                p = Problem.of("sheet-too-many-rows", sheet=self.name, cell=f"A{n}", limit=f"{MAX_SHEET_ROWS:,}")
                raise WorkbookError(p.line(), [p])

            def get(attr: str, row: tuple = row, width: int = width) -> Any:
                i = index.get(attr)
                return row[i] if i is not None and i < width else None

            yield n, get


class _Reader:
    def __init__(self, wb: Any, path: Path):
        self.wb = wb
        self.path = path
        self.problems: list[Problem] = []
        self._sheets = {cells.norm_label(name): name for name in wb.sheetnames}

    def sheet(self, name: str, fields: dict[str, str], keys: tuple[str, ...] = ()) -> _Sheet | None:
        actual = self._sheets.get(cells.norm_label(name))
        if actual is None:
            self.problems.append(Problem.of("missing-sheet", sheet=name))
            return None
        ws = self.wb[actual]
        if not hasattr(ws, "iter_rows"):  # a chart sheet with the right name
            self.problems.append(Problem.of("missing-sheet", sheet=name))
            return None
        return _Sheet(name, ws, fields, self.problems, keys)

    def read(self) -> MappingBook:
        if not any(cells.norm_label(name) in self._sheets for name in HEADERS):
            p = Problem.of("workbook-not-mapping", path=self.path)
            raise WorkbookError(p.message, [p])
        settings = self.read_settings()
        fields = tuple(self.read_fields())
        divisions = tuple(self.read_divisions())
        types = tuple(self.read_types())
        overrides = tuple(self.read_overrides())
        output_columns = tuple(self.read_output())
        return MappingBook(path=str(self.path), settings=settings, fields=fields, divisions=divisions,
                           types=types, overrides=overrides, output_columns=output_columns,
                           read_problems=tuple(self.problems))

    # --- cell parsing that records problems --------------------------------------------------
    def parse(self, fn: Callable[[Any], Any], raw: Any, sheet: str, cell: str, code: str,
              default: Any = None, **fmt: Any) -> Any:
        try:
            return fn(raw)
        except cells.FormulaError as e:
            self.problems.append(Problem.of("formula-in-cell", sheet=sheet, cell=cell,
                                            value=cells.shown(raw), hint=e.hint))
        except cells.CellError as e:
            self.problems.append(Problem.of(code, sheet=sheet, cell=cell, value=cells.shown(raw),
                                            hint=e.hint, **fmt))
        return default

    # --- 設定 ------------------------------------------------------------------------------------
    def read_settings(self) -> WorkbookSettings:
        sh = self.sheet(SHEET_SETTINGS, {"item": "項目", "value": "値", "help": "説明"}, ("item", "value"))
        if sh is None:
            return WorkbookSettings()
        values: dict[str, Any] = {}
        where: dict[str, str] = {}
        raw: dict[str, str] = {}
        last = 1
        for n, get in sh.records():
            last = n
            item = get("item")
            if item is None or cells.is_formula(item):
                continue
            label = _SETTING_LABELS.get(cells.norm_label(cells.text(item)))
            if label is None:
                self.problems.append(Problem.of("unknown-setting", sheet=sh.name,
                                                cell=f"{sh.cols.get('item', 'A')}{n}", value=cells.text(item)))
                continue
            key = SETTING_ITEMS[label][0]
            cell = f"{sh.cols.get('value', 'B')}{n}"
            if key in where:
                self.problems.append(Problem.of("duplicate-setting", sheet=sh.name,
                                            cell=f"{sh.cols.get('item', 'A')}{n}", value=label, other=where[key]))
                continue
            where[key] = cell
            value = get("value")
            raw[key] = cells.shown(value)
            try:
                values[key] = parse_setting(key, value)
            except VersionError:
                self.problems.append(Problem.of("template-version", sheet=sh.name, cell=cell,
                                                value=cells.shown(value) or "(空欄)", expected=TEMPLATE_VERSION))
            except cells.FormulaError:
                self.problems.append(Problem.of("formula-in-cell", sheet=sh.name, cell=cell, value=cells.shown(value)))
            except cells.CellError as e:
                self.problems.append(Problem.of("invalid-setting", sheet=sh.name, cell=cell, item=label,
                                                value=cells.shown(value), hint=e.hint))
        if not sh.usable:
            return WorkbookSettings()
        add_at = f"{sh.cols.get('item', 'A')}{last + 1}"
        for label, (key, default) in SETTING_ITEMS.items():
            if key in where:
                continue
            if key == "template_version":
                self.problems.append(Problem.of("template-version", sheet=sh.name, cell=add_at,
                                                value="(行がありません)", expected=TEMPLATE_VERSION))
            else:
                self.problems.append(Problem.of("missing-setting", sheet=sh.name, cell=add_at, value=label,
                                                default=default or "空欄"))
        return WorkbookSettings(**values, cells=where, raw=raw)

    # --- 連携項目 ----------------------------------------------------------------------------
    def read_fields(self) -> Iterator[FieldToggle]:
        sh = self.sheet(SHEET_FIELDS, {"ledger_field": "本体項目", "api_field": "勤怠項目",
                                       "enabled": "連携する", "required": "必須"}, ("ledger_field",))
        if sh is None:
            return
        for n, get in sh.records():
            pos = Pos(sh.name, n, cols=sh.cols)
            raw = get("ledger_field")
            label = _FIELD_LABELS.get(cells.norm_label(cells.text(raw))) if isinstance(raw, str) else None
            if label is None:
                self.problems.append(Problem.of("unknown-field", sheet=sh.name, cell=pos.cell("ledger_field"),
                                                value=cells.shown(raw)))
                continue
            api, required = SYNC_FIELDS[label]
            enabled = self.parse(cells.boolean, get("enabled"), sh.name, pos.cell("enabled"),
                                 "invalid-boolean", default=True)
            yield FieldToggle(label, api, enabled, required, pos)

    # --- 所属マッピング / 雇用区分マッピング ----------------------------------------------------
    def read_divisions(self) -> Iterator[DivisionMapping]:
        labels = dict(zip(("department_code", "department_name", "division_code", "division_name", "note"),
                          HEADERS[SHEET_DIVISIONS], strict=True))
        sh = self.sheet(SHEET_DIVISIONS, labels, ("department_code", "division_code"))
        if sh is None:
            return
        for n, get in sh.records():
            pos = Pos(sh.name, n, cols=sh.cols)
            yield DivisionMapping(
                department_code=self.code(get, "department_code", pos),
                department_name=cells.text(get("department_name")),
                division_code=self.code(get, "division_code", pos, cells.choice),
                division_name=cells.text(get("division_name")),
                note=cells.text(get("note")),
                pos=pos,
            )

    def read_types(self) -> Iterator[TypeMapping]:
        labels = dict(zip(("employee_class", "type_code", "type_name", "note"), HEADERS[SHEET_TYPES], strict=True))
        sh = self.sheet(SHEET_TYPES, labels, ("employee_class", "type_code"))
        if sh is None:
            return
        for n, get in sh.records():
            pos = Pos(sh.name, n, cols=sh.cols)
            yield TypeMapping(
                employee_class=self.code(get, "employee_class", pos),
                type_code=self.code(get, "type_code", pos, cells.choice),
                type_name=cells.text(get("type_name")),
                note=cells.text(get("note")),
                pos=pos,
            )

    def code(self, get: Callable[[str], Any], attr: str, pos: Pos,
             read: Callable[[object], str] = cells.code) -> str:
        return self.parse(read, get(attr), pos.sheet, pos.cell(attr), "invalid-code", default="")

    # --- 個別設定 ------------------------------------------------------------------------------
    def read_overrides(self) -> Iterator[Override]:
        labels = dict(zip(("employee_code", "name", "division_code", "type_code", "effective_date", "exclude", "note",
                           "previous_code"), HEADERS[SHEET_OVERRIDES], strict=True))
        sh = self.sheet(SHEET_OVERRIDES, labels, ("employee_code",))
        if sh is None:
            return
        code, choice, text, date, boolean = cells.code, cells.choice, cells.text, cells.date, cells.boolean
        cols = sh.cols
        for n, get in sh.records():
            pos = Pos(sh.name, n, cols=cols)
            try:
                values = (code(get("employee_code")), choice(get("division_code")), choice(get("type_code")),
                          date(get("effective_date")), boolean(get("exclude")))
            except cells.CellError:  # slow path: find and report each bad cell
                values = (self.code(get, "employee_code", pos), self.code(get, "division_code", pos, choice),
                          self.code(get, "type_code", pos, choice),
                          self.parse(date, get("effective_date"), sh.name, pos.cell("effective_date"), "invalid-date"),
                          self.parse(boolean, get("exclude"), sh.name, pos.cell("exclude"), "invalid-boolean",
                                     default=False))
            emp, division, wtype, effective, exclude = values
            previous = get("previous_code")
            previous = self.code(get, "previous_code", pos) if previous is not None else ""
            yield Override(emp, text(get("name")), division, wtype, effective, exclude, text(get("note")), pos,
                           previous_code=previous)

    # --- 勤怠出力項目 ----------------------------------------------------------------------------
    def read_output(self) -> Iterator[OutputColumn]:
        labels = dict(zip(("header", "item", "fmt", "enabled"), HEADERS[SHEET_OUTPUT], strict=True))
        sh = self.sheet(SHEET_OUTPUT, labels, ("header", "item"))
        if sh is None:
            return
        for n, get in sh.records():
            pos = Pos(sh.name, n, cols=sh.cols)
            item = self.parse(cells.code, get("item"), sh.name, pos.cell("item"), "unknown-output-item", default="")
            fmt = self.parse(cells.code, get("fmt"), sh.name, pos.cell("fmt"), "invalid-output-format", default="")
            enabled = self.parse(cells.boolean, get("enabled"), sh.name, pos.cell("enabled"), "invalid-boolean",
                                 default=False)
            yield OutputColumn(cells.text(get("header")), item, fmt, enabled, pos)


"""The mapping workbook as typed data (MappingBook). Every value keeps its sheet and cell.

Sheet names, headers and setting labels are the contract of DESIGN § The mapping workbook and
live here once; the template writer, the reader and the validator all use these constants.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from etl.attendance.items import FORMATS

TEMPLATE_VERSION = 1

SHEET_HOWTO = "使い方"
SHEET_SETTINGS = "設定"
SHEET_FIELDS = "連携項目"
SHEET_DIVISIONS = "所属マッピング"
SHEET_TYPES = "雇用区分マッピング"
SHEET_OVERRIDES = "個別設定"
SHEET_OUTPUT = "勤怠出力項目"
SHEET_MASTER = "マスタ"

HEADERS: dict[str, tuple[str, ...]] = {
    SHEET_SETTINGS: ("項目", "値", "説明"),
    SHEET_FIELDS: ("本体項目", "勤怠項目", "連携する", "必須"),
    SHEET_DIVISIONS: ("本体部署コード", "本体部署名", "勤怠所属コード", "勤怠所属名", "備考"),
    SHEET_TYPES: ("本体社員区分", "勤怠雇用区分コード", "勤怠雇用区分名", "備考"),
    SHEET_OVERRIDES: ("従業員番号", "氏名", "勤怠所属コード", "勤怠雇用区分コード", "異動日", "連携除外", "備考",
                      "旧従業員番号"),
    SHEET_OUTPUT: ("出力列名", "勤怠データ項目", "形式", "出力する"),
}

# 設定 items: label → (key, default shown in the template)
SETTING_ITEMS: dict[str, tuple[str, str]] = {
    "テンプレートバージョン": ("template_version", str(TEMPLATE_VERSION)),
    "入社年月日登録者のみ連携": ("hired_only", "はい"),
    "ビジネスネームを姓名として連携": ("business_name_as_name", "いいえ"),
    "連携結果通知メールアドレス": ("notify_emails", ""),
    "自動連携": ("auto_sync", "しない"),
    "自動連携時刻": ("auto_sync_time", "02:00"),
    "既定の勤怠所属コード": ("default_division_code", ""),
    "既定の勤怠雇用区分コード": ("default_type_code", ""),
    "勤怠データ出力先": ("attendance_output", "CSV"),
    "勤怠CSV文字コード": ("csv_encoding", "Shift_JIS"),
    "勤怠データ自動取込日": ("auto_import_day", ""),
    "照合レポート": ("reconcile_report", "しない"),
}
# headers a workbook made by an older template may lack: no problem when missing
OPTIONAL_HEADERS: dict[str, tuple[str, ...]] = {SHEET_OVERRIDES: ("旧従業員番号",)}
# 旧従業員番号 words that say "another person, not a code change"
NEW_PERSON_WORDS = frozenset({"なし", "別人"})
# 照合レポート: 値 → when the nightly run adds the reconcile section
RECONCILE_SCHEDULES = {"しない": "never", "毎日": "daily", "毎週月曜": "monday"}

# 連携項目: ledger label → (API field, required on create ※1, Employee attribute(s))
SYNC_FIELDS: dict[str, tuple[str, bool]] = {
    "従業員番号": ("code", True),
    "姓": ("lastName", True),
    "名": ("firstName", True),
    "姓(カナ)": ("lastNamePhonetics", False),
    "名(カナ)": ("firstNamePhonetics", False),
    "部署": ("divisionCode", True),
    "社員区分": ("typeCode", True),
    "性別": ("gender", True),
    "生年月日": ("birthDate", False),
    "入社年月日": ("hiredDate", False),
    "退職年月日": ("resignationDate", False),
    "メールアドレス": ("emailAddresses", False),
}

TRUE_WORDS = ("はい", "する", "true", "○", "〇", "1", "yes", "on")
FALSE_WORDS = ("いいえ", "しない", "false", "×", "0", "no", "off", "")

ENCODINGS = {"shift_jis": "cp932", "sjis": "cp932", "cp932": "cp932", "utf-8": "utf-8-sig",
             "utf8": "utf-8-sig", "utf-8-sig": "utf-8-sig"}

OUTPUT_FORMATS = FORMATS  # 形式: one list, owned by the attendance item catalogue


@dataclass(frozen=True)
class Pos:
    """Where a row lives: its sheet, its row number and the cell of each field (e.g. 'C5')."""

    sheet: str
    row: int
    cells: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # field → column letter, shared by every row of a sheet (the reader sets this instead of
    # building a ``cells`` dict per row); ``cells`` wins when both name a field
    cols: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def cell(self, name: str) -> str:
        found = self.cells.get(name)
        if found:
            return found
        col = self.cols.get(name)
        return f"{col}{self.row}" if col else f"A{self.row}"


@dataclass(frozen=True)
class FieldToggle:
    ledger_field: str  # 本体項目 label, e.g. "姓(カナ)"
    api_field: str  # 勤怠項目, e.g. "lastNamePhonetics"
    enabled: bool  # 連携する
    required: bool  # 必須 (※1): sent on create even when off
    pos: Pos


@dataclass(frozen=True)
class DivisionMapping:
    department_code: str
    department_name: str
    division_code: str
    division_name: str
    note: str
    pos: Pos


@dataclass(frozen=True)
class TypeMapping:
    employee_class: str
    type_code: str
    type_name: str
    note: str
    pos: Pos


@dataclass(frozen=True)
class Override:
    employee_code: str
    name: str
    division_code: str  # "" = no override
    type_code: str  # "" = no override
    effective_date: dt.date | None  # 異動日
    exclude: bool  # 連携除外
    note: str
    pos: Pos
    previous_code: str = ""  # 旧従業員番号: HR confirms the same person had this code before


@dataclass(frozen=True)
class OutputColumn:
    header: str  # 出力列名
    item: str  # 勤怠データ項目 (key of etl.attendance catalogue)
    fmt: str  # 形式
    enabled: bool  # 出力する
    pos: Pos


@dataclass(frozen=True)
class WorkbookSettings:
    template_version: int = TEMPLATE_VERSION
    hired_only: bool = True  # 入社年月日登録者のみ連携
    business_name_as_name: bool = False  # ビジネスネームを姓名として連携
    notify_emails: tuple[str, ...] = ()  # 連携結果通知メールアドレス
    auto_sync: bool = False  # 自動連携
    auto_sync_time: dt.time = dt.time(2, 0)  # 自動連携時刻
    default_division_code: str = ""  # 既定の勤怠所属コード
    default_type_code: str = ""  # 既定の勤怠雇用区分コード
    attendance_output: str = "csv"  # 勤怠データ出力先: "csv" | "ledger"
    csv_encoding: str = "cp932"  # 勤怠CSV文字コード: "cp932" | "utf-8-sig"
    auto_import_day: int | None = None  # 勤怠データ自動取込日 (1–28)
    reconcile_report: str = "never"  # 照合レポート: "never" | "daily" | "monday" (RECONCILE_SCHEDULES)
    cells: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # key → cell of its 値
    raw: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # key → 値 as written


@dataclass(frozen=True)
class MappingBook:
    path: str
    settings: WorkbookSettings
    fields: tuple[FieldToggle, ...] = ()
    divisions: tuple[DivisionMapping, ...] = ()
    types: tuple[TypeMapping, ...] = ()
    overrides: tuple[Override, ...] = ()
    output_columns: tuple[OutputColumn, ...] = ()
    # problems found while reading (unparseable dates, booleans, missing sheets/headers);
    # the validator reports them with the rest
    read_problems: tuple = ()

    def enabled_api_fields(self) -> set[str]:
        return {f.api_field for f in self.fields if f.enabled}

    def required_api_fields(self) -> set[str]:
        return {f.api_field for f in self.fields if f.required} or {
            api for api, req in SYNC_FIELDS.values() if req}

    def division_map(self) -> dict[str, str]:
        """本体部署コード → 勤怠所属コード (first row wins; duplicates are validator problems)."""
        out: dict[str, str] = {}
        for m in self.divisions:
            if m.department_code and m.division_code:
                out.setdefault(m.department_code, m.division_code)
        return out

    def type_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in self.types:
            if m.employee_class and m.type_code:
                out.setdefault(m.employee_class, m.type_code)
        return out

    def override_map(self) -> dict[str, Override]:
        out: dict[str, Override] = {}
        for o in self.overrides:
            if o.employee_code:
                out.setdefault(o.employee_code, o)
        return out

"""The catalogue of 勤怠データ項目: what each item is, which KOT fields count toward it, its formats.

This is the ONE place that says which fields of ``/monthly-workings`` make each total. The
transform, the CSV writer, the labour-law checks and the table in docs/attendance.md all read it.

Assumption [I] (KOT_API.md §2.4, to be checked on real data): the weekday buckets (``assigned``,
``unassigned``, ``overtime``, ``night``) exclude work on holidays; ``holidayWork`` is the sum of
``legalHolidayWork`` (法定休日) and ``generalHolidayWork`` (法定外休日); ``overtime`` (残業) is the
part of ``unassigned`` (所定外) beyond the statutory hours, and the ``night*`` fields overlap the
others (深夜 is a subset of worked time, not extra time). ``weeklyWork`` (asked for through
``additionalFields``; KOT_API.md §2.4 documents it as one object
``{overtime, nightOvertime, generalHolidayOvertime, generalHolidayNightOvertime}``) holds the
週40時間超 hours, taken to be outside ``overtime``: they are added to 残業時間 (the 36協定's 時間外労働)
when present, and its night parts are subsets again.

A source is a KOT field; when a month's answer lacks it in every entry, the import warns
(``attendance-field-missing``) naming the field and the item, unless the source is ``optional``
(only sent for some schemes). ``SPELLINGS`` lists the other names a field is known by.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from etl.errors import Problem

# kinds of value
TEXT, DATE, MINUTES, DAYS, COUNT, FLAG = "text", "date", "minutes", "days", "count", "flag"

# 形式 (the workbook's dropdown, etl.workbook.model.OUTPUT_FORMATS)
FMT_MINUTES, FMT_HOURS, FMT_HHMM, FMT_DAYS, FMT_COUNT, FMT_TEXT = "分", "時間(10進)", "HH:MM", "日", "回", "文字"
FORMATS = (FMT_MINUTES, FMT_HOURS, FMT_HHMM, FMT_DAYS, FMT_COUNT, FMT_TEXT)

# which 形式 each kind of item accepts; the first one is the default when 形式 is blank
KIND_FORMATS: dict[str, tuple[str, ...]] = {
    TEXT: (FMT_TEXT,),
    DATE: (FMT_TEXT,),
    FLAG: (FMT_TEXT,),
    MINUTES: (FMT_HHMM, FMT_MINUTES, FMT_HOURS, FMT_TEXT),
    DAYS: (FMT_DAYS, FMT_COUNT, FMT_TEXT),
    COUNT: (FMT_COUNT, FMT_DAYS, FMT_TEXT),
}

FORMAT_HELP = {
    FMT_MINUTES: "分の整数 (例 2701)",
    FMT_HOURS: "時間の10進数・小数2桁、四捨五入 (例 45.02)",
    FMT_HHMM: "時間:分 (例 45:01)",
    FMT_DAYS: "日数 (例 20 / 0.5)",
    FMT_COUNT: "回数の整数 (例 3)",
    FMT_TEXT: "値をそのまま文字で (日付は YYYY/MM/DD、締めは 締め済み/未締め)",
}


@dataclass(frozen=True)
class Item:
    key: str  # key of a transformed row (a monthly_attendance column when ``ledger``)
    label: str  # 勤怠データ項目 as HR picks it in the workbook
    kind: str
    sources: tuple[str, ...]  # KOT fields (dotted paths) summed into the value
    note: str = ""  # how the value is made, for docs/attendance.md
    help: str = ""  # what it is, for HR (the workbook's list of 勤怠データ項目)
    ledger: bool = True  # stored in the ledger's monthly_attendance
    aliases: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  # sources that may be absent from a whole month without a warning

    @property
    def default_format(self) -> str:
        return KIND_FORMATS[self.kind][0]


ITEMS: tuple[Item, ...] = (
    Item("employee_code", "従業員番号", TEXT, ("employeeKey",), "従業員識別キーを勤怠の従業員一覧 (退職者を含む) で従業員番号に変換。見つからなければ台帳の連携キー", aliases=("従業員コード",), help="従業員番号 (台帳と勤怠の共通キー)"),
    Item("name", "氏名", TEXT, (), "台帳の姓 名 (台帳にいなければ勤怠の姓 名)", ledger=False, help="台帳の姓 名"),
    Item("division_code", "所属コード", TEXT, (), "勤怠の所属コード (今日時点)", ledger=False, aliases=("勤怠所属コード",), help="勤怠の所属コード"),
    Item("division_name", "所属名", TEXT, (), "勤怠の所属名 (今日時点)", ledger=False, aliases=("勤怠所属名",), help="勤怠の所属名"),
    Item("month", "対象月", TEXT, (), "YYYY-MM", aliases=("年月",), help="YYYY-MM"),
    Item("period_start", "集計開始日", DATE, ("startDate",), help="月の集計期間の開始日"),
    Item("period_end", "集計終了日", DATE, ("endDate",), help="月の集計期間の終了日"),
    Item("working_days", "出勤日数", DAYS, ("workingDayCount",), "実テナントは `workingdayCount` (d が小文字) で送るため両方を読む (両方あれば `workingdayCount`)", aliases=("総勤務日数",), help="出勤した日数"),
    Item("absent_days", "欠勤日数", DAYS, ("absentdayCount",), help="欠勤した日数"),
    Item("paid_leave_days", "有休取得日数", DAYS, ("holidaysObtained.dayCount",), "休暇コードが [attendance] paid_leave_codes にある holidaysObtained の dayCount の合計 (時間単位の有休は含めない)", aliases=("有休日数", "有給取得日数"), help="有休を取得した日数"),
    Item("late_count", "遅刻回数", COUNT, ("lateCount",), help="遅刻した回数"),
    Item("late_minutes", "遅刻時間", MINUTES, ("late",), help="遅刻の合計時間"),
    Item("early_leave_count", "早退回数", COUNT, ("earlyLeaveCount",), help="早退した回数"),
    Item("early_leave_minutes", "早退時間", MINUTES, ("earlyLeave",), help="早退の合計時間"),
    Item("total_work_minutes", "総労働時間", MINUTES, ("assigned", "unassigned", "holidayWork.normal", "holidayWork.extra"), "所定 + 所定外 + 休日の所定 + 休日の所定外 (残業・深夜は内数なので足さない)", aliases=("労働合計",), help="所定 + 所定外 + 休日労働"),
    Item("assigned_minutes", "所定内時間", MINUTES, ("assigned",), aliases=("所定内", "所定時間", "所定内労働時間"), help="所定労働時間内の労働"),
    Item("unassigned_minutes", "所定外時間", MINUTES, ("unassigned",), "法定内残業を含む", aliases=("所定外", "所定外労働時間"), help="所定労働時間を超えた労働 (法定内残業を含む)"),
    Item("overtime_minutes", "残業時間", MINUTES,
         ("overtime", "generalHolidayWork.overtime", "weeklyWork.overtime", "weeklyWork.generalHolidayOvertime"),
         "平日の残業 + 法定外休日の残業 + 週40時間超 (`weeklyWork`、additionalFields で要求し、あるときだけ加算)。36協定の「時間外労働」はこの値",
         aliases=("時間外労働時間", "残業"), help="法定労働時間を超えた労働 (36協定の時間外労働、週40時間超を含む)",
         optional=("weeklyWork.overtime", "weeklyWork.generalHolidayOvertime")),
    Item("night_minutes", "深夜時間", MINUTES, ("night", "holidayWork.night"), "22:00〜5:00 の労働 (平日 + 休日)", aliases=("深夜労働時間", "深夜"), help="22:00〜5:00 の労働"),
    Item("holiday_work_minutes", "休日労働時間", MINUTES, ("holidayWork.normal", "holidayWork.extra"), "法定休日 + 法定外休日", aliases=("休日労働",), help="法定休日 + 法定外休日の労働"),
    Item("legal_holiday_work_minutes", "法定休日労働時間", MINUTES, ("legalHolidayWork.normal", "legalHolidayWork.extra"), "36協定の「休日労働」はこの値", aliases=("法定休日労働",), help="法定休日の労働 (36協定の休日労働)"),
    Item("is_closing", "締め状況", FLAG, ("isClosing",), "締め済み / 未締め", aliases=("締め",), help="締め済み / 未締め"),
)

BY_KEY: dict[str, Item] = {i.key: i for i in ITEMS}

# Other names a KOT field is known by, in the order they are read (the first one an entry has wins).
# KOT_API.md §2.4: the description spells workingDayCount, scripts against real tenants read workingdayCount.
SPELLINGS: dict[str, tuple[str, ...]] = {"workingDayCount": ("workingdayCount", "workingDayCount")}

# What GET /monthly-workings is asked to add (additionalFields): the objects optional sources live in.
MONTHLY_ADDITIONAL_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(
    path.partition(".")[0] for item in ITEMS for path in item.optional))

# The ledger's monthly_attendance columns (etl/ledger/schema.py) — the keys of an upserted record.
LEDGER_KEYS: tuple[str, ...] = tuple(i.key for i in ITEMS if i.ledger) + ("imported_at",)

# 36協定 totals, computed from ledger columns so that the ledger's history can be summed too.
LAW_OVERTIME: tuple[str, ...] = ("overtime_minutes",)  # 時間外労働 (45 h / 360 h / 720 h)
LAW_OVERTIME_PLUS_HOLIDAY: tuple[str, ...] = ("overtime_minutes", "legal_holiday_work_minutes")  # 100 h / 80 h

# The columns of a new template's 勤怠出力項目 sheet (header, item label, 形式).
DEFAULT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("従業員番号", "従業員番号", FMT_TEXT),
    ("氏名", "氏名", FMT_TEXT),
    ("対象月", "対象月", FMT_TEXT),
    ("出勤日数", "出勤日数", FMT_DAYS),
    ("欠勤日数", "欠勤日数", FMT_DAYS),
    ("有休取得日数", "有休取得日数", FMT_DAYS),
    ("遅刻回数", "遅刻回数", FMT_COUNT),
    ("遅刻時間", "遅刻時間", FMT_HHMM),
    ("早退回数", "早退回数", FMT_COUNT),
    ("早退時間", "早退時間", FMT_HHMM),
    ("総労働時間", "総労働時間", FMT_HHMM),
    ("所定内時間", "所定内時間", FMT_HHMM),
    ("所定外時間", "所定外時間", FMT_HHMM),
    ("残業時間", "残業時間", FMT_HHMM),
    ("深夜時間", "深夜時間", FMT_HHMM),
    ("休日労働時間", "休日労働時間", FMT_HHMM),
    ("法定休日労働時間", "法定休日労働時間", FMT_HHMM),
    ("締め状況", "締め状況", FMT_TEXT),
)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).replace(" ", "").strip().lower()


_LOOKUP: dict[str, Item] = {}
for _item in ITEMS:
    for _name in (_item.label, _item.key, *_item.aliases):
        _LOOKUP.setdefault(_norm(_name), _item)

_FORMAT_WORDS: dict[str, str] = {
    "分": FMT_MINUTES, "min": FMT_MINUTES, "minutes": FMT_MINUTES,
    "時間": FMT_HOURS, "hours": FMT_HOURS,
    "hh:mm": FMT_HHMM, "h:mm": FMT_HHMM, "時:分": FMT_HHMM, "時間:分": FMT_HHMM,
    "日": FMT_DAYS, "日数": FMT_DAYS,
    "回": FMT_COUNT, "回数": FMT_COUNT,
    "文字": FMT_TEXT, "文字列": FMT_TEXT, "テキスト": FMT_TEXT, "text": FMT_TEXT,
}


def find_item(text: str) -> Item | None:
    """The item HR named in 勤怠データ項目 (label, alias or key; width and spaces ignored)."""
    return _LOOKUP.get(_norm(text))


def normalise_format(text: str) -> str | None:
    """形式 as written → one of FORMATS ('' → ''); None when unreadable.

    「時間(10進)」「時間(10進, 2桁)」「時間」 all mean decimal hours.
    """
    word = _norm(text)
    if not word:
        return ""
    if word in _FORMAT_WORDS:
        return _FORMAT_WORDS[word]
    if word.startswith("時間("):  # NFKC made full-width brackets ASCII
        return FMT_HOURS
    return None


@dataclass(frozen=True)
class Column:
    """One resolved CSV column: its header, its item and its 形式."""

    header: str
    item: Item
    fmt: str


def resolve_columns(columns) -> tuple[list[Column], list[Problem]]:
    """The workbook's OutputColumn rows → enabled Columns in order, plus every problem at once.

    Problems carry the sheet and cell of the offending value (unknown-output-item,
    invalid-output-format, output-format-mismatch); disabled rows are not checked.
    """
    resolved: list[Column] = []
    problems: list[Problem] = []
    for col in columns:
        if not col.enabled:
            continue
        pos = col.pos
        item = find_item(col.item)
        if item is None:
            problems.append(Problem.of("unknown-output-item", sheet=pos.sheet, cell=pos.cell("item"),
                                       value=col.item))
            continue
        fmt = normalise_format(col.fmt)
        if fmt is None:
            problems.append(Problem.of("invalid-output-format", sheet=pos.sheet, cell=pos.cell("fmt"), value=col.fmt))
            continue
        fmt = fmt or item.default_format
        if fmt not in KIND_FORMATS[item.kind]:
            problems.append(Problem.of("output-format-mismatch", sheet=pos.sheet, cell=pos.cell("fmt"), value=col.fmt,
                                       item=item.label, allowed=" / ".join(KIND_FORMATS[item.kind])))
            continue
        header = str(col.header or "").strip() or item.label
        resolved.append(Column(header, item, fmt))
    return resolved, problems


def default_columns() -> list[Column]:
    by_label = {item.label: item for item in ITEMS}
    return [Column(h, by_label[label], fmt) for h, label, fmt in DEFAULT_COLUMNS]


def markdown_table() -> str:
    """The table of 勤怠データ項目 for docs/attendance.md: the KOT fields behind each one and its formats."""
    rows = ["| 勤怠データ項目 | 台帳の列 | 勤怠API (月別勤怠) の項目 | 使える形式 (先頭が既定) | 説明 |",
            "|---|---|---|---|---|"]
    for item in ITEMS:
        sources = " + ".join(_source_text(s, s in item.optional) for s in item.sources) or "—"
        column = f"`{item.key}`" if item.ledger else "— (CSV のみ)"
        rows.append(f"| {item.label} | {column} | {sources} | {' / '.join(KIND_FORMATS[item.kind])} | {item.note} |")
    rows.append("")
    rows.append("| 36協定の集計 | 台帳の列の合計 |")
    rows.append("|---|---|")
    rows.append(f"| 時間外労働 (月45時間・年360時間・年720時間・45時間超の月数) | {' + '.join(_labels(LAW_OVERTIME))} |")
    rows.append(f"| 時間外労働 + 休日労働 (単月100時間未満・2〜6か月平均80時間以下) | {' + '.join(_labels(LAW_OVERTIME_PLUS_HOLIDAY))} |")
    rows.append("")
    rows.append("| 形式 | 出力 |")
    rows.append("|---|---|")
    rows.extend(f"| {fmt} | {FORMAT_HELP[fmt]} |" for fmt in FORMATS)
    return "\n".join(rows)


def _source_text(path: str, optional: bool) -> str:
    names = " または ".join(f"`{s}`" for s in SPELLINGS.get(path, (path,)))
    return f"{names} (あれば)" if optional else names


def _labels(keys: tuple[str, ...]) -> list[str]:
    return [f"{BY_KEY[k].label} (`{k}`)" for k in keys]


def workbook_items() -> dict[str, str]:
    """勤怠データ項目 as HR picks it in the workbook → what it is, in catalogue order."""
    return {item.label: item.help for item in ITEMS}

"""The 勤怠データ項目 catalogue as the workbook sees it: item label → description, and the
default rows of 勤怠出力項目.

The attendance package owns the catalogue (etl/attendance/items.py); it is imported lazily so
the workbook still works (with the fallback below) while that module is absent.
"""
from __future__ import annotations

from etl.workbook.model import OUTPUT_FORMATS

FALLBACK_ITEMS: dict[str, str] = {
    "従業員番号": "従業員番号 (台帳と勤怠の共通キー)",
    "氏名": "台帳の姓 名",
    "所属コード": "勤怠の所属コード",
    "所属名": "勤怠の所属名",
    "対象月": "YYYY-MM",
    "集計開始日": "月の集計期間の開始日",
    "集計終了日": "月の集計期間の終了日",
    "出勤日数": "出勤した日数",
    "欠勤日数": "欠勤した日数",
    "有休取得日数": "有休を取得した日数",
    "遅刻回数": "遅刻した回数",
    "遅刻時間": "遅刻の合計時間",
    "早退回数": "早退した回数",
    "早退時間": "早退の合計時間",
    "総労働時間": "所定 + 所定外 + 休日労働",
    "所定内時間": "所定労働時間内の労働",
    "所定外時間": "所定労働時間を超えた労働 (法定内残業を含む)",
    "残業時間": "法定労働時間を超えた労働 (36協定の時間外労働)",
    "深夜時間": "22:00〜5:00 の労働",
    "休日労働時間": "法定休日 + 法定外休日の労働",
    "法定休日労働時間": "法定休日の労働 (36協定の休日労働)",
    "締め状況": "締め済み / 未締め",
}

_TEXT, _DAYS, _COUNT, _HHMM = "文字", "日", "回", "HH:MM"
FALLBACK_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("従業員番号", "従業員番号", _TEXT), ("氏名", "氏名", _TEXT), ("対象月", "対象月", _TEXT),
    ("出勤日数", "出勤日数", _DAYS), ("欠勤日数", "欠勤日数", _DAYS), ("有休取得日数", "有休取得日数", _DAYS),
    ("遅刻回数", "遅刻回数", _COUNT), ("遅刻時間", "遅刻時間", _HHMM), ("早退回数", "早退回数", _COUNT),
    ("早退時間", "早退時間", _HHMM), ("総労働時間", "総労働時間", _HHMM), ("所定内時間", "所定内時間", _HHMM),
    ("所定外時間", "所定外時間", _HHMM), ("残業時間", "残業時間", _HHMM), ("深夜時間", "深夜時間", _HHMM),
    ("休日労働時間", "休日労働時間", _HHMM), ("法定休日労働時間", "法定休日労働時間", _HHMM),
    ("締め状況", "締め状況", _TEXT),
)


def attendance_items() -> dict[str, str]:
    """Item label (as HR picks it) → description, in catalogue order."""
    try:
        from etl.attendance.items import ITEMS
    except ImportError:
        return dict(FALLBACK_ITEMS)
    if isinstance(ITEMS, dict):
        return {str(k): str(v) for k, v in ITEMS.items()}
    return {item.label: (item.note or FALLBACK_ITEMS.get(item.label, "")) for item in ITEMS}


def default_output_columns() -> tuple[tuple[str, str, str], ...]:
    """(出力列名, 勤怠データ項目, 形式) of a new template's 勤怠出力項目 rows."""
    try:
        from etl.attendance.items import DEFAULT_COLUMNS
    except ImportError:
        return FALLBACK_COLUMNS
    return tuple(DEFAULT_COLUMNS)


def output_formats() -> tuple[str, ...]:
    return OUTPUT_FORMATS

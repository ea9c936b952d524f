"""The 値 of each 設定 item → its typed WorkbookSettings value (pure).

Range checks (day 1–28, known encoding and output target, e-mail syntax) are the validator's:
an out-of-range value is kept as read so the validator can name it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etl.text import split_emails
from etl.workbook import cells
from etl.workbook.model import ENCODINGS, RECONCILE_SCHEDULES, WorkbookSettings

OUTPUT_TARGETS = {"csv": "csv", "台帳": "ledger", "ledger": "ledger", "本体": "ledger", "従業員台帳": "ledger"}
_ENCODINGS = {k.replace("-", "_"): v for k, v in ENCODINGS.items()}
_DEFAULTS = WorkbookSettings()


class VersionError(cells.CellError):
    """テンプレートバージョン is not a whole number."""


def parse_setting(key: str, value: Any) -> Any:
    """Typed value of setting ``key``; raises CellError (FormulaError, VersionError) with a hint."""
    if cells.is_formula(value):
        raise cells.FormulaError()
    return _PARSERS[key](value)


def email_list(value: Any) -> tuple[str, ...]:
    """連携結果通知メールアドレス: addresses separated by comma, semicolon or newline."""
    return tuple(split_emails(cells.text(value)))


def _version(value: Any) -> int:
    try:
        number = cells.integer(value)
    except cells.CellError:
        number = None
    if number is None:
        raise VersionError()
    return number


def _flag(key: str) -> Callable[[Any], bool]:
    return lambda value: cells.boolean(value, blank=getattr(_DEFAULTS, key))


def _time(value: Any):
    return cells.time_of_day(value) or _DEFAULTS.auto_sync_time


def _output(value: Any) -> str:
    word = cells.norm_label(cells.text(value))
    return OUTPUT_TARGETS.get(word, word) if word else _DEFAULTS.attendance_output


def _encoding(value: Any) -> str:
    word = cells.norm_label(cells.text(value)).replace("-", "_")
    return _ENCODINGS.get(word, word) if word else _DEFAULTS.csv_encoding


def _day(value: Any) -> int | None:
    try:
        return cells.integer(value)
    except cells.CellError:
        raise cells.CellError("1〜28 の整数を入力してください (空欄なら自動では取り込みません)。") from None


def _reconcile(value: Any) -> str:
    word = cells.norm_label(cells.text(value))
    if not word:
        return _DEFAULTS.reconcile_report
    for label, key in RECONCILE_SCHEDULES.items():
        if word in (cells.norm_label(label), key):
            return key
    raise cells.CellError("しない・毎日・毎週月曜 のどれかを選んでください。")


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "template_version": _version,
    "hired_only": _flag("hired_only"),
    "business_name_as_name": _flag("business_name_as_name"),
    "notify_emails": email_list,
    "auto_sync": _flag("auto_sync"),
    "auto_sync_time": _time,
    "default_division_code": cells.choice,
    "default_type_code": cells.choice,
    "attendance_output": _output,
    "csv_encoding": _encoding,
    "auto_import_day": _day,
    "reconcile_report": _reconcile,
}

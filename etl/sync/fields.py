"""Employee ↔ attendance-API field mapping (pure).

The ledger's ``Employee`` becomes the API's employee JSON (``desired_fields``) and back
(``employee_from_remote``). Values are compared in one normal form: strings, dates as
``YYYY-MM-DD``, e-mail addresses as a list. A blank ledger value is left out of the desired
fields; the plan then sends an optional field ("" clears it: the API sets NULL) when the attendance
side still has a value (``CLEARABLE``), and refuses to touch an employee whose required field was
emptied (``REQUIRED_ON_UPDATE``). A kana withheld (``withheld_kana``) is neither sent nor cleared.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import operator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from etl.records import EMPLOYEE_FIELDS, Employee
from etl.text import OTHER_EMAIL_SEPARATORS, split_emails
from etl.workbook.model import SYNC_FIELDS, MappingBook

API_FIELDS = tuple(api for api, _ in SYNC_FIELDS.values())
REQUIRED_ON_CREATE = ("code", "lastName", "firstName", "divisionCode", "typeCode", "gender")
# the fields GET /employees returns only when asked for through additionalFields
ADDITIONAL_FIELDS = ("lastNamePhonetics", "firstNamePhonetics", "hiredDate", "birthDate",
                     "resignationDate", "emailAddresses")
# API field → label in messages (本体項目, but the attendance-side words for division and type)
LABELS = {api: label for label, (api, _) in SYNC_FIELDS.items()} | {"divisionCode": "所属",
                                                                    "typeCode": "雇用区分"}
DATED_FIELDS = ("divisionCode", "typeCode")  # changes that take effect on the 異動日 (updateDate)
# emptied in the ledger → sent as "" (the API clears an item present and empty: KOT_API.md §2.2)
CLEARABLE = ("lastNamePhonetics", "firstNamePhonetics", "birthDate", "hiredDate", "resignationDate",
             "emailAddresses")
# emptied in the ledger → an error row, nothing sent for that employee (the API requires them)
REQUIRED_ON_UPDATE = ("lastName", "firstName", "gender", "divisionCode", "typeCode")
# the business-name kana columns behind the API's kana fields (labels for the warning)
# API kana field → (business name attribute, its kana attribute, the kana column's label)
BUSINESS_KANA = {"lastNamePhonetics": ("business_last_name", "business_last_name_kana", "ビジネスネーム(セイ)"),
                 "firstNamePhonetics": ("business_first_name", "business_first_name_kana", "ビジネスネーム(メイ)")}



@dataclass(frozen=True)
class FieldRules:
    """Which API fields the workbook's 連携項目 sends, and how names are chosen."""

    enabled: frozenset[str]  # 連携する
    required: frozenset[str]  # ※1: sent on create even when off
    business_name: bool = False  # ビジネスネームを姓名として連携

    @classmethod
    def from_book(cls, book: MappingBook) -> FieldRules:
        # a book without 連携項目 rows (a workbook problem reported by the validator) syncs everything
        enabled = book.enabled_api_fields() if book.fields else set(API_FIELDS)
        return cls(enabled=frozenset(enabled),
                   required=frozenset(book.required_api_fields()) | frozenset(REQUIRED_ON_CREATE),
                   business_name=book.settings.business_name_as_name)

    def on_create(self) -> frozenset[str]:
        return self.enabled | self.required

    def on_update(self) -> frozenset[str]:
        return self.enabled - {"code"}


def additional_fields(rules: FieldRules) -> tuple[str, ...]:
    """The additionalFields the plan needs from GET /employees."""
    wanted = rules.on_create() | {"resignationDate", "birthDate", "hiredDate"}  # the last two: code changes
    return tuple(f for f in ADDITIONAL_FIELDS if f in wanted)


@lru_cache(maxsize=65536)
def katakana(text: str) -> str:
    """Full-width katakana (cached: names repeat, and the plan must stay fast)."""
    from etl.ledger.normalize import to_katakana
    return to_katakana(text)


def uses_business_name(emp: Employee, business_name: bool) -> bool:
    """ビジネスネームを姓名として連携 is on and the employee has a business name."""
    return business_name and bool(emp.business_last_name or emp.business_first_name)


def withheld_kana(emp: Employee, business_name: bool) -> tuple[str, ...]:
    """Kana fields not sent because the business name is sent and its kana is blank (a warning)."""
    if not uses_business_name(emp, business_name):
        return ()
    return tuple(f for f, (name, kana, _) in BUSINESS_KANA.items()
                 if getattr(emp, name) and not getattr(emp, kana))


class _IsoDates(dict):
    """date → "YYYY-MM-DD", each distinct date formatted once: ``date.isoformat`` costs ~0.5 µs,
    and 50,000 employees share a few thousand birth and hire dates (the plan's hot path)."""

    def __missing__(self, day: dt.date) -> str:
        text = self[day] = day.isoformat()
        return text


_ISO = _IsoDates()
_has_separator = OTHER_EMAIL_SEPARATORS.search  # split_emails' own test for separators other than ";"


def desired_values(emp: Employee, division: str | None, type_code: str | None,
                   business_name: bool) -> tuple[Any, ...]:
    """Every API value the ledger holds for ``emp`` (before the 連携項目 toggles), in
    ``API_FIELDS`` order, None where the ledger is blank (``code`` is always there).

    A business name sent as the name carries its own kana (none when that is blank). The plan
    compares this tuple with the attendance record before it builds any dict (50,000 rows)."""
    last, first = emp.last_name, emp.first_name
    last_kana, first_kana = emp.last_name_kana, emp.first_name_kana
    if business_name and (emp.business_last_name or emp.business_first_name):  # uses_business_name
        if emp.business_last_name:
            last, last_kana = emp.business_last_name, emp.business_last_name_kana
        if emp.business_first_name:
            first, first_kana = emp.business_first_name, emp.business_first_name_kana
    birth, hired, resigned, email = emp.birth_date, emp.hired_date, emp.resignation_date, emp.email
    if email:  # one address, nothing to split (``split_emails`` gives [email]): the common case, inline
        emails = [email] if ";" not in email and not _has_separator(email) else split_emails(email)
    else:
        emails = None
    return (emp.code, last or None, first or None,
            katakana(last_kana) if last_kana else None, katakana(first_kana) if first_kana else None,
            division or None, type_code or None, emp.gender or None,
            None if birth is None else _ISO[birth], None if hired is None else _ISO[hired],
            None if resigned is None else _ISO[resigned], emails)


def desired_dict(values: tuple[Any, ...]) -> dict[str, Any]:
    """``desired_values`` as the API's JSON fields, blanks left out (= ``desired_fields``)."""
    return {f: v for f, v in zip(API_FIELDS, values, strict=True) if v is not None}


def desired_fields(emp: Employee, division: str | None, type_code: str | None,
                   business_name: bool) -> dict[str, Any]:
    """Every non-blank API value the ledger holds for ``emp`` (before the 連携項目 toggles):
    ``desired_dict(desired_values(...))``, built straight (a create's body: 50,000 rows on the
    first sync). tests/test_sync_fields.py holds the two to the same answer.

    A business name sent as the name carries its own kana (none when that is blank)."""
    last, first = emp.last_name, emp.first_name
    last_kana, first_kana = emp.last_name_kana, emp.first_name_kana
    if uses_business_name(emp, business_name):
        if emp.business_last_name:
            last, last_kana = emp.business_last_name, emp.business_last_name_kana
        if emp.business_first_name:
            first, first_kana = emp.business_first_name, emp.business_first_name_kana
    out: dict[str, Any] = {"code": emp.code}
    if last:
        out["lastName"] = last
    if first:
        out["firstName"] = first
    if last_kana:
        out["lastNamePhonetics"] = katakana(last_kana)
    if first_kana:
        out["firstNamePhonetics"] = katakana(first_kana)
    if division:
        out["divisionCode"] = division
    if type_code:
        out["typeCode"] = type_code
    if emp.gender:
        out["gender"] = emp.gender
    if emp.birth_date is not None:
        out["birthDate"] = _ISO[emp.birth_date]
    if emp.hired_date is not None:
        out["hiredDate"] = _ISO[emp.hired_date]
    if emp.resignation_date is not None:
        out["resignationDate"] = _ISO[emp.resignation_date]
    if emp.email:
        out["emailAddresses"] = split_emails(emp.email)
    return out


def remote_value(record: dict[str, Any], name: str) -> Any:
    """A remote value in the comparison form ("" and [] read as absent)."""
    value = record.get(name)
    if value in ("", [], None):
        return None
    if name == "emailAddresses" and isinstance(value, str):
        return split_emails(value)
    return value


def employee_from_remote(record: dict[str, Any], department_code: str, department_name: str,
                         employee_class: str) -> Employee:
    """An attendance employee as a ledger row (for pull-employees)."""
    emails = record.get("emailAddresses") or []
    if isinstance(emails, str):
        emails = split_emails(emails)
    gender = record.get("gender") or ""
    return Employee(
        code=str(record.get("code") or ""),
        last_name=record.get("lastName") or "",
        first_name=record.get("firstName") or "",
        last_name_kana=katakana(record.get("lastNamePhonetics") or ""),
        first_name_kana=katakana(record.get("firstNamePhonetics") or ""),
        department_code=department_code,
        department_name=department_name,
        employee_class=employee_class,
        gender=gender if gender in ("male", "female") else "",
        birth_date=api_date(record.get("birthDate")),
        hired_date=api_date(record.get("hiredDate")),
        resignation_date=api_date(record.get("resignationDate")),
        email=";".join(emails),
    )


def api_date(value: Any) -> dt.date | None:
    """A date as the API sends it ("YYYY-MM-DD…"); None when absent or unreadable."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# --- fingerprints ----------------------------------------------------------------------------

# the fingerprint's text: the employee's fields in EMPLOYEE_FIELDS order, each as ``%s`` shows it
# (a date as YYYY-MM-DD, None as "None"), joined by \x1f. Dates come from a cache (``str(date)``
# costs ~0.5 µs and 50,000 employees share a few thousand dates), the text fields straight.
_DATE_FIELDS = ("birth_date", "hired_date", "resignation_date")
_FIRST_DATE = EMPLOYEE_FIELDS.index(_DATE_FIELDS[0])
if EMPLOYEE_FIELDS[_FIRST_DATE:_FIRST_DATE + len(_DATE_FIELDS)] != _DATE_FIELDS:  # pragma: no cover - a layout guard
    raise ImportError("Employee's date fields moved: update etl.sync.fields' fingerprint text")
_fields_before = operator.attrgetter(*EMPLOYEE_FIELDS[:_FIRST_DATE])
_fields_after = operator.attrgetter(*EMPLOYEE_FIELDS[_FIRST_DATE + len(_DATE_FIELDS):])
_EMPLOYEE_FORMAT = "\x1f".join(["%s"] * len(EMPLOYEE_FIELDS))


class _Shown(dict):
    """value → ``str(value)`` (dates and None), each computed once."""

    def __missing__(self, value: Any) -> str:
        text = self[value] = str(value)
        return text


_SHOWN = _Shown()


@lru_cache(maxsize=4096)
def _override_text(override: Any) -> str:
    """The 個別設定 part of the fingerprint (overrides repeat: a few divisions, types and dates)."""
    return "\x1e" + repr(override)


def context_digest(*parts: Any) -> str:
    """A short digest (16 hex) of everything outside the employee that shapes what is sent."""
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).hexdigest()


def sync_fingerprint(emp: Employee, context: str, override: Any = None) -> str:
    """The fingerprint stored with an employee's link after a successful sync.

    It covers the employee's ledger values, the workbook/masters context (``context_digest``)
    and the employee's own 個別設定, so a change to any of them puts the employee back in the
    nightly plan. (``Employee.fingerprint`` is ~10x slower; the plan must handle 50,000 rows.)
    """
    shown = _SHOWN
    values = (*_fields_before(emp), shown[emp.birth_date], shown[emp.hired_date], shown[emp.resignation_date],
              *_fields_after(emp))
    try:
        text = "\x1f".join(values)  # every field a str (as typed): the same text as ``%s``, sooner
    except TypeError:
        text = _EMPLOYEE_FORMAT % values
    if override is not None:
        text += _override_text(override)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16,
                           person=context.encode("ascii")[:16]).hexdigest()

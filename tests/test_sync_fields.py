"""The sync's field mapping in its two forms, and the fingerprint's text (etl/sync/fields.py)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import operator

from etl.records import EMPLOYEE_FIELDS, Employee
from etl.sync.fields import API_FIELDS, desired_dict, desired_fields, desired_values, sync_fingerprint

BASE = Employee(code="E001", last_name="山田", first_name="太郎", last_name_kana="ヤマダ", first_name_kana="タロウ",
                department_code="D01", department_name="営業部", employee_class="正社員", gender="male",
                birth_date=dt.date(1990, 4, 1), hired_date=dt.date(2015, 4, 1), email="a@example.jp;b@example.jp")

VARIANTS = [
    BASE,
    dataclasses.replace(BASE, last_name_kana="", first_name_kana="", gender="", email=""),
    dataclasses.replace(BASE, birth_date=None, hired_date=None, resignation_date=dt.date(2026, 12, 31)),
    dataclasses.replace(BASE, business_last_name="佐藤", business_last_name_kana="さとう"),
    dataclasses.replace(BASE, business_first_name="花子", business_first_name_kana=""),
    dataclasses.replace(BASE, last_name="", first_name="", email=";"),
    dataclasses.replace(BASE, code="", last_name_kana="ﾔﾏﾀﾞ", email="x@example.jp, y@example.jp"),
]


def test_desired_values_and_desired_fields_give_the_same_fields():
    for emp in VARIANTS:
        for business_name in (False, True):
            for division, type_code in (("1000", "1"), (None, None), ("", "")):
                values = desired_values(emp, division, type_code, business_name)
                assert len(values) == len(API_FIELDS)
                assert desired_dict(values) == desired_fields(emp, division, type_code, business_name)
                assert list(desired_dict(values)) == list(desired_fields(emp, division, type_code, business_name))


def test_desired_values_hold_none_where_the_ledger_is_blank():
    values = dict(zip(API_FIELDS, desired_values(VARIANTS[1], "1000", "1", False), strict=True))
    assert values["lastNamePhonetics"] is None and values["gender"] is None and values["emailAddresses"] is None
    assert values["code"] == "E001" and values["birthDate"] == "1990-04-01"


def test_fingerprint_text_is_every_field_as_percent_s_shows_it():
    """Links stored by earlier versions keep matching: the text is every Employee field ``%s``-formatted
    (dates as YYYY-MM-DD, None as "None") joined by \\x1f, then the 個別設定 values' repr."""
    values = operator.attrgetter(*EMPLOYEE_FIELDS)
    text_format = "\x1f".join(["%s"] * len(EMPLOYEE_FIELDS))
    context = "0123456789abcdef"
    for emp in VARIANTS:
        for override in (None, ("1000", None, dt.date(2026, 11, 1), False), (None, "2", None, True)):
            text = text_format % values(emp)
            if override is not None:
                text += "\x1e" + repr(override)
            expected = hashlib.blake2b(text.encode("utf-8"), digest_size=16,
                                       person=context.encode("ascii")).hexdigest()
            assert sync_fingerprint(emp, context, override) == expected

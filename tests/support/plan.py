"""Shared data of the pure plan tests: masters, a workbook, one ledger employee and its remote twin."""
from __future__ import annotations

import datetime as dt

from etl.records import Employee, Masters
from etl.workbook.model import (
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_OVERRIDES,
    SHEET_TYPES,
    SYNC_FIELDS,
    DivisionMapping,
    FieldToggle,
    MappingBook,
    Override,
    Pos,
    TypeMapping,
    WorkbookSettings,
)

TODAY = dt.date(2026, 11, 26)
MASTERS = Masters(divisions={"100": "本社", "200": "大阪", "300": "福岡", "D09": "同名所属", "900": "既定"},
                  working_types={"1": "正社員", "2": "パート", "9": "既定"})


def make_book(*, off: tuple[str, ...] = (), overrides: tuple[Override, ...] = (), **settings) -> MappingBook:
    fields = tuple(FieldToggle(label, api, label not in off, req, Pos(SHEET_FIELDS, i + 2))
                   for i, (label, (api, req)) in enumerate(SYNC_FIELDS.items()))
    divisions = (DivisionMapping("D01", "総務部", "100", "本社", "", Pos(SHEET_DIVISIONS, 2)),
                 DivisionMapping("D02", "営業部", "200", "大阪", "", Pos(SHEET_DIVISIONS, 3)))
    types = (TypeMapping("正社員", "1", "正社員", "", Pos(SHEET_TYPES, 2)),
             TypeMapping("パート", "2", "パート", "", Pos(SHEET_TYPES, 3)))
    return MappingBook(path="mapping.xlsx", settings=WorkbookSettings(**settings), fields=fields,
                       divisions=divisions, types=types, overrides=overrides)


def override(code="00123", division="", type_code="", date=None, exclude=False) -> Override:
    return Override(code, "", division, type_code, date, exclude, "", Pos(SHEET_OVERRIDES, 2))


BASE = Employee(code="00123", last_name="山田", first_name="太郎", last_name_kana="やまだ",
                first_name_kana="ﾀﾛｳ", business_last_name="", business_first_name="",
                department_code="D01", department_name="総務部", employee_class="正社員",
                gender="male", birth_date=dt.date(1990, 1, 2), hired_date=dt.date(2020, 4, 1),
                email="yamada@example.co.jp")

REMOTE = {"code": "00123", "key": "k-00123", "lastName": "山田", "firstName": "太郎",
          "lastNamePhonetics": "ヤマダ", "firstNamePhonetics": "タロウ", "divisionCode": "100",
          "divisionName": "本社", "typeCode": "1", "typeName": "正社員", "gender": "male",
          "birthDate": "1990-01-02", "hiredDate": "2020-04-01",
          "emailAddresses": ["yamada@example.co.jp"]}

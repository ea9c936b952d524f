"""The pull plan (pure): attendance employees mapped back into ledger rows."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from support.plan import BASE, MASTERS, REMOTE, make_book, override

from etl.records import Link
from etl.sync.pull import plan_pull

DEPARTMENTS = {"D01": "総務部", "D02": "営業部", "D09": "同名部署"}
CLASSES = ["正社員", "パート", "2"]


def rec(**kw):
    out = dict(REMOTE, **kw)
    return {k: v for k, v in out.items() if v is not None}


def pull(remote, employees=(), *, book=None, links=None, update_existing=False):
    return plan_pull(list(remote), list(employees), book or make_book(), MASTERS, links or {},
                     DEPARTMENTS, CLASSES, update_existing=update_existing)


@pytest.mark.parametrize("record, department, employee_class, warnings", [
    (rec(), "D01", "正社員", []),
    (rec(divisionCode="200", typeCode="2"), "D02", "パート", []),
    (rec(divisionCode="D09"), "D09", "正社員", []),  # no mapping row, but the ledger has that department
    (rec(divisionCode="300", divisionName="福岡"), "", "正社員", ["pull-unmapped-division"]),
    (rec(typeCode="9", typeName="既定"), "D01", "", ["pull-unmapped-type"]),
    (rec(divisionCode="300", divisionName="営業部"), "D02", "正社員", []),  # a department with the same name
    (rec(typeCode="7", typeName=" パート "), "D01", "パート", []),  # a 社員区分 with the same name
], ids=["mapped", "mapped-other", "same-code-department", "unmapped-division-left-empty",
        "unmapped-type-left-empty", "same-name-department", "same-name-class"])
def test_new_employee_is_mapped_back(record, department, employee_class, warnings):
    plan = pull([record])
    (item,) = plan.items
    assert item.action == "create" and item.key == "k-00123"
    assert (item.employee.department_code, item.employee.employee_class) == (department, employee_class)
    assert [p.code for p in plan.problems] == warnings
    assert item.employee.email == "yamada@example.co.jp" and item.employee.hired_date == dt.date(2020, 4, 1)
    assert plan.links == [Link("00123", "k-00123", "", "")]


def test_an_unmapped_division_is_reported_per_employee_with_code_and_name():
    plan = pull([rec(code=f"C{i:03d}", key=f"k{i}", divisionCode="900", divisionName="出向")
                 for i in range(3)])
    assert [(p.code, p.employee_code, p.value) for p in plan.problems] == [
        ("pull-unmapped-division", f"C{i:03d}", "900 出向") for i in range(3)]
    assert {i.employee.department_code for i in plan.items} == {""}
    assert "書き込みませんでした" in plan.problems[0].message


def test_a_refresh_never_writes_an_unmapped_attendance_code_into_the_ledger():
    (item,) = pull([rec(divisionCode="900", divisionName="出向", typeCode="9")], [BASE], update_existing=True).items
    assert "department_code" not in item.changes and "employee_class" not in item.changes


def test_existing_employee_is_left_alone_by_default():
    plan = pull([rec(lastName="他人")], [BASE])
    assert plan.items == [] and plan.links == [Link("00123", "k-00123", "", "")]


def test_existing_link_is_not_stored_again():
    plan = pull([rec()], [BASE], links={"00123": Link("00123", "k-00123", "fp", "")})
    assert plan.links == []


class TestUpdateExisting:
    def test_changed_fields_only_and_blanks_never_overwrite(self):
        remote = rec(lastName="山本", emailAddresses=None, birthDate=None, firstNamePhonetics="タロウ")
        (item,) = pull([remote], [BASE], update_existing=True).items
        assert item.action == "update"
        assert item.changes == {"last_name": ["山田", "山本"], "last_name_kana": ["やまだ", "ヤマダ"],
                                "first_name_kana": ["ﾀﾛｳ", "タロウ"]}
        assert item.employee.email == BASE.email and item.employee.birth_date == BASE.birth_date

    def test_department_kept_while_it_still_resolves_to_the_remote_division(self):
        book = make_book(overrides=(override(division="300"),))
        (item,) = pull([rec(divisionCode="300")], [BASE], book=book, update_existing=True).items
        assert "department_code" not in item.changes

    def test_department_follows_a_division_change(self):
        (item,) = pull([rec(divisionCode="200")], [BASE], update_existing=True).items
        assert item.changes["department_code"] == ["D01", "D02"]

    def test_business_name_on_the_attendance_side_keeps_the_legal_name(self):
        e = dataclasses.replace(BASE, business_last_name="鈴木", business_first_name="花")
        book = make_book(business_name_as_name=True)
        (item,) = pull([rec(lastName="鈴木", firstName="花", lastNamePhonetics="スズキ", firstNamePhonetics="ハナ")],
                       [e], book=book, update_existing=True).items
        assert not {"last_name", "first_name", "last_name_kana", "first_name_kana"} & set(item.changes)

    def test_identical_is_unchanged(self):
        same = dataclasses.replace(BASE, last_name_kana="ヤマダ", first_name_kana="タロウ")
        (item,) = pull([rec()], [same], update_existing=True).items
        assert item.action == "unchanged" and item.changes == {}

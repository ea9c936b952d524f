"""Division and employment-type resolution (DESIGN order), shared by the validator and the plan.

division: 個別設定 → 所属マッピング → a division with the same code as the department →
既定の勤怠所属コード → None. Employment type likewise via 雇用区分マッピング and the default.
"""
from __future__ import annotations

from etl.records import Employee, Masters
from etl.workbook.model import MappingBook


class Resolver:
    """Precomputes the lookups once; ``division``/``employment_type`` are then O(1) per employee."""

    def __init__(self, book: MappingBook, masters: Masters):
        self.overrides = book.override_map()
        self.division_map = book.division_map()
        self.type_map = book.type_map()
        self.masters = masters
        self.default_division = book.settings.default_division_code
        self.default_type = book.settings.default_type_code

    def division(self, emp: Employee) -> tuple[str | None, str]:
        """(division code or None, where it came from)."""
        o = self.overrides.get(emp.code)
        if o is not None and o.division_code:
            return o.division_code, "個別設定"
        if emp.department_code in self.division_map:
            return self.division_map[emp.department_code], "所属マッピング"
        if emp.department_code and emp.department_code in self.masters.divisions:
            return emp.department_code, "同じコードの所属"
        if self.default_division:
            return self.default_division, "既定の勤怠所属コード"
        return None, ""

    def employment_type(self, emp: Employee) -> tuple[str | None, str]:
        o = self.overrides.get(emp.code)
        if o is not None and o.type_code:
            return o.type_code, "個別設定"
        if emp.employee_class in self.type_map:
            return self.type_map[emp.employee_class], "雇用区分マッピング"
        if emp.employee_class and emp.employee_class in self.masters.working_types:
            return emp.employee_class, "同じコードの雇用区分"
        if self.default_type:
            return self.default_type, "既定の勤怠雇用区分コード"
        return None, ""

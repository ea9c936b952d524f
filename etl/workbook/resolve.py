"""Division and employment-type resolution (DESIGN order), shared by the validator and the plan.

division: 個別設定 → 所属マッピング (a row with a target) → the division with the same code as the
department, else the one division with the same name → 既定の勤怠所属コード → None.
Employment type likewise: 個別設定 → 雇用区分マッピング → the working type with the same code as the
社員区分, else the one with the same name (正社員 → 「正社員」) → 既定の勤怠雇用区分コード → None.
Codes and names are compared NFKC-normalised and trimmed. When the default decides, the source
is ``FROM_DEFAULT_*`` and the caller must say so (``default_decisions``).
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

from etl.records import Employee, Masters
from etl.workbook.model import MappingBook

FROM_OVERRIDE = "個別設定"
FROM_DIVISION_MAPPING = "所属マッピング"
FROM_TYPE_MAPPING = "雇用区分マッピング"
FROM_SAME_CODE = "同じコード"
FROM_SAME_NAME = "同じ名前"
FROM_DEFAULT_DIVISION = "既定の勤怠所属コード"
FROM_DEFAULT_TYPE = "既定の勤怠雇用区分コード"


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _by_code_and_name(master: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(normalised code → code, normalised name → code for names that occur once)."""
    codes = {_key(c): c for c in master}
    counts = Counter(_key(n) for n in master.values() if _key(n))
    names = {_key(n): c for c, n in master.items() if _key(n) and counts[_key(n)] == 1}
    return codes, names


class SameMatch:
    """The automatic step of the order: the master entry with the same code as the ledger value,
    else the one entry with the same name. Used by ``Resolver`` and by the refresh's note on a row
    it added (「同じコードの所属 1000 本社 に自動で連携されます」)."""

    def __init__(self, master: Mapping[str, str]):
        self._codes, self._names = _by_code_and_name(master)

    def find(self, code: str, name: str) -> tuple[str, str] | None:
        """(master code, ``FROM_SAME_CODE`` or ``FROM_SAME_NAME``), or None."""
        return _same(code, name, self._codes, self._names)


class Resolver:
    """Precomputes the lookups once; ``division``/``employment_type`` are then O(1) per employee."""

    def __init__(self, book: MappingBook, masters: Masters):
        self.overrides = book.override_map()
        self.division_map = book.division_map()
        self.type_map = book.type_map()
        self.masters = masters
        self.default_division = book.settings.default_division_code
        self.default_type = book.settings.default_type_code
        self._same_division = SameMatch(masters.divisions)
        self._same_type = SameMatch(masters.working_types)

    def division(self, emp: Employee) -> tuple[str | None, str]:
        """(division code or None, where it came from)."""
        o = self.overrides.get(emp.code)
        if o is not None and o.division_code:
            return o.division_code, FROM_OVERRIDE
        if emp.department_code in self.division_map:
            return self.division_map[emp.department_code], FROM_DIVISION_MAPPING
        found = self._same_division.find(emp.department_code, emp.department_name)
        if found is not None:
            return found
        if self.default_division:
            return self.default_division, FROM_DEFAULT_DIVISION
        return None, ""

    def employment_type(self, emp: Employee) -> tuple[str | None, str]:
        o = self.overrides.get(emp.code)
        if o is not None and o.type_code:
            return o.type_code, FROM_OVERRIDE
        if emp.employee_class in self.type_map:
            return self.type_map[emp.employee_class], FROM_TYPE_MAPPING
        found = self._same_type.find(emp.employee_class, emp.employee_class)
        if found is not None:
            return found
        if self.default_type:
            return self.default_type, FROM_DEFAULT_TYPE
        return None, ""


def _same(code: str, name: str, codes: dict[str, str], names: dict[str, str]) -> tuple[str, str] | None:
    if code:
        hit = codes.get(_key(code))
        if hit is not None:
            return hit, FROM_SAME_CODE
    if name:
        hit = names.get(_key(name))
        if hit is not None:
            return hit, FROM_SAME_NAME
    return None


def default_decisions(resolver: Resolver, employees: Iterable[Employee]
                      ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Who gets the default: (department → employee codes, 社員区分 → employee codes).

    The department key is its code and name as the user reads it ("D09 (営業部)", "(空欄)")."""
    divisions: dict[str, list[str]] = {}
    types: dict[str, list[str]] = {}
    for e in employees:
        if resolver.division(e)[1] == FROM_DEFAULT_DIVISION:
            divisions.setdefault(department_label(e), []).append(e.code)
        if resolver.employment_type(e)[1] == FROM_DEFAULT_TYPE:
            types.setdefault(e.employee_class or "(空欄)", []).append(e.code)
    return divisions, types


def unresolved_hint(kind: str, ledger_value: str) -> str:
    """What to do when nothing decides an employee's 所属 (``kind`` "division") or 雇用区分 ("type").

    A blank ledger value cannot be a mapping row (its key would be empty): point to the default
    setting or a 個別設定 row instead."""
    if kind == "division":
        if not ledger_value:
            return ("部署が空欄の従業員は所属マッピングの行では決められません。シート「設定」の"
                    "「既定の勤怠所属コード」を入力するか、シート「個別設定」に従業員ごとの勤怠所属コードを入力してください。")
        return (f"シート「所属マッピング」の部署「{ledger_value}」の行 (なければ追加) に勤怠所属コードを入力するか、"
                "シート「個別設定」に従業員ごとの勤怠所属コードを入力してください。")
    if not ledger_value:
        return ("社員区分が空欄の従業員は雇用区分マッピングの行では決められません。シート「設定」の"
                "「既定の勤怠雇用区分コード」を入力するか、シート「個別設定」に従業員ごとの勤怠雇用区分コードを入力してください。")
    return (f"シート「雇用区分マッピング」の「{ledger_value}」の行 (なければ追加) に勤怠雇用区分コードを入力するか、"
            "シート「個別設定」に従業員ごとの勤怠雇用区分コードを入力してください。")


def department_label(e: Employee) -> str:
    if not e.department_code:
        return "(空欄)"
    return f"{e.department_code} ({e.department_name})" if e.department_name else e.department_code

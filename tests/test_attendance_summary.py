"""The report's attendance section (pure)."""
from __future__ import annotations

from etl.attendance.checks import Figures, labour_law_problems
from etl.attendance.summary import attendance_section
from etl.attendance.transform import MonthTable

H = 60


def test_section_totals_by_division_and_lists_employees_over_a_threshold():
    table = MonthTable("2026-10", {
        "employee_code": ["0001", "0002", "0003"], "name": ["山田 太郎", "髙橋 一郎", "佐藤 花子"],
        "division_code": ["1000", "1000", ""], "division_name": ["本社", "本社", ""],
        "overtime_minutes": [46 * H, 101 * H, 90], "legal_holiday_work_minutes": [0, 0, 0]})
    current = {"0001": Figures(46 * H, 46 * H), "0002": Figures(101 * H, 101 * H), "0003": Figures(90, 90)}
    law = labour_law_problems("2026-10", current, {})
    section = attendance_section("2026-10", True, table, law, current, [])
    assert section["by_division"] == [{"division": "(所属なし)", "overtime_hours": 1.5, "employees": 1},
                                      {"division": "1000 本社", "overtime_hours": 147.0, "employees": 2}]
    assert section["over_threshold"] == [
        {"employee_code": "0002", "name": "髙橋 一郎", "division": "1000 本社", "overtime_hours": 101.0,
         "overtime_plus_holiday_hours": 101.0, "level": "error"},
        {"employee_code": "0001", "name": "山田 太郎", "division": "1000 本社", "overtime_hours": 46.0,
         "overtime_plus_holiday_hours": 46.0, "level": "warning"}]
    assert (section["month"], section["is_closed"], section["employees"]) == ("2026-10", True, 3)
    assert section["overtime_month_hours"] == 45 and section["overtime_single_month_limit_hours"] == 100

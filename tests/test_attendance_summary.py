"""The report's attendance section (pure)."""
from __future__ import annotations

import datetime as dt

from etl.attendance.checks import Figures, labour_law_problems
from etl.attendance.summary import attendance_section
from etl.attendance.transform import MonthTable
from etl.clock import JST
from etl.errors import Problem
from etl.report.html import render_report
from etl.report.result import RunResult

H = 60


def test_section_totals_by_division_and_lists_employees_over_a_threshold():
    table = MonthTable("2026-10", {
        "employee_code": ["0001", "0002", "0003"], "name": ["山田 太郎", "髙橋 一郎", "佐藤 花子"],
        "division_code": ["1000", "1000", ""], "division_name": ["本社", "本社", ""],
        "overtime_minutes": [46 * H, 101 * H, 90], "legal_holiday_work_minutes": [0, 0, 0]})
    current = {"0001": Figures(46 * H, 46 * H), "0002": Figures(101 * H, 101 * H), "0003": Figures(90, 90)}
    law = labour_law_problems("2026-10", current, {})
    # over the yearly limit in a light month: listed, with the limit it is over
    law.append(Problem.of("overtime-year-360h", employee_code="0003", value="2026-10", figure="361:00", limit=360))
    section = attendance_section("2026-10", True, table, law, current, [])
    assert section["by_division"] == [{"division": "(所属なし)", "overtime_hours": 1.5, "employees": 1},
                                      {"division": "1000 本社", "overtime_hours": 147.0, "employees": 2}]
    assert section["over_threshold"] == [
        {"employee_code": "0002", "name": "髙橋 一郎", "division": "1000 本社", "overtime_hours": 101.0,
         "overtime_plus_holiday_hours": 101.0, "level": "error", "findings": ["月45時間超", "月100時間以上"]},
        {"employee_code": "0001", "name": "山田 太郎", "division": "1000 本社", "overtime_hours": 46.0,
         "overtime_plus_holiday_hours": 46.0, "level": "warning", "findings": ["月45時間超"]},
        {"employee_code": "0003", "name": "佐藤 花子", "division": "", "overtime_hours": 1.5,
         "overtime_plus_holiday_hours": 1.5, "level": "warning", "findings": ["年360時間超"]}]
    # the page says why a 1.5-hour bar is among those over a limit
    result = RunResult(job="import-attendance", started_at=dt.datetime(2026, 11, 26, tzinfo=JST))
    result.problems, result.sections["attendance"] = law, section
    html = render_report(result)
    assert "<title>0003 佐藤 花子: 1.5時間 (年360時間超)</title>" in html
    assert '<td data-label="指摘">年360時間超</td>' in html and "年度の合計や複数月の平均で上限を超えた人" in html
    assert (section["month"], section["is_closed"], section["employees"]) == ("2026-10", True, 3)
    assert section["overtime_month_hours"] == 45 and section["overtime_single_month_limit_hours"] == 100


def test_the_report_shows_missing_months_and_the_five_day_rule():
    import datetime as dt

    from etl.attendance.checks import Limits, missing_months
    from etl.attendance.leave import findings, read_answers
    from etl.attendance.summary import leave_only_section
    from etl.clock import JST
    from etl.errors import Problem
    from etl.report.html import render_report
    from etl.report.result import RunResult

    table = MonthTable("2026-10", {"employee_code": ["0001"], "name": ["山田 太郎"], "division_code": ["1000"],
                                   "division_name": ["本社"], "overtime_minutes": [50 * H],
                                   "legal_holiday_work_minutes": [0]})
    answer = {"year": 2025, "startDate": "2025-04-01", "endDate": "2026-03-31", "employees": [
        {"employeeKey": "k1", "holidays": [{"code": 1, "name": "有休", "granted": [{"date": "2025-04-01", "days": 10}],
                                            "obtained": [{"date": "2025-05-01", "days": 4.5, "minutes": 0}]}]}]}
    problems, part = findings(read_answers([answer], ["1"]), {"k1": ("0001", "山田 太郎")}, dt.date(2026, 4, 2))
    missing = missing_months("2026-10", Limits(), ["2026-06", "2026-07", "2026-09"])
    current = {"0001": Figures(50 * H, 50 * H)}
    law = labour_law_problems("2026-10", current, {})
    section = attendance_section("2026-10", True, table, law, current, [], missing=missing, paid_leave=part)
    assert section["history_missing"] == [{"month": "2026-04", "what": "年度の合計"},
                                          {"month": "2026-05", "what": "平均と年度の合計"},
                                          {"month": "2026-08", "what": "平均と年度の合計"}]
    assert part["rows"] == [{"employee_code": "0001", "name": "山田 太郎", "granted_on": "2025-04-01",
                             "granted_days": "10", "taken_days": "4.5", "needed_days": "0.5",
                             "deadline": "2026-03-31", "level": "error"}]
    result = RunResult(job="import-attendance", started_at=dt.datetime(2026, 4, 2, 2, 0, tzinfo=JST))
    result.problems.extend([*law, *problems])
    result.sections["attendance"] = section
    html = render_report(result)
    assert "2026-08 (平均と年度の合計)" in html and "年5日の年次有給休暇" in html and 'id="leave-table"' in html
    assert html.index("paid-leave-5days-missed") < html.index('id="attendance"')  # among the labour-law alerts

    only = RunResult(job="run", started_at=dt.datetime(2026, 4, 2, 2, 0, tzinfo=JST))
    refused = Problem.of("paid-leave-check-unavailable", value="雇用区分 1 の 2026年度", reason="権限がありません")
    only.sections["attendance"] = leave_only_section({"checked": None, "rows": [], "unavailable": [refused.message]})
    html = render_report(only)
    assert "年5日の確認をしていません: 権限がありません" in html and "上限を超えた従業員" not in html

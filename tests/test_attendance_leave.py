"""年5日の年次有給休暇 (pure): the boundaries of the rule, on the shape of the yearly leave answer."""
from __future__ import annotations

import datetime as dt

import pytest

from etl.attendance.leave import (
    deadline,
    first_years,
    five_day_problems,
    five_day_statuses,
    read_answers,
    year_of,
    years_needed,
)

KEY = "k" * 64
CODES = {KEY: "E0001"}
PAID = ["1"]


def answer(year: int, *, granted=(), obtained=(), code: int = 1, key: str = KEY) -> dict:
    """One /yearly-workings/holidays answer (KOT_API.md §2.6) with one employee."""
    return {"year": year, "startDate": f"{year}-04-01", "endDate": f"{year + 1}-03-31", "closeDate": 0,
            "employees": [{"employeeKey": key, "holidays": [{
                "code": code, "name": "有休",
                "granted": [{"date": d, "days": n, "minutes": 0, "effectivePeriod": ""} for d, n in granted],
                "obtained": [{"date": d, "days": n, "minutes": m} for d, n, m in obtained],
                "remained": [], "expired": []}]}]}


def check(answers, today: str, resigned=None):
    statuses = five_day_statuses(read_answers(answers, PAID), CODES, dt.date.fromisoformat(today), resigned)
    return statuses, five_day_problems(statuses)


def days(n: float, start: str = "2025-05-01") -> list[tuple[str, float, int]]:
    """``n`` days of leave as whole days (and a half day for .5), one a day from ``start``."""
    first = dt.date.fromisoformat(start)
    out = [((first + dt.timedelta(days=i)).isoformat(), 1, 0) for i in range(int(n))]
    if n % 1:
        out.append(((first + dt.timedelta(days=int(n))).isoformat(), 0.5, 0))
    return out


def test_the_deadline_is_the_day_before_the_anniversary():
    assert deadline(dt.date(2025, 4, 1)) == dt.date(2026, 3, 31)
    assert deadline(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)  # no 29 February in 2025: the month's last day


def test_exactly_five_days_is_no_finding():
    statuses, problems = check([answer(2025, granted=[("2025-04-01", 10)], obtained=days(5.0))], "2026-05-01")
    assert problems == []
    assert [(s.taken_days, s.severity) for s in statuses] == [(5.0, "")]


def test_four_and_a_half_days_after_the_deadline_is_an_error():
    statuses, problems = check([answer(2025, granted=[("2025-04-01", 10)], obtained=days(4.5))], "2026-04-01")
    assert [(p.code, p.severity, p.employee_code) for p in problems] == [("paid-leave-5days-missed", "error", "E0001")]
    assert "4.5日" in problems[0].message and "2026-03-31" in problems[0].message
    assert statuses[0].needed == 0.5


def test_on_the_deadline_itself_it_is_still_a_warning():
    _, problems = check([answer(2025, granted=[("2025-04-01", 10)], obtained=days(4.5))], "2026-03-31")
    assert [(p.code, p.severity) for p in problems] == [("paid-leave-5days-short", "warning")]
    assert "あと 0.5日" in problems[0].message and "期限 2026-03-31" in problems[0].message


@pytest.mark.parametrize("today,expected", [("2025-12-30", []), ("2025-12-31", ["paid-leave-5days-short"])],
                         ids=["deadline-3-months-and-a-day-away", "deadline-3-months-away"])
def test_the_warning_starts_three_months_before_the_deadline(today, expected):
    _, problems = check([answer(2025, granted=[("2025-04-01", 10)], obtained=days(2))], today)
    assert [p.code for p in problems] == expected


def test_a_nine_day_grant_is_not_subject():
    statuses, problems = check([answer(2025, granted=[("2025-04-01", 9)])], "2026-05-01")
    assert statuses == [] and problems == []


def test_carried_over_days_do_not_make_a_grant_subject():
    doc = answer(2025, granted=[("2025-04-01", 6)])
    doc["employees"][0]["holidays"][0]["remained"] = [{"date": "2025-04-01", "days": 8, "minutes": 0}]
    assert check([doc], "2026-05-01") == ([], [])


def test_hour_based_leave_is_not_counted():
    hours = [("2025-06-02", 0, 240), ("2025-06-03", 0, 240), ("2025-06-04", 0, 480)]  # 時間単位年休
    doc = answer(2025, granted=[("2025-04-01", 10)], obtained=days(4) + hours)
    doc["employees"][0]["holidays"][0]["obtained"].append({"date": "2025-06-05", "minutes": 480})  # days left out (null)
    statuses, problems = check([doc], "2026-04-01")
    assert statuses[0].taken_days == 4.0
    assert [p.code for p in problems] == ["paid-leave-5days-missed"]


def test_other_leave_codes_are_not_counted():
    paid = answer(2025, granted=[("2025-04-01", 10)], obtained=days(3))
    special = answer(2025, obtained=days(5, "2025-07-01"), code=3)  # 特別休暇
    paid["employees"][0]["holidays"] += special["employees"][0]["holidays"]
    statuses, _ = check([paid], "2026-04-01")
    assert statuses[0].taken_days == 3.0


def test_a_grant_whose_year_spans_two_fiscal_years():
    """Granted 2025-10-01: its year runs to 2026-09-30, across 年度 2025 and 2026; the days of
    both answers count."""
    y2025 = answer(2025, granted=[("2025-10-01", 11)], obtained=days(3, "2026-01-05"))
    y2026 = answer(2026, obtained=days(2, "2026-06-01") + days(1, "2026-10-05"))  # the last is after the year
    statuses, problems = check([y2025, y2026], "2026-10-02")
    assert [(s.granted_on.isoformat(), s.taken_days) for s in statuses] == [("2025-10-01", 5.0)]
    assert problems == []
    statuses, problems = check([y2025], "2026-10-02")  # without 年度 2026: only 3 days seen
    assert [p.code for p in problems] == ["paid-leave-5days-missed"]


def test_years_needed_follow_the_grants():
    book = read_answers([answer(2023), answer(2024), answer(2025, granted=[("2025-10-01", 11)])], PAID)
    assert years_needed(book, dt.date(2026, 10, 2)) == [2026]
    assert years_needed(book, dt.date(2026, 1, 10)) == []  # 年度 2026 has not begun
    assert year_of(dt.date(2026, 3, 31), (2025, dt.date(2025, 4, 1))) == 2025
    assert year_of(dt.date(2026, 4, 1), (2025, dt.date(2025, 4, 1))) == 2026
    assert year_of(dt.date(2023, 4, 1), (2025, dt.date(2025, 4, 1))) == 2023
    assert first_years(dt.date(2026, 11, 26), 4) == [2024, 2025, 2026]
    assert first_years(dt.date(2026, 2, 1), 4) == [2023, 2024, 2025]


def oct_answer(year: int, **kw) -> dict:
    """An answer of a company whose 年度 starts on 1 October."""
    doc = answer(year, **kw)
    doc["startDate"], doc["endDate"] = f"{year}-10-01", f"{year + 1}-09-30"
    return doc


def test_years_needed_follow_the_answers_own_year_boundaries():
    """The first guess (年度 from April) misses 年度 2023 of a company whose 年度 starts in October:
    a grant of 2024-07-01 (deadline 2025-06-30, still reported on 2026-06-01) lives only in that
    answer. Once an answer says where a 年度 starts, every 年度 of the last two years is read."""
    today = dt.date(2026, 6, 1)
    assert first_years(today, 4) == [2024, 2025, 2026]
    book = read_answers([oct_answer(y) for y in (2024, 2025, 2026)], PAID)
    assert years_needed(book, today) == [2023]
    book = read_answers([oct_answer(y) for y in (2023, 2024, 2025, 2026)], PAID)
    assert years_needed(book, today) == []


def test_an_employee_listed_twice_for_a_year_is_read_once():
    doc = answer(2025, granted=[("2025-04-01", 10)], obtained=days(3))
    statuses, _ = check([doc, doc], "2026-04-01")  # two employment types answered the same person
    assert [s.taken_days for s in statuses] == [3.0]


def test_a_leaver_is_not_held_to_a_deadline_after_leaving():
    doc = answer(2025, granted=[("2025-04-01", 10)], obtained=days(1))
    assert check([doc], "2026-04-01", {"E0001": dt.date(2025, 9, 30)}) == ([], [])
    assert check([doc], "2026-04-01", {"E0001": dt.date(2026, 3, 31)})[1][0].code == "paid-leave-5days-missed"


def test_old_deadlines_are_not_reported_again():
    doc = answer(2024, granted=[("2024-04-01", 10)])
    assert check([doc], "2026-03-31")[1][0].code == "paid-leave-5days-missed"  # deadline 2025-03-31: 12 months
    assert check([doc], "2026-04-01") == ([], [])


def test_an_unknown_key_is_named_by_its_key():
    doc = answer(2025, granted=[("2025-04-01", 10)], key="unknown-key")
    _, problems = check([doc], "2026-04-01")
    assert problems[0].employee_code == "" and "キー unknown-key" in problems[0].message


# --- against the sandbox ------------------------------------------------------------------------

def test_fetch_leave_reads_every_year_a_grant_touches(kot_client, sandbox):
    from etl.attendance.fetch import fetch_leave
    from etl.attendance.leave import findings

    today = sandbox.clock.today()  # 2026-11-26: 年度 2024–2026 first
    sandbox.reset_counts()
    book, problems = fetch_leave(kot_client, today, ["1"])
    assert problems == [] and book is not None
    assert sorted(book.years) == [2024, 2025, 2026]
    assert sandbox.counts["GET"] == 1 + 3 * 5  # working types, then 5 types × 3 年度
    people = {r.key: (r.code, r.data["lastName"]) for r in sandbox.state.records()}
    found, part = findings(book, people, today)
    assert part["checked"] > 0 and part["as_of"] == "2026-11-26"
    assert {p.code for p in found} <= {"paid-leave-5days-short", "paid-leave-5days-missed"}
    assert len(part["rows"]) == len(found)


def test_a_refused_leave_request_stops_the_check_and_says_so(kot_client):
    from etl.attendance.fetch import fetch_leave

    book, problems = fetch_leave(kot_client, dt.date(2026, 11, 26), ["1"], type_codes=["99"])
    assert book is None
    assert [(p.code, p.severity) for p in problems] == [("paid-leave-check-unavailable", "warning")]
    assert "雇用区分 99 の 2024年度" in problems[0].message and "99" in problems[0].message


def test_paid_leave_check_says_when_it_could_not_run(kot_client, sandbox):
    from etl.attendance.fetch import paid_leave_check
    from etl.attendance.transform import Person

    people = {r.key: Person(r.code, r.data["lastName"], "1000", "本社") for r in sandbox.state.records()}
    problems, part = paid_leave_check(kot_client, people, [], sandbox.clock.today(), paid_leave_codes=["1"])
    assert part["checked"] > 0 and len(part["rows"]) == len(problems)
    # each short grant carries its employee's 所属, for the labour-law section's 所属 column
    assert part["rows"] and {r["division"] for r in part["rows"]} == {"1000 本社"}
    sandbox.state.working_types.append({"code": "99", "name": "廃止"})  # listed, but its leave is refused (400)
    problems, part = paid_leave_check(kot_client, people, [], sandbox.clock.today(), paid_leave_codes=["1"])
    assert [p.code for p in problems] == ["paid-leave-check-unavailable"]
    assert part["checked"] is None and part["rows"] == [] and "雇用区分 99" in part["unavailable"][0]


def test_the_client_reads_the_fiscal_year_the_first_guess_missed(make_sandbox):
    """Against the sandbox, a company whose 年度 starts on 1 October: the grant of 2024-07-01 is only
    in 年度 2023's answer, outside the first guess (年度 from April): it is read, and its missed
    deadline (2025-06-30) is an error on 2026-06-01."""
    from conftest import client_for_sandbox

    from etl.attendance.fetch import fetch_leave
    from etl.clock import ManualClock
    from etl.sandbox.state import state_from_dict

    state = state_from_dict({
        "divisions": [{"code": "1000", "name": "本社"}], "workingTypes": [{"code": "1", "name": "正社員"}],
        "employees": [{"code": "E0001", "lastName": "山田", "firstName": "太郎", "divisionCode": "1000",
                       "typeCode": "1", "gender": "male"}],
        "businessYearStartDate": "10/01",
        "yearlyHolidays": {"2023": [{"employeeCode": "E0001", "holidays": [{
            "code": 1, "name": "有休", "granted": [{"date": "2024-07-01", "days": 10, "minutes": 0}],
            "obtained": [{"date": "2024-08-01", "days": 2, "minutes": 0}]}]}]}})
    sandbox = make_sandbox(state, clock=ManualClock("2026-06-01T12:00:00+09:00"))
    with client_for_sandbox(sandbox) as client:
        book, problems = fetch_leave(client, sandbox.clock.today(), ["1"], start_month=4)
    assert problems == [] and book is not None and sorted(book.years) == [2023, 2024, 2025, 2026]
    key = state.record_by_code("E0001").key
    statuses = five_day_statuses(book, {key: "E0001"}, sandbox.clock.today())
    assert [(s.granted_on.isoformat(), s.taken_days, s.severity) for s in statuses] == [("2024-07-01", 2.0, "error")]


@pytest.mark.parametrize("body", [[], {"year": 2025, "employees": "x"}, {"year": "abc", "employees": []},
                                  {"year": 2025, "employees": [{"employeeKey": "k", "holidays": ["x"]}]},
                                  {"year": 2025, "employees": [{"employeeKey": "k", "holidays": [
                                      {"code": 1, "granted": [{"date": "2025-04-01", "days": "ten"}]}]}]}],
                         ids=["a-list", "employees-not-a-list", "year-not-a-number", "holiday-not-an-object",
                              "days-not-a-number"])
def test_a_yearly_answer_of_the_wrong_shape_stops_the_check_and_says_so(body):
    """Never a traceback, never a silently dropped answer: the check says it could not run."""
    import json

    from conftest import NOW
    from hostile_server import Answer, HostileServer

    from etl.attendance.fetch import fetch_leave
    from etl.clock import ManualClock
    from etl.kot.client import KotClient

    good = {"year": 2024, "startDate": "2024-04-01", "endDate": "2025-03-31", "closeDate": 0, "employees": []}
    with HostileServer() as server:
        server.script("GET", "/yearly-workings/holidays/1/2024", Answer(200, json.dumps(good).encode(),
                                                                        {"Content-Type": "application/json"}))
        server.script("GET", "/yearly-workings/holidays/1/2025", Answer(200, json.dumps(body).encode(),
                                                                        {"Content-Type": "application/json"}))
        server.script("GET", "/yearly-workings/holidays/1/2026", Answer(200, json.dumps(
            {**good, "year": 2026, "startDate": "2026-04-01", "endDate": "2027-03-31"}).encode(),
            {"Content-Type": "application/json"}))
        with KotClient(server.url, "token-1234", clock=ManualClock(NOW), restricted_hours=None) as client:
            book, problems = fetch_leave(client, dt.date(2026, 11, 26), ["1"], type_codes=["1"])
    assert book is None
    assert [p.code for p in problems] == ["paid-leave-check-unavailable"]
    assert "雇用区分 1 の 2025年度" in problems[0].message

"""The ledger's monthly history, which the multi-month and yearly 36協定 checks read (I/O).

Every import keeps the month's totals in ``monthly_attendance`` whatever its output target (a
CSV import still writes its CSV), so the 2–6-month averages and the fiscal-year totals always
have their months. ``backfill`` seeds the history: up to N months before the imported one, within
the API's window (3 years back); months the ledger already holds closed are not fetched again.
A restricted window stops it like any read (RestrictedHoursError): the months kept so far stay.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl.attendance.checks import add_months
from etl.attendance.fetch import fetch_month
from etl.attendance.transform import MonthTable, Person, transform_month
from etl.clock import api_date_window
from etl.errors import Problem

log = logging.getLogger(__name__)


def keep(ledger: Any, table: MonthTable) -> int:
    """Upsert the month's records by (employee code, month) in one transaction; returns the count."""
    return ledger.upsert_monthly(table.month, table.records())


def earliest_month(today: dt.date) -> str:
    """The first month the API still serves (etl.clock.month_refusal's window): the month that
    holds the day 3 years back."""
    return f"{api_date_window(today)[0].isoformat()[:7]}"


@dataclass
class BackfillPlan:
    fetch: list[str] = field(default_factory=list)  # oldest first
    held_closed: list[str] = field(default_factory=list)  # already in the ledger, closed: not fetched again
    problems: list[Problem] = field(default_factory=list)  # months before the API's window, by name


def plan_backfill(month: str, count: int, today: dt.date, held: Mapping[str, bool]) -> BackfillPlan:
    """Which of the ``count`` months before ``month`` to fetch; ``held`` is ledger.monthly_months()."""
    plan = BackfillPlan()
    first = earliest_month(today)
    for k in range(count, 0, -1):
        m = add_months(month, -k)
        if m < first:
            plan.problems.append(Problem.of("backfill-out-of-window", value=m, limit=first))
        elif held.get(m):
            plan.held_closed.append(m)
        else:
            plan.fetch.append(m)
    return plan


def backfill(client: Any, ledger: Any, plan: BackfillPlan, people: Mapping[str, Person], *,
             paid_leave_codes: Iterable[str], imported_at: str,
             split_by_division: bool = False) -> Iterator[tuple[str, int]]:
    """Fetch and keep the plan's months, oldest first, one transaction each: yields (month,
    employees kept) as each is saved, so a stop part-way (restricted hours) leaves what was kept."""
    codes = list(paid_leave_codes)
    for m in plan.fetch:
        raw: list[Any] = fetch_month(client, m, split_by_division=split_by_division)
        table = transform_month(raw, m, people, paid_leave_codes=codes, imported_at=imported_at)
        del raw
        n = keep(ledger, table)
        log.info("backfill %s: %d 名", m, n)
        yield m, n

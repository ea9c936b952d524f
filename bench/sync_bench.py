"""Issue 5: request counts of a full sync, plan CPU time, and the write rate under a rate limit.

The sync runs as the command does (``etl.app.sync.sync_employees``: workbook → masters →
ledger → validate → GET /employees → plan → apply) in this process, against an in-process
sandbox on a clock fixed at noon (outside the restricted hours) that then runs in real time.
Request counts are the sandbox's own (what the server received).
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.company import NOW, Company, changed, empty_state, expected_creates, make_company, write_workbook
from bench.measure import Measure, best_of
from etl.app.context import Context
from etl.app.options import SyncCommandOptions
from etl.app.sync import sync_employees
from etl.clock import Clock, OffsetClock
from etl.config import load_settings
from etl.kot.client import KotClient
from etl.ledger.store import open_ledger
from etl.report.result import RunResult
from etl.sandbox.server import Sandbox
from etl.sync.fields import FieldRules, additional_fields
from etl.sync.plan import SyncOptions, plan_sync

PLAN_GOAL_S = 0.4
GOAL_SIZE = 50_000  # the plan's budget is for 50,000 employees
RATE_GOAL = 0.90


class TimedSandbox(Sandbox):
    """The sandbox, noting when each request arrived (monotonic seconds) for the write rate."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.arrivals: list[float] = []

    def respond(self, method, target, headers, body, client_ip):
        self.arrivals.append(time.monotonic())
        return super().respond(method, target, headers, body, client_ip)


@dataclass
class SyncRun:
    plan: Any
    result: RunResult
    counts: dict[str, int]  # the sandbox's: GET, POST, PUT, DELETE, throttled, faults, …
    wall_s: float

    @property
    def reads(self) -> int:
        return self.counts["GET"]

    @property
    def writes(self) -> int:
        return self.counts["POST"] + self.counts["PUT"] + self.counts["DELETE"]

    @property
    def failed(self) -> int:
        return sum(r.result == "failed" for r in self.result.rows)


def sync_context(sandbox: Sandbox, ledger_url: str, workbook: Path, folder: Path, clock: Clock, *,
                 max_requests: int = 1_000_000, per_seconds: float = 1, concurrency: int = 8) -> Context:
    env = {"KOT_TOKEN": sandbox.token}
    settings = load_settings(None, env=env, clock=clock, cwd=folder, overrides={
        "attendance_api": {"base_url": sandbox.url, "max_requests": max_requests, "per_seconds": per_seconds,
                           "concurrency": concurrency},
        "ledger": {"url": ledger_url},
        "paths": {"workbook": str(workbook), "reports": str(folder / "reports"), "output": str(folder / "output")}})
    return Context(env=env, stdout=io.StringIO(), stderr=io.StringIO(), settings_override=settings)


def run_sync(ctx: Context, sandbox: Sandbox) -> SyncRun:
    sandbox.reset_counts()
    result = RunResult(job="sync-employees", started_at=ctx.settings.clock.now())
    t = time.perf_counter()
    plan = sync_employees(ctx, result, SyncCommandOptions())
    result.meta["api"] = ctx.client().stats.as_dict()
    wall = time.perf_counter() - t
    return SyncRun(plan, result, dict(sandbox.counts), wall)


def count_measure(name: str, run: SyncRun, expected: int, detail: str) -> Measure:
    ok = run.reads == 3 and run.writes == expected and run.counts["throttled"] == 0 and run.failed == 0
    return Measure(name, run.writes, "writes", "3 reads, 1 write per change, 0 throttled", ok,
                   floor=expected, ratio=(run.writes / expected if expected else None),
                   shown=f"{run.reads} R / {run.writes:,} W / {run.counts['throttled']} thr",
                   floor_shown=f"3 R / {expected:,} changes", detail=detail,
                   data={"reads": run.reads, "writes": run.writes, "throttled": run.counts["throttled"],
                         "failed": run.failed, "expected_writes": expected, "plan": run.plan.counts(),
                         "client": run.result.meta.get("api", {}), "wall_s": round(run.wall_s, 2)})


def measure_sync(company: Company, ledger_url: str, workbook: Path, book: Any, folder: Path, sandbox: Sandbox
                 ) -> tuple[list[Measure], dict[str, Any]]:
    """First sync (creates), a 1 % ledger edit, a rerun. Returns the measures and what the plan
    measure needs (the book's remote view and the links after the first sync)."""
    ctx = sync_context(sandbox, ledger_url, workbook, folder, sandbox.clock)
    ledger = open_ledger(ledger_url)
    first = run_sync(ctx, sandbox)
    creates = expected_creates(company)
    measures = [count_measure("sync: first run", first, creates,
                              f"{creates:,} new of {company.size:,} employees (the rest 連携除外 or gone), "
                              f"{first.wall_s:.1f} s; sandbox now holds {len(sandbox.state):,}")]
    links = ledger.links()
    with KotClient(sandbox.url, sandbox.token, clock=sandbox.clock) as client:
        remote = client.employees(include_resigned=True, fields=additional_fields(FieldRules.from_book(book)))
    edits = changed(company)
    ledger.upsert_employees(edits)
    expected = sum(e.code in links for e in edits)
    second = run_sync(ctx, sandbox)
    measures.append(count_measure("sync: after ledger edits", second, expected,
                                  f"{len(edits):,} employees edited in the ledger ({expected:,} on the attendance side)"))
    third = run_sync(ctx, sandbox)
    measures.append(count_measure("sync: rerun", third, 0, "nothing changed since the last sync"))
    return measures, {"remote": remote, "links": links}


# --- plan CPU --------------------------------------------------------------------------------

def bare_plan(employees: list) -> list[dict]:
    """The floor: one dict of the API fields per employee, nothing looked up or compared."""
    def iso(d):
        return d.isoformat() if d else None
    return [{"code": e.code, "lastName": e.last_name, "firstName": e.first_name,
             "lastNamePhonetics": e.last_name_kana, "firstNamePhonetics": e.first_name_kana,
             "divisionCode": e.department_code, "typeCode": e.employee_class, "gender": e.gender,
             "birthDate": iso(e.birth_date), "hiredDate": iso(e.hired_date),
             "resignationDate": iso(e.resignation_date), "emailAddresses": [e.email]} for e in employees]


def measure_plan(company: Company, book: Any, remote: list[dict], links: dict, repeat: int = 3) -> list[Measure]:
    employees, masters, today = company.employees, company.masters, NOW.date()
    floor, _ = best_of(repeat, lambda: bare_plan(employees), time.process_time)
    cases = [("plan: first sync (all new)", [], {}, SyncOptions()),
             ("plan: compare all (--full)", remote, links, SyncOptions(full=True)),
             ("plan: rerun (incremental)", remote, links, SyncOptions())]
    out = []
    for name, rem, lk, options in cases:
        cpu, plan = best_of(repeat, lambda r=rem, k=lk, o=options: plan_sync(employees, book, masters, r, k, o, today),
                            time.process_time)
        out.append(Measure(name, cpu, "s CPU", f"<= {PLAN_GOAL_S:g} s CPU", cpu <= PLAN_GOAL_S, floor=floor,
                           ratio=cpu / floor if floor > 0 else None, at_size=GOAL_SIZE,
                           detail=f"{len(employees):,} employees: {plan.counts()}", data={"plan": plan.counts()}))
    return out


# --- write rate ------------------------------------------------------------------------------

def steady_rate(arrivals: list[float], window: int) -> float | None:
    """Requests per second with the window kept full: ``window`` / the mean time from each request
    to the one ``window`` later (N/S exactly when every window of S seconds holds N requests)."""
    t = sorted(arrivals)
    k = len(t) - window
    if k <= 0:
        return None
    gap = (sum(t[window:]) - sum(t[:k])) / k
    return window / gap if gap > 0 else None


def measure_write_rate(folder: Path, employees: int, limit: int, per_seconds: float, latency_ms: float = 20
                       ) -> Measure:
    """A sync of ``employees`` new employees against a sandbox with latency and a rate limit of
    ``limit`` per ``per_seconds`` (the client configured with the same limit). Real time."""
    folder.mkdir(parents=True, exist_ok=True)
    company = make_company(employees, departments=20)
    workbook = write_workbook(company, folder / "mapping.xlsx", overrides=False)
    url = f"sqlite:///{(folder / 'ledger.db').as_posix()}"
    open_ledger(url).upsert_employees(company.employees)
    clock = OffsetClock(NOW)
    sandbox = TimedSandbox(empty_state(), clock=clock, latency_ms=latency_ms,
                           rate_limit=(limit, per_seconds)).start()
    try:
        ctx = sync_context(sandbox, url, workbook, folder, clock, max_requests=limit, per_seconds=per_seconds,
                           concurrency=4)
        run = run_sync(ctx, sandbox)
        rate = steady_rate(sandbox.arrivals, limit) or 0.0
    finally:
        sandbox.stop()
    cap = limit / per_seconds
    throttled = run.counts["throttled"]
    ok = rate >= RATE_GOAL * cap and throttled == 0 and run.failed == 0
    return Measure("write rate vs limit", rate, "/s", f">= {RATE_GOAL:.0%} of limit, 0 throttled", ok,
                   floor=cap, ratio=rate / cap, floor_shown=f"{cap:.2f} /s ({limit}/{per_seconds:g} s)",
                   shown=f"{rate:.2f} /s, {throttled} thr",
                   detail=f"{run.writes} creates, {latency_ms:g} ms latency, {run.wall_s:.1f} s",
                   data={"reads": run.reads, "writes": run.writes, "throttled": throttled, "failed": run.failed,
                         "wall_s": round(run.wall_s, 2), "limit": limit, "per_seconds": per_seconds,
                         "latency_ms": latency_ms, "overall_rate": round((run.reads + run.writes) / run.wall_s, 2)})

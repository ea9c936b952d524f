"""Benchmarks of the workbook, sync and attendance issues, in one process, against an in-process
sandbox: prints a table (measure, figure, floor, ratio, goal, result). Nothing is written unless
asked: ``--save`` writes bench/results/latest.json (tracked: the figures of record), ``--out PATH``
writes the JSON elsewhere.

    python bench/run.py [--size 50000] [--quick] [--save | --out PATH]

Exit 0 when every judged goal is met, 1 when one is missed. The goals that hold at 50,000 employees
(ratios to the floor, the plan's CPU budget) are shown but not judged at smaller sizes; the
size-independent ones (request counts, no throttling, write rate, memory) are judged at every size.
Timings are wall-clock (perf_counter) except the plan and attendance transform + write, which are
CPU time (process_time). See bench/README.md for what each floor is.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.attendance_bench import measure_attendance  # noqa: E402
from bench.company import DEPARTMENTS, NOW, empty_state, make_company  # noqa: E402
from bench.figures import LATEST, update_readme  # noqa: E402
from bench.ledger_bench import measure_ledger  # noqa: E402
from bench.measure import Measure, judge_at, peak_rss_mb, report, table, write_json  # noqa: E402
from bench.sync_bench import measure_plan, measure_sync, measure_write_rate, sync_context  # noqa: E402
from bench.workbook_bench import measure_workbook  # noqa: E402
from etl.clock import JST, OffsetClock  # noqa: E402
from etl.ledger.store import close_ledger  # noqa: E402
from etl.sandbox.server import Sandbox  # noqa: E402

DEFAULT_SIZE = 50_000
QUICK_SIZE = 500
MEMORY_GOAL_MB = 1024
# write rate: (employees created, limit N, per S seconds); 3 windows' worth of requests
RATE_FULL = (300, 100, 5.0)
RATE_QUICK = (90, 30, 1.5)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=None, help=f"employees (default {DEFAULT_SIZE:,}; {QUICK_SIZE} with --quick)")
    p.add_argument("--quick", action="store_true", help="small sizes and one repeat: a smoke run (< 30 s)")
    p.add_argument("--repeat", type=int, default=None, help="repeats of each timed step, best kept (default 3; 1 with --quick)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--save", action="store_true",
                       help="write bench/results/latest.json and the figures block of bench/README.md")
    where.add_argument("--out", type=Path, default=None, help="write the JSON results to this file")
    args = p.parse_args(argv)
    if args.save:
        args.out = LATEST
    if args.size is None:
        args.size = QUICK_SIZE if args.quick else DEFAULT_SIZE
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.size < 100:
        p.error("--size must be at least 100")
    return args


class Progress:
    """One stderr line per step with the seconds it took, so a long run shows where it is."""

    def __init__(self) -> None:
        self.rss: dict[str, float] = {}
        self._t = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.rss[step] = round(peak_rss_mb(), 1)
        print(f"  {step:<12} {now - self._t:6.1f} s  (peak RSS {self.rss[step]:,.0f} MB)", file=sys.stderr, flush=True)
        self._t = now


def run(size: int, quick: bool, repeat: int) -> tuple[list[Measure], dict[str, float]]:
    progress = Progress()
    cheap = repeat if repeat == 1 else max(repeat, 5)  # steps under a second: a few more tries
    found: dict[str, list[Measure]] = {}
    with tempfile.TemporaryDirectory(prefix="kintai-bench-") as tmp:
        folder = Path(tmp)
        company = make_company(size, DEPARTMENTS)
        found["ledger"], ledger, url = measure_ledger(company.employees, folder, repeat)
        progress.done("ledger")
        workbook = folder / "mapping.xlsx"
        wb_measure, book = measure_workbook(company, workbook, repeat)
        found["workbook"] = [wb_measure]
        progress.done("workbook")
        sandbox = Sandbox(empty_state(), clock=OffsetClock(NOW)).start()
        try:
            found["sync"], seen = measure_sync(company, url, workbook, book, folder, sandbox)
            progress.done("sync")
            found["plan"] = measure_plan(company, book, seen["remote"], seen["links"], cheap)
            progress.done("plan")
            settings = sync_context(sandbox, url, workbook, folder, sandbox.clock).settings
            found["attendance"] = measure_attendance(settings, sandbox, ledger, book, folder / "output", cheap)
            progress.done("attendance")
        finally:
            sandbox.stop()
            close_ledger(url)
        employees, limit, per = RATE_QUICK if quick else RATE_FULL
        found["rate"] = [measure_write_rate(folder / "rate", employees, limit, per)]
        close_ledger(f"sqlite:///{(folder / 'rate' / 'ledger.db').as_posix()}")
        progress.done("write rate")
    peak = peak_rss_mb()
    found["memory"] = [Measure("peak memory (whole run)", peak, "MB", f"<= {MEMORY_GOAL_MB:,} MB", peak <= MEMORY_GOAL_MB,
                               detail="ru_maxrss of the process: ledger, workbook, sandbox and client together",
                               data={"after_step_mb": progress.rss})]
    order = ("workbook", "plan", "sync", "rate", "attendance", "memory", "ledger")
    return judge_at([m for key in order for m in found[key]], size), progress.rss


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(JST)
    t = time.perf_counter()
    print(f"bench: {args.size:,} employees{' (quick)' if args.quick else ''}, repeat {args.repeat}", file=sys.stderr)
    measures, _ = run(args.size, args.quick, args.repeat)
    elapsed = time.perf_counter() - t
    doc = report(measures, size=args.size, quick=args.quick, elapsed_s=elapsed, started=started)
    if args.out is not None:
        write_json(doc, args.out)
    if args.save:
        update_readme(doc)
    m = doc["machine"]
    print(f"\n{started:%Y-%m-%d} · {args.size:,} employees · {m['cpus']} CPUs, {m['ram_gib']} GiB RAM · "
          f"Python {m['python']} · {elapsed:.0f} s\n")
    print(table(measures))
    print()
    for measure in measures:
        if measure.detail:
            print(f"- {measure.name}: {measure.detail}")
    print(f"\nresults: {args.out}" if args.out is not None else "\nresults not saved (--save or --out PATH)")
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

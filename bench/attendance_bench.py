"""Issue 6: one month of attendance for every synced employee, from the sandbox to a cp932 CSV.

End to end: ``import_month`` as the command runs it (GET /employees + links → GET
/monthly-workings → transform → checks → CSV). Then transform + write alone (transform_month,
build_frame, write_csv) against the floor: a bare pandas ``to_csv`` of the same final frame
(cp932, CRLF); goal <= 1.5x.
"""
from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

from bench.company import MONTH
from bench.measure import Measure, best_of, ratio_measure
from etl.app.importing import import_month
from etl.app.options import ImportOptions
from etl.attendance.fetch import fetch_month, people
from etl.attendance.items import default_columns, resolve_columns
from etl.attendance.transform import transform_month
from etl.attendance.write import build_frame, write_csv
from etl.kot.client import KotClient
from etl.report.result import RunResult

GOAL = 1.5


def _columns(book: Any):
    if not book.output_columns:
        return default_columns()
    columns, problems = resolve_columns(book.output_columns)
    if problems:
        raise RuntimeError(f"the benchmark workbook's 勤怠出力項目 has problems: {problems[0].line()}")
    return columns


def measure_attendance(settings: Any, sandbox: Any, ledger: Any, book: Any, folder: Path,
                       repeat: int = 3) -> list[Measure]:
    folder.mkdir(parents=True, exist_ok=True)
    ours_csv, bare_csv = folder / f"attendance_{MONTH}.csv", folder / f"bare_{MONTH}.csv"
    client = KotClient(sandbox.url, sandbox.token, clock=settings.clock, max_requests=1_000_000, per_seconds=1)
    try:
        result = RunResult(job="import-attendance", started_at=settings.clock.now())
        options = ImportOptions(month=MONTH, to="csv", out=str(folder / f"e2e_{MONTH}.csv"), encoding="cp932")
        t = time.perf_counter()
        outcome = import_month(result, settings=settings, client=client, ledger=ledger, book=book, options=options)
        e2e_s = time.perf_counter() - t
        directory, _ = people(client, ledger)
        raw = fetch_month(client, MONTH)
    finally:
        client.close()
    columns = _columns(book)
    paid = settings.attendance.paid_leave_codes
    imported_at = settings.clock.now().isoformat(timespec="seconds")

    def ours() -> dict[str, Any]:
        gc.collect()
        t0 = time.perf_counter()
        table = transform_month(raw, MONTH, directory, paid_leave_codes=paid, imported_at=imported_at)
        t1 = time.perf_counter()
        frame = build_frame(table, columns)
        t2 = time.perf_counter()
        write_csv(frame, ours_csv, "cp932")
        t3 = time.perf_counter()
        return {"transform_s": t1 - t0, "frame_s": t2 - t1, "write_s": t3 - t2, "frame": frame}

    def total(r: dict[str, Any]) -> float:
        return r["transform_s"] + r["frame_s"] + r["write_s"]

    best = ours()
    for _ in range(max(1, repeat) - 1):
        best = min(best, ours(), key=total)  # only the best run's frame is kept
    figure = total(best)
    frame = best["frame"]
    floor, _ = best_of(repeat, lambda: frame.to_csv(bare_csv, index=False, encoding="cp932", lineterminator="\r\n"))
    same = ours_csv.read_bytes() == bare_csv.read_bytes()
    rows, problems = len(frame), len(result.problems)
    split = (f"transform {best['transform_s']:.3f} + frame {best['frame_s']:.3f} + write {best['write_s']:.3f} s; "
             f"frame + write alone {(best['frame_s'] + best['write_s']) / floor:.2f}x")
    return [
        Measure("attendance: end to end", e2e_s, "s", "figures only",
                detail=f"{outcome.employees:,} employees x {MONTH} -> cp932 CSV ({problems:,} findings)",
                data={"employees": outcome.employees, "findings": problems, "closed": outcome.is_closed}),
        ratio_measure("attendance: transform + write", figure, floor, "s", max_ratio=GOAL,
                      detail=f"{rows:,} rows x {frame.shape[1]} columns ({split}); same bytes as to_csv: {same}",
                      **{k: round(v, 3) for k, v in best.items() if k != "frame"}, same_bytes=same,
                      csv_mb=round(ours_csv.stat().st_size / 1e6, 2)),
    ]

"""Issue 6: one month of attendance for every synced employee, from the sandbox to a cp932 CSV.

End to end: ``import_month`` as the command runs it (GET /employees + links → GET
/monthly-workings → transform → checks → CSV). Then transform + write alone (transform_month,
build_frame, write_csv on the entries as ``fetch_month`` decodes them) against the floor: a bare
pandas ``to_csv`` of the same final frame (cp932, CRLF); goal <= 1.5x at 50,000 employees.

Both sides are timed in CPU seconds (``time.process_time``: the work itself, not the time the
process waited for a core on a shared machine) and in wall seconds; the CPU ratio is judged and the
wall ratio shown beside it. The decoding of the monthly answer (msgspec, typed, only the fields
the items use) is timed too, against ``json.loads`` of the same bytes: it happens in the client,
before the transform, in both the old and the new code.
"""
from __future__ import annotations

import gc
import json
import time
from pathlib import Path
from typing import Any

from bench.company import MONTH
from bench.measure import Measure, best_of, cpu_and_wall, ratio_measure
from etl.app.importing import import_month
from etl.app.options import ImportOptions
from etl.attendance.entries import decode_month
from etl.attendance.fetch import fetch_month, people
from etl.attendance.items import MONTHLY_ADDITIONAL_FIELDS, default_columns, resolve_columns
from etl.attendance.transform import transform_month
from etl.attendance.write import build_frame, write_csv
from etl.kot.client import KotClient
from etl.report.result import RunResult

GOAL = 1.5
GOAL_SIZE = 50_000


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
        body = client.monthly_workings(MONTH, fields=MONTHLY_ADDITIONAL_FIELDS, decode=bytes)
    finally:
        client.close()
    decode_s, _ = best_of(repeat, lambda: decode_month(body), time.process_time)
    loads_s, _ = best_of(max(1, min(repeat, 2)), lambda: json.loads(body), time.process_time)
    columns = _columns(book)
    paid = settings.attendance.paid_leave_codes
    imported_at = settings.clock.now().isoformat(timespec="seconds")

    def ours() -> dict[str, Any]:
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        table = transform_month(raw, MONTH, directory, paid_leave_codes=paid, imported_at=imported_at)
        c1 = time.process_time()
        frame = build_frame(table, columns)
        c2 = time.process_time()
        write_csv(frame, ours_csv, "cp932")
        c3, w3 = time.process_time(), time.perf_counter()
        return {"transform_s": c1 - c0, "frame_s": c2 - c1, "write_s": c3 - c2, "cpu_s": c3 - c0,
                "wall_s": w3 - w0, "frame": frame, "warnings": len(table.problems)}

    runs = [ours() for _ in range(max(1, repeat))]
    best = min(runs, key=lambda r: r["cpu_s"])
    frame = best["frame"]

    def bare() -> tuple[float, float]:
        gc.collect()
        cpu, wall, _ = cpu_and_wall(lambda: frame.to_csv(bare_csv, index=False, encoding="cp932",
                                                         lineterminator="\r\n"))
        return cpu, wall

    floors = [bare() for _ in range(max(1, repeat))]
    floor, floor_wall = min(c for c, _ in floors), min(w for _, w in floors)
    wall = min(r["wall_s"] for r in runs)
    same = ours_csv.read_bytes() == bare_csv.read_bytes()
    rows, problems = len(frame), len(result.problems)
    split = (f"transform {best['transform_s']:.3f} + frame {best['frame_s']:.3f} + write {best['write_s']:.3f} s CPU; "
             f"wall {wall:.3f} s vs to_csv {floor_wall:.3f} s = {wall / floor_wall:.2f}x; "
             f"decode of the answer {decode_s:.3f} s CPU (json.loads {loads_s:.3f} s)")
    return [
        Measure("attendance: end to end", e2e_s, "s", "figures only",
                detail=f"{outcome.employees:,} employees x {MONTH} -> cp932 CSV ({problems:,} findings)",
                data={"employees": outcome.employees, "findings": problems, "closed": outcome.is_closed}),
        ratio_measure("attendance: transform + write", best["cpu_s"], floor, "s CPU", max_ratio=GOAL,
                      at_size=GOAL_SIZE,
                      detail=f"{rows:,} rows x {frame.shape[1]} columns ({split}); same bytes as to_csv: {same}",
                      **{k: round(v, 3) for k, v in best.items() if k.endswith("_s")},
                      floor_wall_s=round(floor_wall, 3), wall_ratio=round(wall / floor_wall, 2),
                      decode_s=round(decode_s, 3), json_loads_s=round(loads_s, 3), same_bytes=same,
                      field_warnings=best["warnings"], csv_mb=round(ours_csv.stat().st_size / 1e6, 2)),
    ]

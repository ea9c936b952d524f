"""What a benchmark measures and how it is shown: one ``Measure`` per table row, the machine it
ran on, the printed table and ``bench/results/latest.json``."""
from __future__ import annotations

import datetime as dt
import gc
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from etl.clock import JST

PASS, FAIL, INFO = "pass", "FAIL", "-"


@dataclass
class Measure:
    """One row: ``figure`` (in ``unit``) against ``floor``; ``ok`` is None for figures only."""

    name: str
    figure: float
    unit: str
    goal: str
    ok: bool | None = None
    floor: float | None = None
    ratio: float | None = None
    shown: str = ""  # the figure as printed, when a number alone says too little
    floor_shown: str = ""
    detail: str = ""  # what was measured (sizes, counts)
    data: dict[str, Any] = field(default_factory=dict)  # further numbers for latest.json
    at_size: int | None = None  # the goal holds from this many employees on (None: at any size)

    @property
    def result(self) -> str:
        return INFO if self.ok is None else PASS if self.ok else FAIL


def number(value: float, unit: str) -> str:
    if unit in ("s", "s CPU"):
        return f"{value:.3f} {unit}" if value < 1 else f"{value:.2f} {unit}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "/s":
        return f"{value:.2f} /s"
    return f"{value:,.0f} {unit}".strip()


def ratio_measure(name: str, figure: float, floor: float, unit: str, *, max_ratio: float | None = None,
                  detail: str = "", at_size: int | None = None, **data: Any) -> Measure:
    """figure / floor, passing when the ratio is at most ``max_ratio`` (None: figures only)."""
    ratio = figure / floor if floor > 0 else None
    ok = None if max_ratio is None or ratio is None else ratio <= max_ratio
    goal = f"<= {max_ratio:g}x floor" if max_ratio is not None else "figures only"
    return Measure(name, figure, unit, goal, ok, floor, ratio, detail=detail, data=data, at_size=at_size)


def judge_at(measures: list[Measure], size: int) -> list[Measure]:
    """Goals that hold from a size on (ratios and CPU budgets at 50,000 employees) are shown, not
    judged, below it: fixed costs weigh more in a small run. Size-independent goals (request
    counts, throttling, memory) are judged at every size."""
    for m in measures:
        if m.at_size is not None and size < m.at_size and m.ok is not None:
            m.data["goal_met_at_this_size"] = m.ok
            m.ok = None
            m.goal = f"{m.goal} (judged at {m.at_size:,})"
    return measures


def best_of(repeat: int, fn: Callable[[], Any], clock: Callable[[], float] = time.perf_counter
            ) -> tuple[float, Any]:
    """The shortest of ``repeat`` runs of ``fn`` (seconds by ``clock``) and the last result. Each
    run starts after a full collection, so none inherits the collector's debt of the one before."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        out = None
        gc.collect()
        t = clock()
        out = fn()
        best = min(best, clock() - t)
    return best, out


def cpu_and_wall(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU seconds, wall seconds, result) of one run of ``fn``."""
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - c, time.perf_counter() - w, out


def peak_rss_mb() -> float:
    """The process's peak resident set so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def machine() -> dict[str, Any]:
    ram = None
    try:
        ram = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"cpus": os.cpu_count(), "ram_gib": ram, "python": platform.python_version(),
            "platform": platform.platform(), "machine": platform.machine()}


# --- output -------------------------------------------------------------------------------------

HEADER = ("measure", "figure", "floor", "ratio", "goal", "result")


def rows(measures: list[Measure]) -> list[tuple[str, ...]]:
    out = []
    for m in measures:
        floor = m.floor_shown or ("" if m.floor is None else number(m.floor, m.unit))
        ratio = "" if m.ratio is None else f"{m.ratio:.2f}x"
        out.append((m.name, m.shown or number(m.figure, m.unit), floor, ratio, m.goal, m.result))
    return out


def table(measures: list[Measure]) -> str:
    """A Markdown table (it reads as plain text too, and pastes into the README as is)."""
    body = [HEADER, *rows(measures)]
    widths = [max(len(r[i]) for r in body) for i in range(len(HEADER))]

    def line(r: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    return "\n".join([line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(line(r) for r in body[1:])])


def report(measures: list[Measure], *, size: int, quick: bool, elapsed_s: float,
           started: dt.datetime | None = None) -> dict[str, Any]:
    started = started or dt.datetime.now(JST)
    return {
        "date": started.isoformat(timespec="seconds"),
        "size": size,
        "quick": quick,
        "elapsed_s": round(elapsed_s, 1),
        "machine": machine(),
        "passed": all(m.ok is not False for m in measures),
        "measures": [{**{k: v for k, v in asdict(m).items() if k != "data"}, "result": m.result,
                      "data": m.data} for m in measures],
    }


def write_json(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path

"""bench/run.py --quick runs in-process and reports every measure (no timing is asserted)."""
from __future__ import annotations

import json

from bench import figures, run

MEASURES = [
    "workbook: read + validate",
    "plan: first sync (all new)",
    "plan: compare all (--full)",
    "plan: rerun (incremental)",
    "sync: first run",
    "sync: after ledger edits",
    "sync: rerun",
    "write rate vs limit",
    "attendance: end to end",
    "attendance: transform + write",
    "peak memory (whole run)",
    "ledger: upsert",
    "ledger: read back",
]


def test_quick_bench_prints_every_measure_and_writes_json(tmp_path, capsys):
    out = tmp_path / "latest.json"
    code = run.main(["--quick", "--size", "300", "--out", str(out)])
    assert code in (0, 1)  # 1 = a goal missed: timings are not this test's business
    printed = capsys.readouterr().out
    lines = [ln for ln in printed.splitlines() if ln.startswith("| ")]
    assert [c.strip() for c in lines[0].split("|")[1:-1]] == ["measure", "figure", "floor", "ratio", "goal", "result"]
    names = [ln.split("|")[1].strip() for ln in lines[1:]]
    assert names == MEASURES

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["size"] == 300 and doc["quick"] is True
    assert {"cpus", "ram_gib", "python", "platform"} <= set(doc["machine"])
    assert doc["date"][:4].isdigit()
    assert [m["name"] for m in doc["measures"]] == MEASURES
    for m in doc["measures"]:
        assert m["result"] in ("pass", "FAIL", "-")
        assert isinstance(m["figure"], int | float)
    assert doc["passed"] == all(m["result"] != "FAIL" for m in doc["measures"])
    assert code == (0 if doc["passed"] else 1)
    # below 50,000 employees the ratios and the plan's CPU budget are shown, not judged
    scaled = [m for m in doc["measures"] if "(judged at 50,000)" in m["goal"]]
    assert {m["name"] for m in scaled} >= {"workbook: read + validate", "plan: compare all (--full)",
                                           "attendance: transform + write"}
    assert all(m["result"] == "-" for m in scaled)

    # the request counts are exact, not timings: a full sync reads 3 times and writes once per change
    sync = {m["name"]: m["data"] for m in doc["measures"] if m["name"].startswith("sync:")}
    for data in sync.values():
        assert data["reads"] == 3 and data["throttled"] == 0 and data["failed"] == 0
        assert data["writes"] == data["expected_writes"]
    assert sync["sync: first run"]["writes"] > 0 and sync["sync: after ledger edits"]["writes"] > 0
    assert sync["sync: rerun"]["writes"] == 0


def test_the_figures_in_the_readme_are_the_saved_ones():
    """bench/README.md's figures block is generated from results/latest.json (run.py --save)."""
    doc = figures.load()
    assert figures.block(figures.README.read_text(encoding="utf-8")) == figures.markdown(doc), (
        "bench/README.md の数値が results/latest.json と違う: python bench/run.py --save で作り直す")
    assert doc["size"] == 50_000 and not doc["quick"]

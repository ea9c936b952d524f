"""bench/run.py --quick runs in-process and reports every measure (no timing is asserted)."""
from __future__ import annotations

import json

from bench import run

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

    # the request counts are exact, not timings: a full sync reads 3 times and writes once per change
    sync = {m["name"]: m["data"] for m in doc["measures"] if m["name"].startswith("sync:")}
    for data in sync.values():
        assert data["reads"] == 3 and data["throttled"] == 0 and data["failed"] == 0
        assert data["writes"] == data["expected_writes"]
    assert sync["sync: first run"]["writes"] > 0 and sync["sync: after ledger edits"]["writes"] > 0
    assert sync["sync: rerun"]["writes"] == 0

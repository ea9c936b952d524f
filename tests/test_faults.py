"""The fault suite: sync-employees at 2,000 employees through an unreliable attendance API.

Complements test_sync_e2e.py (12–30 employees) at the size and hostility of issue 8:

* 10 % random faults (500s, dropped connections, answers lost after the write was applied)
  plus throttle bursts (the sandbox's own limit is tighter than the client's): reruns converge,
  no duplicate codes, every employee linked, and a rerun plans nothing;
* restricted hours starting mid-run under the same faults: exit 5 and a partial report, then
  reruns after the window complete;
* a sync subprocess killed with SIGKILL mid-apply (links not yet saved, a request maybe in
  flight) against a sandbox in its own process: the rerun adopts what was created, creates the
  rest, never twice.

In-process runs use the sandbox's ManualClock (backoff, Retry-After and the rate limiter never
sleep for real); the subprocess test has no faults, so nothing there backs off.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import NOW
from support.sync import Harness, Run, TripClock, empty_company, ledger_employees

from etl.clock import ManualClock
from etl.errors import ExitCode
from etl.kot.client import KotClient

N = 2000
CODES = [f"E{i:04d}" for i in range(1, N + 1)]
MAX_RERUNS = 8
ROOT = Path(__file__).resolve().parent.parent
# the client may send 1,000 requests per 10 s, the sandbox takes 150: bursts get 429 + Retry-After
CLIENT_LIMIT = {"max_requests": 1000, "per_seconds": 10, "max_retries": 2, "concurrency": 4}
SANDBOX_LIMIT = (150, 10.0)


def converge(h: Harness, *argv: str) -> list[Run]:
    """Rerun sync-employees until no row fails (each run retries what the last one left)."""
    runs = []
    for _ in range(MAX_RERUNS):
        run = h.sync(*argv)
        runs.append(run)
        assert run.code in (ExitCode.SUCCESS, ExitCode.PARTIAL), (run.code, run.err)
        if run.code == ExitCode.SUCCESS:
            return runs
    raise AssertionError(f"no convergence after {MAX_RERUNS} runs: {[r.counts for r in runs]}")


def assert_in_sync(h: Harness) -> None:
    """Every ledger employee exists exactly once on the attendance side and is linked to it."""
    remote = h.sandbox.state.all()
    codes = Counter(e["code"] for e in remote)
    assert not [c for c, n in codes.items() if n > 1], "duplicate codes on the attendance side"
    assert sorted(codes) == CODES
    links = {c: link.key for c, link in h.ledger.links().items()}
    assert links == {e["code"]: e["key"] for e in remote}


def assert_plans_nothing(h: Harness) -> None:
    """A rerun (and a --full rerun, comparing everyone) sends no write at all."""
    for argv in ((), ("--full",)):
        h.sandbox.reset_counts()
        run = h.sync(*argv)
        assert run.code == ExitCode.SUCCESS, run.err
        assert h.sandbox.writes() == 0, h.sandbox.counts
        assert run.counts["unchanged"] == N and not run.rows(result="planned")


@pytest.fixture
def faulty(tmp_path, make_sandbox):
    sandbox = make_sandbox(empty_company(), fault_rate=0.10, seed=8, rate_limit=SANDBOX_LIMIT)
    h = Harness(tmp_path, sandbox, **CLIENT_LIMIT)
    h.load(ledger_employees(N))
    yield h
    h.close()


def test_faults_and_throttling_converge_without_duplicates(faulty):
    h = faulty
    runs = converge(h)
    assert h.sandbox.counts["faults"] > 100 and h.sandbox.counts["throttled"] > 0, h.sandbox.counts
    # each employee is created once; a create applied but reported failed (its answer lost, the
    # lookup's retries spent) is adopted by code on the rerun instead of being sent again
    created, failed = (sum(r.counts[k] for r in runs) for k in ("created", "failed"))
    assert N - failed <= created <= N
    # never refused as a duplicate: a lost create is looked up by code before it is sent again
    assert not [r for run in runs for r in run.rows(result="failed") if "既に登録" in r["message"]]
    assert_in_sync(h)
    assert_plans_nothing(h)  # faults still on: only reads, retried


def test_restricted_hours_mid_run_under_faults_then_reruns_complete(tmp_path, make_sandbox):
    clock = TripClock("2026-11-26T16:00:00+09:00", after=N // 3)
    sandbox = make_sandbox(empty_company(), clock=clock, fault_rate=0.10, seed=9, rate_limit=SANDBOX_LIMIT)
    clock.sandbox = sandbox
    h = Harness(tmp_path, sandbox, **CLIENT_LIMIT)
    h.load(ledger_employees(N))

    run = h.sync()
    assert run.code == ExitCode.RESTRICTED_HOURS, run.err
    assert run.result["status"] == "failed" and run.result["status_label"] == "異常終了"
    assert any(p["code"] == "restricted-hours" for p in run.result["problems"])
    ok, planned, failed = (len(run.rows(result=r)) for r in ("ok", "planned", "failed"))
    assert ok > 0 and planned > 0 and ok + planned + failed == N, (ok, planned, failed)
    assert len(run.err.splitlines()) == 1 and "18:30" in run.err
    assert (run.report.parent / "result.json").stat().st_mode & 0o777 == 0o600
    created_before = len(sandbox.state)

    clock.advance(3600)  # 18:30: the window is over
    runs = converge(h)
    # what was created before the stop (even with its answer lost) is adopted, not sent again
    created, failed = (sum(r.counts[k] for r in runs) for k in ("created", "failed"))
    assert N - created_before - failed <= created <= N - created_before
    assert_in_sync(h)
    assert_plans_nothing(h)
    h.close()


# --------------------------------------------------------------------------------------------
# SIGKILL mid-apply: a sync subprocess against a sandbox in its own process
# --------------------------------------------------------------------------------------------

TOKEN = "fault-suite-token"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ETL_", "KOT_"))}
    env.update(ETL_NOW=NOW, KOT_TOKEN=TOKEN, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def sandbox_process(tmp_path):
    """`run_etl.py sandbox` in its own process (an empty company); yields its base URL."""
    state = tmp_path / "state.json"
    company = empty_company()
    state.write_text(json.dumps({"divisions": company.divisions, "workingTypes": company.working_types,
                                 "employees": []}, ensure_ascii=False), encoding="utf-8")
    errors = tmp_path / "sandbox.stderr"
    with open(errors, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run_etl.py"), "sandbox", "--port", "0", "--state", str(state),
             "--latency-ms", "5", "--token", TOKEN, "--clock", NOW],
            stdout=subprocess.PIPE, stderr=err, text=True, encoding="utf-8", env=_env(), cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line + errors.read_text(encoding="utf-8", errors="replace")
        yield line.split()[-1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


def _remote_codes(url: str) -> list[str]:
    with KotClient(url, TOKEN, clock=ManualClock(NOW), max_retries=0) as client:
        return [e["code"] for e in client.employees(include_resigned=True)]


def test_sigkill_mid_apply_then_rerun_converges_without_duplicates(tmp_path, sandbox_process):
    url = sandbox_process
    remote = SimpleNamespace(url=url, token=TOKEN, clock=ManualClock(NOW))
    h = Harness(tmp_path, remote, max_requests=100_000, per_seconds=1, concurrency=4)
    h.load(ledger_employees(N))

    errors = tmp_path / "sync.stderr"
    with open(errors, "wb") as err:
        sync = subprocess.Popen([sys.executable, str(ROOT / "run_etl.py"), "--config", str(h.config),
                                 "sync-employees"], stdout=subprocess.DEVNULL, stderr=err, env=_env(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while seen < 700:  # wait until the sandbox has seen some creates, then kill without warning
            assert sync.poll() is None, f"the sync ended before it could be killed: {errors.read_text('utf-8')}"
            assert time.monotonic() < deadline, "the sync never started creating employees"
            seen = len(_remote_codes(url))
            with contextlib.suppress(subprocess.TimeoutExpired):
                sync.wait(timeout=0.01)  # give the sync a moment; returns at once if it ended
        sync.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no chance to clean up
        assert sync.wait(timeout=10) != 0
    finally:
        if sync.poll() is None:  # pragma: no cover - an assertion above failed
            sync.kill()
            sync.wait()
    killed_at = len(_remote_codes(url))
    assert 0 < killed_at < N
    unlinked = killed_at - len(h.ledger.links())
    assert unlinked > 0  # links are saved in batches: some creates were never recorded

    run = h.sync()
    assert run.code == ExitCode.SUCCESS, run.err
    assert run.counts["created"] == N - killed_at  # the rest; what existed was adopted by code
    codes = _remote_codes(url)
    assert len(codes) == len(set(codes)) == N and sorted(codes) == CODES
    assert sorted(h.ledger.links()) == CODES

    again = h.sync()
    assert again.code == ExitCode.SUCCESS and again.counts["unchanged"] == N
    assert not again.rows(action="create") and not again.rows(action="update")
    assert len(_remote_codes(url)) == N
    h.close()

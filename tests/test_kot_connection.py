"""`test-connection` exit codes 0/4/5, and `run_etl.py sandbox` as a command."""
from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import NOW, cli_env, make_config

from etl.cli import main
from etl.clock import ManualClock

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-token-4b1d"


def run(argv, env) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_connection_ok(tmp_path, make_sandbox):
    sb = make_sandbox(token=SECRET)
    code, out, err = run(["--config", str(make_config(tmp_path, sb)), "test-connection"], cli_env(sb))
    assert code == 0, err
    assert "接続に成功しました" in out and sb.url in out
    assert "所属 12 件" in out and "雇用区分 5 件" in out
    assert SECRET not in out + err


def test_connection_wrong_token_exits_4(tmp_path, sandbox):
    code, out, err = run(["--config", str(make_config(tmp_path, sandbox)), "test-connection"],
                         cli_env(sandbox, KOT_TOKEN=SECRET))
    assert code == 4
    assert len(err.strip().splitlines()) == 1 and "KOT_TOKEN" in err
    assert SECRET not in out + err


def test_connection_ip_not_allowed_exits_4(tmp_path, make_sandbox):
    sb = make_sandbox(allowed_ips={"203.0.113.9"})
    code, _, err = run(["--config", str(make_config(tmp_path, sb)), "test-connection"], cli_env(sb))
    assert code == 4 and "許可IPアドレス" in err and len(err.strip().splitlines()) == 1


def test_connection_unreachable_exits_4(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = make_config(tmp_path, None, base_url=f"http://127.0.0.1:{port}/v1.0", max_retries=0)
    code, out, err = run(["--config", str(cfg), "test-connection"], cli_env(None, KOT_TOKEN=SECRET))
    assert code == 4 and "接続できません" in err and len(err.strip().splitlines()) == 1
    assert SECRET not in out + err and "Traceback" not in err


def test_connection_restricted_hours_exits_5(tmp_path, make_sandbox):
    sb = make_sandbox(clock=ManualClock("2026-11-26T17:40:00+09:00"))
    cfg = make_config(tmp_path, sb)
    code, out, err = run(["--config", str(cfg), "test-connection"], cli_env(sb, now="2026-11-26T17:40:00+09:00"))
    assert code == 5 and "18:30" in err and len(err.strip().splitlines()) == 1
    assert sb.counts["GET"] == 1  # the token check only; the guard stopped the rest


def test_connection_server_side_restricted_exits_5(tmp_path, make_sandbox):
    sb = make_sandbox(clock=ManualClock("2026-11-26T09:00:00+09:00"))
    cfg = make_config(tmp_path, sb, restricted_hours=["03:00-03:30"])  # the client thinks it is open
    code, _, err = run(["--config", str(cfg), "test-connection"], cli_env(sb, now="2026-11-26T09:00:00+09:00"))
    assert code == 5 and "10:00" in err and sb.counts["restricted"] == 1


def test_connection_without_token_is_a_config_error(tmp_path, sandbox):
    code, _, err = run(["--config", str(make_config(tmp_path, sandbox)), "test-connection"], {"ETL_NOW": NOW})
    assert code == 2 and "KOT_TOKEN" in err


# --- `run_etl.py sandbox` ---------------------------------------------------------------------

@pytest.mark.parametrize("args,code,needle", [
    (["--rate-limit", "fast"], 2, "--rate-limit"),
    (["--rate-limit", "0/10"], 2, "--rate-limit"),
    (["--fault-rate", "1.5"], 2, "--fault-rate"),
    (["--clock", "yesterday"], 2, "--clock"),
    (["--state", "missing.json"], 3, "missing.json"),
], ids=["rate-limit-words", "rate-limit-zero", "fault-rate-over-1", "clock-not-iso", "state-missing"])
def test_sandbox_command_bad_arguments(args, code, needle, tmp_path):
    rc, out, err = run(["sandbox", "--port", "0", *args], {})
    assert rc == code and needle in err and len(err.strip().splitlines()) == 1
    assert "listening" not in out


def test_sandbox_command_serves_until_sigterm(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KOT_TOKEN": SECRET}
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_etl.py"), "sandbox", "--port", "0", "--employees", "7",
                             "--seed", "3", "--clock", "2026-11-26T12:00:00+09:00", "--rate-limit", "100/60"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+/v1\.0)\n", line)
        assert m, line
        session = requests.Session()
        session.trust_env = False
        r = session.get(m.group(1) + "/employees", headers={"Authorization": f"Bearer {SECRET}"}, timeout=10)
        assert r.status_code == 200 and len(r.json()) <= 7
        assert session.get(m.group(1) + "/divisions", timeout=10).status_code == 403  # no token
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert SECRET not in out + err

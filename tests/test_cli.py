"""The command line seen from outside: every DESIGN command in --help, examples, usage errors."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from etl.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
DESIGN_COMMANDS = ["demo", "init", "template", "validate", "ledger", "test-connection", "sync-employees",
                   "pull-employees", "import-attendance", "run", "reconcile", "schedule", "sandbox"]


def call(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), env={}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_help_lists_every_command_with_a_line_of_its_own():
    result = subprocess.run([sys.executable, str(ROOT / "run_etl.py"), "--help"], capture_output=True,
                            text=True, encoding="utf-8", check=False)
    assert result.returncode == 0
    assert list(COMMANDS) == DESIGN_COMMANDS
    for command in DESIGN_COMMANDS:
        assert f"    {command}" in result.stdout, command
    assert "終了コード" in result.stdout


@pytest.mark.parametrize("command", DESIGN_COMMANDS)
def test_each_command_help_teaches_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as e:
        from etl.cli import build_parser
        build_parser().parse_args([command, "--help"])
    assert e.value.code == 0
    assert "例:\n  python run_etl.py" in capsys.readouterr().out


@pytest.mark.parametrize("argv, says", [
    (["import-attendance"], "--month"),
    (["import-attendance", "--month", "2026-13"], "YYYY-MM"),
    (["sync-employees", "--mode", "some"], "--mode"),
    (["sync-employees", "--effective-date", "tomorrow"], "YYYY-MM-DD"),
    (["pull-employees", "--limit", "0"], "1 以上"),
    (["no-such-command"], "no-such-command"),
], ids=["missing-month", "bad-month", "bad-mode", "bad-date", "zero-limit", "unknown-command"])
def test_usage_errors_are_one_line_and_exit_2(argv, says):
    code, out, err = call(*argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and says in err
    assert "Traceback" not in err


def test_no_command_prints_help_and_exits_2():
    code, out, _err = call()
    assert code == 2 and "COMMAND" in out


def test_an_unwritable_reports_folder_is_one_clear_line(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    (tmp_path / "etl.toml").write_text(f'[paths]\nreports = "{blocker.as_posix()}/sub"\n', encoding="utf-8")
    code, _out, err = call("--config", str(tmp_path / "etl.toml"), "ledger", "export", str(tmp_path / "x.csv"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "レポートの出力先" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["sync-employees", "--dry-run"], ["import-attendance", "--month", "2026-10"],
                                  ["test-connection"]], ids=["sync", "import", "test-connection"])
def test_an_api_that_keeps_failing_is_exit_4_with_one_line(tmp_path, make_sandbox, argv):
    from conftest import cli_env
    from support.sync import Harness, empty_company, ledger_employees
    sandbox = make_sandbox(state=empty_company(), fault_rate=1.0)  # every answer a 500 or a dropped connection
    h = Harness(tmp_path, sandbox, max_retries=1)
    try:
        h.load(ledger_employees(3))
        out, err = io.StringIO(), io.StringIO()
        code = main(["--config", str(h.config), *argv], env=cli_env(sandbox), stdout=out, stderr=err)
        assert code == 4, err.getvalue()
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and "勤怠API" in lines[0] and "内部エラー" not in lines[0]
        if argv[0] != "test-connection":  # a job still writes its report
            assert out.getvalue().strip().splitlines()[-1].startswith("report: ")
    finally:
        h.close()

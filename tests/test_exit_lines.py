"""Exit codes and one-line errors at the command level (issue 16, kinds 2, 5, 6): a locked or
unreachable ledger database, folders that cannot be written, an import that must not publish
its CSV without its report, --month 0000-01, Ctrl+C → 中断 and 130, leading-zero twins against
the ledger. Every case: the exit code, exactly one stderr line, no traceback, nothing half done."""
from __future__ import annotations

import io
import json
import signal
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import cli_env, make_config
from support.sync import TODAY, Harness, empty_company, ledger_employees

from etl.cli import main
from etl.clock import ManualClock
from etl.errors import ExitCode
from etl.ledger.store import close_ledger, open_ledger
from etl.records import Employee
from etl.sandbox.server import generate_state


def call(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "内部エラー" not in err
    return lines[0]


def ledger_file(tmp_path: Path, *codes: str) -> Path:
    path = tmp_path / "in.csv"
    body = "".join(f"{c},山田,太郎,男性\r\n" for c in codes)
    path.write_text("従業員番号,姓,名,性別\r\n" + body, encoding="utf-8")
    return path


# --- the ledger database -------------------------------------------------------------------------

def test_a_locked_ledger_database_is_exit_2_and_claims_nothing(tmp_path, sandbox):
    config = make_config(tmp_path, sandbox, busy_timeout_s=0.05)  # the wait is [ledger] busy_timeout_s
    db = tmp_path / "ledger.db"
    url = f"sqlite:///{db.as_posix()}"
    open_ledger(url).upsert_employees([Employee("E1", "山田", "太郎")])
    close_ledger(url)
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the database
    try:
        code, out, err = call(["--config", str(config), "ledger", "load", str(ledger_file(tmp_path, "E1", "E2"))],
                              cli_env(sandbox))
    finally:
        holder.rollback()
        holder.close()
    assert code == ExitCode.USAGE
    line = one_line(err)
    assert "従業員台帳のデータベース" in line
    report = out.strip().splitlines()[-1]
    if report.startswith("report: "):
        result = json.loads((Path(report[8:]).parent / "result.json").read_text(encoding="utf-8"))
        assert result["counts"]["created"] == result["counts"]["updated"] == 0
    close_ledger(url)


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/blocker/ledger.db", "postgresql+psycopg://hr@127.0.0.1:9/ledger"],
                         ids=["sqlite-under-a-file", "postgres-closed-port"])
def test_an_unreachable_ledger_database_is_one_line_exit_2(tmp_path, sandbox, url):
    (tmp_path / "blocker").write_text("a file", encoding="utf-8")
    config = make_config(tmp_path, sandbox, ledger={"url": url.format(tmp=tmp_path.as_posix())})
    code, _out, err = call(["--config", str(config), "ledger", "export", str(tmp_path / "out.csv")], cli_env(sandbox))
    assert code == ExitCode.USAGE, err
    one_line(err)


# --- folders that cannot be written ------------------------------------------------------------

def _blocked(tmp_path: Path) -> Path:
    """A path under a file: nothing can be created there (works as root too, unlike chmod)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    return blocker / "sub"


@pytest.mark.parametrize("command", [
    lambda out: ["ledger", "export", str(out / "ledger.csv")],
    lambda out: ["ledger", "export", str(out / "ledger.xlsx")],
    lambda out: ["template", "--out", str(out / "mapping.xlsx")],
], ids=["export-csv", "export-xlsx", "template"])
def test_an_unwritable_destination_is_one_line_exit_2(tmp_path, sandbox, command):
    config = make_config(tmp_path, sandbox)
    code, _out, err = call(["--config", str(config), *command(_blocked(tmp_path))], cli_env(sandbox))
    assert code == ExitCode.USAGE
    assert "blocker" in one_line(err)


def test_an_import_into_an_unwritable_output_folder_is_one_line_exit_2(tmp_path, make_sandbox):
    from support.sync import Harness as SyncHarness
    h = SyncHarness(tmp_path, make_sandbox(), paths={"output": _blocked(tmp_path).as_posix()})
    run = h.run("import-attendance", "--month", "2026-10", "--to", "csv")
    assert run.code == ExitCode.USAGE and "blocker" in one_line(run.err), run.err
    h.close()


def test_an_import_whose_report_cannot_be_written_publishes_no_csv(tmp_path, make_sandbox):
    sandbox = make_sandbox()
    output = tmp_path / "output"
    config = make_config(tmp_path, sandbox, paths={"reports": _blocked(tmp_path).as_posix(),
                                                   "output": output.as_posix()})
    code, _out, err = call(["--config", str(config), "import-attendance", "--month", "2026-10", "--to", "csv"],
                           cli_env(sandbox))
    assert code == ExitCode.USAGE and "レポートの出力先" in one_line(err)
    assert not output.exists() or not any(output.iterdir())  # the CSV never went out without its report
    assert sandbox.counts["GET"] == 0  # stopped before any work


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1999-12", "2026-13", "26-10"])
def test_a_month_out_of_range_is_one_line_exit_2(tmp_path, month):
    code, _out, err = call(["import-attendance", "--month", month], {})
    assert code == ExitCode.USAGE and month in one_line(err)


# --- Ctrl+C ----------------------------------------------------------------------------------------

class InterruptAfter(ManualClock):
    """Sends SIGINT to this process once the sandbox has received ``after`` writes: Python raises
    KeyboardInterrupt in the main thread, as when the user presses Ctrl+C. Once: the sandbox's
    request threads call ``now`` at the same time, and a second SIGINT would land in the clean-up
    that records the writes in flight (a user pressing Ctrl+C twice), which this test is not about."""

    def __init__(self, start: str, after: int):
        super().__init__(start)
        self.after, self.sandbox, self.sent = after, None, False
        self._once = threading.Lock()

    def now(self):
        if not self.sent and self.sandbox is not None and self.sandbox.writes() >= self.after:
            with self._once:
                send, self.sent = not self.sent, True
            if send:
                signal.raise_signal(signal.SIGINT)
        return self._now


@pytest.mark.parametrize("concurrency", [1, 4])
def test_ctrl_c_mid_sync_writes_a_report_with_status_interrupted_and_exits_130(tmp_path, make_sandbox, concurrency):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    clock = InterruptAfter("2026-11-26T12:00:00+09:00", after=3)
    sandbox = make_sandbox(empty_company(), clock=clock)
    clock.sandbox = sandbox
    h = Harness(tmp_path, sandbox, concurrency=concurrency)
    h.load(ledger_employees(12))
    run = h.sync()
    assert run.code == ExitCode.INTERRUPTED == 130
    assert (run.result["status"], run.result["status_label"]) == ("interrupted", "中断")
    assert any(p["code"] == "interrupted" for p in run.result["problems"])
    assert "中断" in run.err and "Traceback" not in run.err
    clock.sandbox = None
    # what the API confirmed before the Ctrl+C is reported (it reported nothing), the rest 未実行
    created = len(h.remote())
    assert 3 <= created < 12 and run.counts["created"] == created and run.counts["not_run"] == 12 - created
    assert all(r["message"].startswith("未実行: 中断") for r in run.rows(result="planned"))
    again = h.sync()  # the rerun finishes what was left, never twice
    assert again.code == 0 and len(h.remote()) == 12
    h.close()



def test_ctrl_c_between_pull_chunks_reports_the_chunks_the_database_took_and_exits_130(tmp_path, make_sandbox):
    """pull-employees --limit 10 over 25: Ctrl+C arrives as the second chunk starts (SIGINT raised by a
    listener on the ledger's own engine, before that chunk's INSERT). The database took the first
    chunk: reported 作成 10, the other 15 未実行, status 中断, exit 130; the rerun adds the rest."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    h = Harness(tmp_path, make_sandbox(generate_state(25, 3, TODAY)))
    engine = h.ledger.engine
    inserts: list[str] = []

    def interrupt_second_chunk(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO EMPLOYEES"):
            inserts.append(statement)
            if len(inserts) == 2:
                signal.raise_signal(signal.SIGINT)

    sa.event.listen(engine, "before_cursor_execute", interrupt_second_chunk)
    run = h.pull("--limit", "10")
    sa.event.remove(engine, "before_cursor_execute", interrupt_second_chunk)
    assert run.code == ExitCode.INTERRUPTED == 130, run.err
    assert (run.result["status"], run.result["status_label"]) == ("interrupted", "中断")
    assert any(p["code"] == "interrupted" for p in run.result["problems"])
    assert "中断" in run.err and "Traceback" not in run.err
    assert len(h.ledger.employees()) == len(h.ledger.links()) == 10  # the first chunk, whole
    assert run.counts["created"] == 10 and run.counts["not_run"] == 15
    assert len(run.rows(result="ok")) == 10
    assert all(r["message"].startswith("未実行") for r in run.rows(result="planned"))
    again = h.pull("--limit", "10")  # the rerun adds the 15 left, never the first 10 twice
    assert again.code == 0, again.err
    assert again.counts["created"] == 15 and len(h.ledger.employees()) == 25
    h.close()

# --- one person twice, against the ledger -----------------------------------------------------------

def test_ledger_load_of_123_after_00123_is_exit_3_naming_both_unless_new_people(tmp_path, sandbox):
    config = make_config(tmp_path, sandbox)
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    open_ledger(url).upsert_employees([Employee("00123", "山田", "太郎", gender="male")])
    path = ledger_file(tmp_path, "123")
    code, _out, err = call(["--config", str(config), "ledger", "load", str(path)], cli_env(sandbox))
    assert code == ExitCode.INVALID_INPUT
    line = one_line(err)
    assert "「123」" in line and "「00123」" in line and "--new-people 123" in line
    assert [e.code for e in open_ledger(url).employees()] == ["00123"]
    code, _out, err = call(["--config", str(config), "ledger", "load", str(path), "--new-people", "123"],
                           cli_env(sandbox))
    assert code == 0, err
    assert sorted(e.code for e in open_ledger(url).employees()) == ["00123", "123"]
    # the declaration is not kept in the ledger: the load says the sync still waits for 「なし」
    warning = one_line(err)
    assert warning.startswith("警告:") and "「00123」" in warning and "個別設定" in warning and "なし" in warning
    close_ledger(url)


@pytest.mark.parametrize("now", ["9999-12-31T12:00:00+09:00", "0001-01-01", "soon"])
def test_demo_with_etl_now_out_of_range_is_one_line_exit_2(tmp_path, now):
    code, _out, err = call(["demo", "--dir", str(tmp_path / "demo")], {"ETL_NOW": now})
    assert code == ExitCode.USAGE and "ETL_NOW" in one_line(err)


# --- a workbook that is not there: one line, not a second (English) log line about its copy --------

@pytest.mark.parametrize("command", [["sync-employees"], ["sync-employees", "--dry-run"], ["pull-employees"],
                                     ["reconcile"], ["run"]], ids=" ".join)
@pytest.mark.parametrize("book", ["missing.xlsx", "garbage.xlsx", "folder.xlsx"])
def test_a_workbook_that_cannot_be_opened_is_one_line_for_every_command(tmp_path, sandbox, command, book):
    (tmp_path / "garbage.xlsx").write_text("not a workbook", encoding="utf-8")
    (tmp_path / "folder.xlsx").mkdir()
    config = make_config(tmp_path, sandbox)
    code, out, err = call(["--config", str(config), *command, "--workbook", str(tmp_path / book)], cli_env(sandbox))
    assert code == ExitCode.INVALID_INPUT
    assert book in one_line(err)


def test_an_unreadable_result_of_an_earlier_run_adds_no_line_to_stderr(tmp_path, sandbox):
    config = make_config(tmp_path, sandbox)
    for name, body in (("20200101-000000-run", "{not json"), ("20200101-000001-run", "[" * 100_000 + "]" * 100_000)):
        (tmp_path / "reports" / name).mkdir(parents=True)
        (tmp_path / "reports" / name / "result.json").write_text(body, encoding="utf-8")
    code, _out, err = call(["--config", str(config), "ledger", "export", str(tmp_path / "out.csv")], cli_env(sandbox))
    assert code == 0 and err == ""


def test_a_file_name_with_control_characters_cannot_drive_the_terminal(tmp_path, sandbox):
    """stdout too: a name with ESC, CR or NUL is shown escaped (stderr is one escaped line already)."""
    config = make_config(tmp_path, sandbox)
    path = ledger_file(tmp_path, "E1").rename(tmp_path / "in\x1b[2J\r.csv")
    code, out, err = call(["--config", str(config), "ledger", "load", str(path)], cli_env(sandbox))
    assert code == 0, err
    assert "\x1b" not in out and "\r" not in out and "in\\x1b[2J .csv" in out

"""`validate` and `template` end to end: in-process CLI, a real sandbox API, a real SQLite ledger."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from conftest import cli_env, make_config
from support.workbook import EMPLOYEES, MASTERS, hr_workbook

from etl.cli import main
from etl.ledger.store import close_ledger, open_ledger
from etl.sandbox.state import SandboxState
from etl.workbook.annotate import ERROR_FILL, SHEET_RESULTS
from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_TYPES

NOW = "2026-04-10T12:00:00+09:00"


@pytest.fixture
def setup(tmp_path, make_sandbox):
    state = SandboxState([{"code": c, "name": n} for c, n in MASTERS.divisions.items()],
                         [{"code": c, "name": n} for c, n in MASTERS.working_types.items()])
    sandbox = make_sandbox(state)
    config = make_config(tmp_path, sandbox)
    url = f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"
    open_ledger(url).upsert_employees(EMPLOYEES)
    yield tmp_path, config, sandbox
    close_ledger(url)


def run(config, sandbox, *argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), *argv], env=cli_env(sandbox, now=NOW), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _report(out: str) -> Path:
    last = out.strip().splitlines()[-1]
    assert last.startswith("report: ")
    return Path(last.removeprefix("report: "))


def test_clean_workbook_exits_0_with_a_report(setup):
    tmp_path, config, sandbox = setup
    hr_workbook(tmp_path)
    code, out, err = run(config, sandbox, "validate")
    assert (code, err) == (0, "")
    folder = _report(out).parent
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert (result["job"], result["status"], result["problems"]) == ("validate", "success", [])
    assert not list(folder.glob("*.xlsx"))


def test_warnings_alone_still_exit_0(setup):
    tmp_path, config, sandbox = setup
    hr_workbook(tmp_path, lambda wb: wb[SHEET_TYPES].append(["嘱託", "1"]))
    code, out, _ = run(config, sandbox, "validate")
    assert code == 0
    result = json.loads((_report(out).parent / "result.json").read_text(encoding="utf-8"))
    assert [(p["severity"], p["code"], p["cell"]) for p in result["problems"]] == [
        ("warning", "unknown-employee-class", "A5")]


def test_planted_mistakes_exit_3_at_their_cells_painted_in_the_copy(setup):
    tmp_path, config, sandbox = setup

    def edit(wb):
        wb[SHEET_DIVISIONS]["C3"] = "1110"
        wb[SHEET_OVERRIDES]["A2"] = "999999"
    src = hr_workbook(tmp_path, edit, name="hr.xlsx")
    before = src.read_bytes()
    code, out, err = run(config, sandbox, "validate", "--workbook", str(src))
    assert code == 3
    assert len(err.strip().splitlines()) == 1 and "hr.xlsx" in err and "2 件のエラー" in err
    folder = _report(out).parent
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "failed"
    assert [(p["code"], p["sheet"], p["cell"]) for p in result["problems"]] == [
        ("unknown-division", SHEET_DIVISIONS, "C3"), ("override-unknown-employee", SHEET_OVERRIDES, "A2")]
    rows = list(csv.reader(io.StringIO((folder / "errors.csv").read_text(encoding="utf-8-sig"))))
    assert rows[1][:4] == ["エラー", "unknown-division", SHEET_DIVISIONS, "C3"]
    copy = folder / "検証結果_hr.xlsx"
    wb = openpyxl.load_workbook(copy)
    assert wb[SHEET_DIVISIONS]["C3"].fill.fgColor.rgb.endswith(ERROR_FILL.fgColor.rgb[-6:])
    assert "999999" in wb[SHEET_OVERRIDES]["A2"].comment.text
    assert SHEET_RESULTS in wb.sheetnames
    assert str(copy) in result["outputs"]
    assert src.read_bytes() == before
    assert (folder / "report.html").is_file()


@pytest.mark.parametrize("content", [b"", b"not a workbook", b"PK\x03\x04 truncated"], ids=["empty", "text", "truncated"])
def test_broken_file_exits_3_with_one_line(setup, content):
    tmp_path, config, sandbox = setup
    (tmp_path / "mapping.xlsx").write_bytes(content)
    code, out, err = run(config, sandbox, "validate")
    assert code == 3
    assert len(err.strip().splitlines()) == 1 and "mapping.xlsx" in err and "Traceback" not in err
    result = json.loads((_report(out).parent / "result.json").read_text(encoding="utf-8"))
    assert result["problems"][0]["code"].startswith("workbook-")


def test_missing_workbook_exits_3_with_one_line(setup):
    _, config, sandbox = setup
    code, _, err = run(config, sandbox, "validate", "--workbook", "nowhere.xlsx")
    assert code == 3 and len(err.strip().splitlines()) == 1 and "nowhere.xlsx" in err


def test_template_out_writes_the_template(setup):
    tmp_path, config, sandbox = setup
    code, out, _ = run(config, sandbox, "template", "--out", str(tmp_path / "new.xlsx"))
    assert code == 0 and (tmp_path / "new.xlsx").is_file() and "new.xlsx" in out


def test_template_refuses_to_overwrite_the_configured_workbook(setup):
    tmp_path, config, sandbox = setup
    hr_workbook(tmp_path)
    code, _, err = run(config, sandbox, "template")
    assert code == 2 and "--refresh" in err


def test_template_refresh_uses_the_live_masters_and_the_ledger(setup):
    tmp_path, config, sandbox = setup
    path = hr_workbook(tmp_path)
    code, out, err = run(config, sandbox, "template", "--refresh")
    assert (code, err) == (0, ""), err
    assert "バックアップ" in out and list((tmp_path / "reports" / "backups").glob("mapping.*.bak.xlsx"))
    assert not list(tmp_path.glob("*.bak.xlsx"))  # nothing untracked left beside the workbook
    wb = openpyxl.load_workbook(path)
    # department 0300 of the ledger had no row: appended with its name and a blank target
    assert [c.value for c in wb[SHEET_DIVISIONS][5]][:3] == ["0300", "物流", None]
    # 0300 is also a division of the attendance side: linked by the same code, nothing to enter
    assert "未設定の行を追加: 部署 1 件・社員区分 0 件" in out and "水色" not in out
    assert "緑の 1 行: 入力しなくても同じコードか同じ名前の勤怠の所属・雇用区分に連携されます" in out
    assert "同じコードの所属 0300" in wb[SHEET_DIVISIONS]["E5"].value


def test_following_the_readme_in_a_checkout_changes_no_tracked_file(tmp_path, make_sandbox, monkeypatch):
    """README 導入の流れ from the repository root: init → ledger load → template --refresh → validate.
    The tracked template stays byte for byte; everything written is under the ignored folders."""
    import shutil

    from etl.ledger.store import close_ledger as close
    root = Path(__file__).resolve().parents[1]
    repo = tmp_path / "repo"
    (repo / "templates").mkdir(parents=True)
    shutil.copyfile(root / "templates" / "mapping.xlsx", repo / "templates" / "mapping.xlsx")
    tracked = (repo / "templates" / "mapping.xlsx").read_bytes()
    monkeypatch.chdir(repo)
    state = SandboxState([{"code": c, "name": n} for c, n in MASTERS.divisions.items()],
                         [{"code": c, "name": n} for c, n in MASTERS.working_types.items()])
    sandbox = make_sandbox(state)
    env = cli_env(sandbox, now=NOW, ETL_ATTENDANCE_API_BASE_URL=sandbox.url)
    (repo / "台帳.csv").write_text("従業員番号,姓,名,部署コード,部署名,社員区分,性別\n"
                                  "0001,山田,太郎,100,総務部,正社員,男性\n", encoding="utf-8")
    try:
        for argv in (["init"], ["ledger", "load", "台帳.csv"], ["template", "--refresh"], ["validate"]):
            code = main(argv, env=env, stdout=io.StringIO(), stderr=io.StringIO())
            assert code in (0, 3), argv  # validate may find the new rows HR has still to fill
    finally:
        close("sqlite:///data/ledger.db")
    assert (repo / "templates" / "mapping.xlsx").read_bytes() == tracked
    written = {p.relative_to(repo).parts[0] for p in repo.rglob("*") if p.is_file()}
    assert written <= {"templates", "etl.toml", "data", "reports", "台帳.csv"}  # etl.toml, data/, reports/: .gitignore
    assert list((repo / "reports" / "backups").glob("mapping.*.bak.xlsx"))
    assert not [p for p in repo.rglob("*.bak.xlsx") if "reports" not in p.parts]
    ignored = (root / ".gitignore").read_text(encoding="utf-8").split()
    assert {"/data/", "/etl.toml"} <= set(ignored) and any(p.startswith("/reports/") for p in ignored)

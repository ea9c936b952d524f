"""`run_etl.py demo` end to end in a temporary folder (a smaller company to keep it quick)."""
from __future__ import annotations

import io
import json
from pathlib import Path

from etl.cli import main


def run_demo(folder: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["demo", "--dir", str(folder), "--employees", "60", *extra], env={}, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_demo_runs_the_whole_job(tmp_path):
    folder = tmp_path / "demo"
    code, out, err = run_demo(folder)
    assert code == 0, out + err
    lines = out.strip().splitlines()
    report = Path(lines[-1].removeprefix("report: "))
    assert lines[-1].startswith("report: ") and report.exists()
    result = json.loads((report.parent / "result.json").read_text(encoding="utf-8"))
    assert result["job"] == "run"
    # the batch re-synced the next day's ledger edits: updates with field diffs, nothing created twice
    updates = [r for r in result["rows"] if r["action"] == "update"]
    assert updates and all(r["changes"] for r in updates)
    assert result["counts"]["created"] == 0
    # the rerun right after the first sync was a no-op
    rerun = next(ln for ln in lines if "同期の再実行" in ln)
    assert "作成 0・更新 0・退職 0" in rerun
    html = report.read_text(encoding="utf-8")
    assert "勤怠の集計 (" in html and "<svg" in html and "一部エラー" in html and "異動予定" in html
    last_month_csv = next((folder / "output").glob("attendance_*.csv"))
    assert last_month_csv.read_bytes().decode("cp932").startswith("従業員番号")
    assert (folder / "reports" / "index.html").exists()
    assert "Traceback" not in err


def test_demo_refuses_to_wipe_a_folder_it_did_not_create(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "keep.txt").write_text("data", encoding="utf-8")
    code, _out, err = run_demo(folder)
    assert code == 2 and "デモ用フォルダーではない" in err
    assert (folder / "keep.txt").exists()

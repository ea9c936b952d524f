"""report.html: structure, escaping, self-containment, big runs, owner-only files, Chromium."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from etl.clock import JST
from etl.errors import ExitCode, Problem
from etl.records import RowResult
from etl.report.html import EXAMPLE_LIMIT, render_report, write_report
from etl.report.result import RunResult

XSS = "<script>alert(1)</script>"
ROOT = Path(__file__).resolve().parents[1]


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 26, hour, minute, second, tzinfo=JST)


def sample_result(exit_code: int = ExitCode.PARTIAL, *, dry_run: bool = False) -> RunResult:
    r = RunResult(job="sync-employees", started_at=at(2), finished_at=at(2, 3, 12), exit_code=exit_code,
                  dry_run=dry_run)
    r.problems = [
        Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value="X99", hint="ドロップダウンから選んでください。"),
        Problem.of("effective-date-past", sheet="個別設定", cell="E7", value="2026-09-01", limit="2026-11-01"),
        Problem.of("api-row-failed", employee_code="0002", value=XSS),
        Problem.of("overtime-month-45h", employee_code="0001", value="2026-10", figure="50.0時間"),
        Problem.of("overtime-month-100h", employee_code="0007", value="2026-10", figure="104.5時間"),
    ]
    r.rows = [
        RowResult("0001", "update", "ok", {"lastName": ["山田", XSS], "divisionCode": ["100", "200"]}),
        RowResult("0002", "create", "failed", message=f"勤怠APIが拒否しました: {XSS}"),
        RowResult("0003", "retire", "ok", {"resignationDate": [None, "2026-11-30"]}, effective_date="2026-11-30"),
        RowResult("0004", "create", "ok", {"code": [None, "0004"], "lastName": [None, "新人"]}),
        RowResult("0005", "unchanged", "ok"),
        RowResult("0006", "skip", "ok", message="連携除外"),
    ]
    r.meta = {"workbook": "/srv/kintai/templates/mapping.xlsx", "annotated_workbook": "検証結果_mapping.xlsx",
              "month": "2026-10"}
    r.sections = {
        "queue": [{"employee_code": "0003", "name": f"佐藤 {XSS}", "field": "divisionCode", "old": "100",
                   "new": "200", "effective_date": "2026-12-01"}],
        "attendance": {
            "month": "2026-10", "is_closed": False, "employees": 300,
            "by_division": [{"division": "営業部", "overtime_hours": 420.5, "employees": 30},
                            {"division": f"開発部{XSS}", "overtime_hours": 610, "employees": 40},
                            {"division": "総務部", "overtime_hours": 80, "employees": 12}],
            "over_threshold": [
                {"employee_code": "0001", "name": f"山田 {XSS}", "division": "営業部", "overtime_hours": 50,
                 "overtime_plus_holiday_hours": 55, "level": "warning"},
                {"employee_code": "0007", "name": "鈴木 花子", "division": "開発部", "overtime_hours": 96,
                 "overtime_plus_holiday_hours": 104.5, "level": "error"}],
            "corrections": [{"employee_code": "0010", "field": "overtime", "old": "10:00", "new": "12:30"}],
        },
        "sections": [{"job": "validate", "status_label": "正常終了", "summary": "問題 0 件"},
                     {"job": "sync-employees", "status_label": "一部エラー", "summary": "成功 3件 失敗 1件"}],
        "mail": {"sent": False, "recipients": ["hr@example.co.jp"], "error": "SMTP サーバーに接続できません"},
    }
    return r


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row of a table (tags stripped)."""
    body = re.search(rf'<table id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"table {table_id} missing"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in rows]


@pytest.mark.parametrize(("code", "label", "css"), [
    (ExitCode.SUCCESS, "正常終了", "success"),
    (ExitCode.PARTIAL, "一部エラー", "partial"),
    (ExitCode.API_UNAVAILABLE, "異常終了", "failed"),
], ids=["success", "partial", "failed"])
def test_status_banner(code, label, css):
    html = render_report(sample_result(code))
    assert f'<section class="banner {css}" role="status">' in html
    assert f'<span class="label">{label}</span>' in html
    assert html.startswith("<!doctype html>") and '<html lang="ja">' in html


def test_counts_cards():
    html = render_report(sample_result())
    found = dict((k, int(n.replace(",", ""))) for n, k in
                 re.findall(r'<div class="n">([\d,]+)</div><div class="k">([^<]+)</div>', html))
    assert found == {"成功件数": 4, "失敗件数": 1, "作成": 1, "更新": 1, "退職": 1, "変更なし": 1, "対象外": 1,
                     "合計": 6}


def test_tables_present_with_their_headings():
    html = render_report(sample_result())
    for heading in ("重要度", "コード", "シート", "セル", "従業員番号", "内容"):
        assert f"<th>{heading}</th>" in html
    problems = cells(html, "problems-table")
    assert [row[1] for row in problems] == ["unknown-division", "effective-date-past", "api-row-failed"]
    alerts = cells(html, "alerts-table")  # labour-law alerts: their own table, not among the problems
    assert [row[1] for row in alerts] == ["overtime-month-45h", "overtime-month-100h"]
    rows = cells(html, "rows-table")
    assert [row[0] for row in rows] == ["0001", "0002", "0003", "0004"]
    assert rows[0][3].startswith("姓山田 → ") and "所属100 → 200" in rows[0][3]
    assert rows[2][3] == "退職年月日(空) → 2026-11-30" and rows[2][4] == "2026-11-30"
    assert [row[0] for row in cells(html, "examples-table")] == ["0005", "0006"]
    assert cells(html, "queue-table")[0][:2] == ["2026-12-01", "0003"]
    assert [row[2] for row in cells(html, "over-table")] == ["鈴木 花子", f"山田 {XSS}".replace("<", "&lt;").replace(">", "&gt;")]
    assert [row[0] for row in cells(html, "division-table")][0].startswith("開発部")  # most overtime first
    assert "<svg " in html and "所属別の時間外労働" in html and "上限を超えた従業員" in html
    assert "未締め" in html and "締め後の修正" in html
    assert "処理の内訳" in html and "未送信" in html
    for text in ("sync-employees", "2026-11-26 02:00:00", "/srv/kintai/templates/mapping.xlsx", "いいえ",
                 "20261126-020000-sync-employees", "3分12秒"):
        assert text in html


def test_problem_cells_link_to_the_annotated_workbook():
    html = render_report(sample_result())
    href = re.search(r'<a href="([^"]+)" title="検証結果ブック: 所属マッピング!C5">C5</a>', html)
    assert href and href.group(1).startswith("%E6%A4%9C%E8%A8%BC%E7%B5%90%E6%9E%9C_mapping.xlsx#")
    result = sample_result()
    result.meta.pop("annotated_workbook")
    assert ">C5</a>" not in render_report(result)


def test_user_supplied_text_is_escaped():
    html = render_report(sample_result())
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(re.findall(r"<script\b", html)) == 1  # ours, pinned by the CSP hash


def test_the_inline_script_is_the_one_the_csp_allows():
    html = render_report(sample_result())
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert f"'sha256-{digest}'" in csp and "default-src 'none'" in csp


def test_no_external_references():
    result = sample_result()
    html = render_report(result)
    assert "http://" not in html and "https://" not in html
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"<script[^>]*\bsrc=", html)
    # URLs that come from data (the API address, a message) appear only as escaped text
    result.meta["base_url"] = "https://api.kingtime.jp/v1.0"
    result.rows[1].message = 'see "https://evil.example/x.js"'
    html = render_report(result)
    assert "https://api.kingtime.jp/v1.0" in html
    for attr in re.findall(r'\b(?:href|src|action|srcset)="([^"]*)"', html):
        assert not re.match(r"(?i)(https?:)?//|javascript:|data:", attr), attr


def test_big_run_shows_every_change_and_examples_of_the_rest():
    result = RunResult(job="sync-employees", started_at=at(2))
    result.rows = [RowResult(f"{i:06d}", "update", "ok", {"lastName": ["旧", "新"]}) for i in range(2000)]
    result.rows += [RowResult(f"u{i:06d}", "unchanged", "ok") for i in range(48000)]
    html = render_report(result)
    assert len(cells(html, "rows-table")) == 2000
    assert len(cells(html, "examples-table")) == EXAMPLE_LIMIT
    assert f"変更なし {48000 - EXAMPLE_LIMIT:,} 件 は省略しました" in html


def test_sections_with_missing_keys_still_render():
    result = RunResult(job="import-attendance", started_at=at(3), exit_code=ExitCode.SUCCESS)
    result.sections = {"attendance": {"month": "2026-10", "by_division": [{"division": "営業部"}],
                                      "over_threshold": [{"employee_code": "9"}]},
                       "queue": [{"employee_code": "1"}], "sections": [{"job": "validate"}], "mail": {"sent": True}}
    html = render_report(result)
    assert "勤怠の集計 (2026-10)" in html and "送信済み" in html
    assert "同期の" not in html  # no rows → no rows table
    result.rows = [RowResult("1", "update", "ok", {"lastName": "新", "firstName": []})]  # odd shapes of a change
    assert cells(render_report(result), "rows-table")[0][3] == "姓(空) → 新名(空) → (空)"


def test_queue_falls_back_to_future_dated_rows():
    result = RunResult(job="sync-employees", started_at=at(2))
    result.rows = [RowResult("0009", "update", "planned", {"divisionCode": ["1", "2"]}, effective_date="2027-01-01"),
                   RowResult("0010", "update", "planned", {"divisionCode": ["1", "3"]}, effective_date="2026-11-01")]
    queue = cells(render_report(result), "queue-table")
    assert queue == [["2027-01-01", "0009", "", "所属", "1 → 2"]]


def test_failed_run_names_its_reason():
    result = RunResult(job="run", started_at=at(9), exit_code=ExitCode.RESTRICTED_HOURS)
    result.meta["error"] = "勤怠APIの利用制限時間帯です。10:00 (JST) 以降に再実行してください"
    html = render_report(result)
    assert "異常終了" in html and "停止理由: 勤怠APIの利用制限時間帯です。" in html


def test_dry_run_is_shown_as_a_plan():
    result = sample_result(ExitCode.SUCCESS, dry_run=True)
    for r in result.rows:
        r.result = "planned"
    html = render_report(result)
    assert "同期の計画 (ドライラン)" in html and "ドライラン (勤怠には送信していません)" in html


def test_write_report_is_owner_only(tmp_path):
    path = write_report(sample_result(), tmp_path / "run" / "report.html")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "一部エラー" in path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temp file left behind


def test_report_renders_in_headless_chromium(tmp_path):
    """Always checks the page; takes a screenshot into test-artifacts/ when Chromium is installed."""
    report = write_report(sample_result(), tmp_path / "report.html")
    html = report.read_text(encoding="utf-8")
    assert "一部エラー" in html and "<svg " in html and "https://" not in html
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if chromium is None:
        return
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    png = artifacts / "report.png"
    png.unlink(missing_ok=True)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1280,1600",
           report.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    assert png.is_file() and png.stat().st_size > 10_000

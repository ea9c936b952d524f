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
    for heading in ("重要度", "コード", "場所", "従業員番号", "内容", "氏名", "失敗した内容", "対処"):
        assert f"<th>{heading}</th>" in html
    failed = cells(html, "failed-table")  # the failed row, with the catalogue code the API refusal has
    assert [row[0] for row in failed] == ["0002"] and failed[0][3] == "api-row-failed"
    assert failed[0][1].startswith("新規登録: 勤怠APIが拒否しました") and "再実行" in failed[0][2]
    problems = cells(html, "problems-table")
    assert [row[1].split()[0] for row in problems] == ["unknown-division"]
    assert problems[0][2] == "所属マッピング C5"
    assert [row[1].split()[0] for row in cells(html, "warnings-table")] == ["effective-date-past"]
    law = cells(html, "law-table")  # labour-law findings: their own section, one row per employee
    assert [row[0].split()[1] for row in law] == ["0007", "0001"] and law[0][0] == "違反 0007 鈴木 花子"
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
    for text in ("従業員の同期", "2026-11-26 02:00:00", "/srv/kintai/templates/mapping.xlsx", "いいえ",
                 "20261126-020000-sync-employees", "3分12秒"):
        assert text in html
    assert ">sync-employees<" not in html and "連携結果レポート: 従業員の同期" in html


def section_order(html: str) -> list[str]:
    return re.findall(r'<section (?:class="banner[^"]*"|id="([a-z]+)")', html)


def test_what_needs_action_comes_right_after_the_banner_and_run_details_last():
    html = render_report(sample_result())
    order = [s for s in section_order(html)]
    assert order[:3] == ["", "action", "law"] and order[-1] == "meta"
    banner = re.search(r'<section class="banner.*?</section>', html, re.S).group(0)
    # the banner counts the failed row: one workbook error + one failed employee
    assert "エラー 2 件 (うち処理できなかった従業員 1 名) / 警告 1 件" in banner
    assert "労働時間・年休の指摘: 2 名 (2 件)" in banner


def test_long_labour_law_lists_fold_after_twenty():
    result = sample_result()
    result.problems += [Problem.of("overtime-month-45h", employee_code=f"9{i:03d}", value="2026-10", figure="46時間")
                        for i in range(30)]
    html = render_report(result)
    assert len(cells(html, "law-table")) == 20
    assert len(cells(html, "law-more-table")) == 12
    assert "<summary>残り 12 名を表示</summary>" in html


def test_one_row_per_employee_with_every_finding():
    result = sample_result()
    result.problems.append(Problem.of("overtime-average-80h", employee_code="0007", value="2026-09〜2026-10",
                                      figure="85.0時間", limit=80))
    law = cells(render_report(result), "law-table")
    assert [row[0].split()[1] for row in law] == ["0007", "0001"]
    assert "月100時間以上: 2026-10 の時間外+休日労働が 104.5時間 で" in law[0][2]
    assert "複数月平均80時間超: 2026-09〜2026-10 の時間外+休日労働の平均が 85.0時間 で、80時間を超えています。" in law[0][2]
    assert "労務担当者に報告し" not in law[0][2]  # the advice is said once, above the table


def test_the_workbook_sentence_only_when_the_annotated_copy_has_marks():
    result = sample_result()
    assert "色とコメントで示しています" in render_report(result)
    result.problems = [p for p in result.problems if not p.sheet]  # e.g. the API was down: nothing marked
    html = render_report(result)
    assert "色とコメントで示しています" not in html and "検証結果ブック" not in html
    result = sample_result()
    result.meta["annotated_marks"] = 0  # the publisher counted the marks: none
    assert "色とコメントで示しています" not in render_report(result)


def test_hr_words_gender_and_codes_with_names():
    result = sample_result()
    result.rows[0].changes["gender"] = ["male", "female"]
    result.sections["names"] = {"divisionCode": {"100": "本社", "200": "大阪支店"}}
    rows = cells(render_report(result), "rows-table")
    assert "性別男性 → 女性" in rows[0][3] and "所属100 本社 → 200 大阪支店" in rows[0][3]
    assert cells(render_report(result), "queue-table")[0][4] == "100 本社 → 200 大阪支店"


def test_run_details_show_no_internal_keys():
    result = sample_result()
    result.meta.update(links_saved=3, error_count=1, warning_count=2, plan={"create": 1}, api={"GET": 3},
                       waited_s=0, chunks=2)
    html = render_report(result)
    meta = html[html.index('<section id="meta">'):]
    for key in ("links_saved", "error_count", "warning_count", "plan", "api", "waited_s", "chunks"):
        assert f">{key}<" not in meta
    assert "連携情報を保存した従業員 (名)" in meta and "取得の回数" in meta


def test_problem_cells_link_to_the_annotated_workbook():
    html = render_report(sample_result())
    href = re.search(r'<a href="([^"]+)" title="検証結果ブック: 所属マッピング!C5">所属マッピング C5</a>', html)
    assert href and href.group(1).startswith("%E6%A4%9C%E8%A8%BC%E7%B5%90%E6%9E%9C_mapping.xlsx#")
    result = sample_result()
    result.meta.pop("annotated_workbook")
    assert "C5</a>" not in render_report(result)


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


def test_a_job_that_counts_nothing_shows_no_zero_counts():
    """validate has no rows: no 「成功 0件 / 失敗 0件」 in the banner, no count cards, none in the mail."""
    from etl.report.mail import build_message
    result = RunResult(job="validate", started_at=at(2), exit_code=ExitCode.INVALID_INPUT)
    result.problems = [Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value="X99")]
    html = render_report(result)
    assert "成功 0件" not in html and 'id="counts"' not in html and 'href="#counts"' not in html
    assert "エラー 1 件 / 警告 0 件" in html
    msg = build_message(result, ["hr@example.co.jp"], "etl@example.co.jp", None, None)
    for part in ("plain", "html"):
        body = msg.get_body((part,)).get_content()
        assert "成功 0件" not in body and "件数" not in body and "エラー 1 件" in body
    assert 'id="counts"' in render_report(sample_result())  # a job with rows keeps its counts


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
    # a row the plan could not make: nobody was sent, so never 「ほかの従業員の処理は終わっています」
    result.rows[1].result, result.rows[1].action = "failed", "error"
    html = render_report(result)
    assert "ドライランのため、どの従業員も送信していません。" in html and "処理は終わっています" not in html
    assert "処理は終わっています" in render_report(sample_result())


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


def test_five_day_leave_findings_join_the_employee_row():
    result = sample_result()
    result.problems.append(Problem.of("paid-leave-5days-missed", employee_code="0009", who="0009 (高橋 実)",
                                      value="2025-04-01", granted=10, taken=3, deadline="2026-03-31"))
    result.problems.append(Problem.of("paid-leave-5days-short", employee_code="0001", who="0001 (山田)",
                                      value="2025-10-01", granted=10, taken=2, deadline="2026-09-30", needed=3))
    result.sections["attendance"]["paid_leave"] = {"checked": 2, "as_of": "2026-04-02", "rows": [
        {"employee_code": "0009", "name": "高橋 実", "granted_on": "2025-04-01", "granted_days": "10",
         "taken_days": "3", "needed_days": "2", "deadline": "2026-03-31", "level": "error"}]}
    html = render_report(result)
    law = {row[0].split()[1]: row for row in cells(html, "law-table")}
    assert set(law) == {"0001", "0007", "0009"}  # one row per employee
    assert law["0009"][0] == "違反 0009 高橋 実"  # the name from the 年5日 rows
    assert "年5日の取得義務違反: 2025-04-01 付与の年次有給休暇 (10日) の期限 2026-03-31 までの取得が 3日で" in law["0009"][2]
    assert "月45時間超" in law["0001"][2] and "年5日の取得が不足" in law["0001"][2]
    assert "従業員 0009" not in law["0009"][2]  # the row already says who
    assert len(cells(html, "leave-table")) == 1


def test_an_interrupted_run_has_its_own_banner_and_mail():
    from etl.report.mail import build_message
    result = sample_result(ExitCode.INTERRUPTED)
    html = render_report(result)
    assert '<section class="banner interrupted" role="status">' in html and ">中断<" in html
    msg = build_message(result, ["hr@example.co.jp"], "etl@example.co.jp", None, None)
    assert "中断" in msg["Subject"] and "中断" in msg.get_body(("html",)).get_content()

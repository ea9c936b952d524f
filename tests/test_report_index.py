"""reports/index.html: every run folder, newest first, status + counts + link, owner-only."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat

from support.index import index_rows

from etl.clock import JST
from etl.errors import ExitCode, Problem
from etl.records import RowResult
from etl.report.html import INDEX_CACHE, write_index, write_report
from etl.report.result import RunResult, run_dir, write_result_files


def publish(reports, job, hour, exit_code=ExitCode.SUCCESS, rows=(), problems=(), dry_run=False):
    """What jobs.publish does with the files: result.json, errors.csv, report.html."""
    result = RunResult(job=job, started_at=dt.datetime(2026, 11, 26, hour, 0, tzinfo=JST), exit_code=exit_code,
                       rows=list(rows), problems=list(problems), dry_run=dry_run)
    folder = run_dir(reports, result)
    write_result_files(result, folder)
    write_report(result, folder / "report.html")
    return folder


def test_index_lists_runs_newest_first_with_status_counts_and_links(tmp_path):
    reports = tmp_path / "reports"
    publish(reports, "validate", 1, problems=[Problem.of("invalid-date", sheet="個別設定", cell="E3", value="x")],
            exit_code=ExitCode.INVALID_INPUT)
    publish(reports, "sync-employees", 3, rows=[RowResult("1", "create", "ok"), RowResult("2", "update", "failed")],
            exit_code=ExitCode.PARTIAL)
    publish(reports, "sync-employees", 2, rows=[RowResult("1", "create", "planned")], dry_run=True)
    (reports / "not-a-run").mkdir()  # no result.json: not listed
    broken = reports / "20261126-040000-run"
    broken.mkdir()
    (broken / "result.json").write_text("{not json", encoding="utf-8")  # unreadable: skipped, no crash
    deep = reports / "20261126-050000-run"
    deep.mkdir()
    (deep / "result.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")  # nor RecursionError

    path = write_index(reports)
    assert path == reports / "index.html"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    html = path.read_text(encoding="utf-8")
    rows = index_rows(html)
    assert [r[0] for r in rows] == ["2026-11-26 03:00:00", "2026-11-26 02:00:00", "2026-11-26 01:00:00"]
    assert [r[2] for r in rows] == ["一部エラー", "正常終了", "異常終了"]
    assert rows[0][3:8] == ["1", "1", "1", "0", "0"]  # 成功 失敗 作成 更新 退職
    assert rows[0][8:10] == ["1", "0"]  # the failed row is an error (api-row-failed)
    assert rows[1][1] == "従業員の同期 ドライラン: 予定 作成 1 (書き込みなし)"  # HR's job name, never sync-employees
    assert rows[1][3:6] == ["—", "0", "1 予定"]  # a dry run sent nothing: no 「成功 0」
    assert rows[2][1] == "ブックの検証" and rows[2][8:10] == ["1", "0"]  # one error, no warning
    assert 'href="20261126-030000-sync-employees/report.html"' in html
    assert 'data-label="失敗"' in html and 'class="sortable stack"' in html  # stacked cards on a phone
    assert "https://" not in html and "http://" not in html


def test_index_cache_follows_a_rewritten_result(tmp_path):
    reports = tmp_path / "reports"
    folder = publish(reports, "validate", 1)
    write_index(reports)
    assert (reports / INDEX_CACHE).is_file()
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    data.update(status="failed", status_label="異常終了")
    (folder / "result.json").write_text(json.dumps(data), encoding="utf-8")
    st = (folder / "result.json").stat()
    os.utime(folder / "result.json", ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    assert [r[2] for r in index_rows(write_index(reports).read_text(encoding="utf-8"))] == ["異常終了"]


def test_an_overwritten_cache_is_rebuilt(tmp_path):
    reports = tmp_path / "reports"
    publish(reports, "validate", 1)
    for body in ("[]", "[" * 100_000 + "]" * 100_000, '{"x": 1}'):
        (reports / INDEX_CACHE).write_text(body, encoding="utf-8")
        assert [r[2] for r in index_rows(write_index(reports).read_text(encoding="utf-8"))] == ["正常終了"]


def test_index_of_an_empty_or_missing_folder(tmp_path):
    html = write_index(tmp_path / "reports").read_text(encoding="utf-8")
    assert "まだ実行の記録がありません" in html


def test_same_second_runs_are_ordered_by_start_then_sequence(tmp_path):
    """Two runs in one second: the later one (folder …-2, finished later) is listed first, whatever
    the job names' alphabetical order."""
    reports = tmp_path / "reports"
    started = dt.datetime(2026, 11, 26, 2, 0, tzinfo=JST)
    for job, seconds in (("validate", 1), ("sync-employees", 5), ("validate", 7)):
        result = RunResult(job=job, started_at=started, finished_at=started + dt.timedelta(seconds=seconds))
        folder = run_dir(reports, result)
        write_result_files(result, folder)
        write_report(result, folder / "report.html")
    html = write_index(reports).read_text(encoding="utf-8")
    assert re.findall(r'title="実行ID ([^"]+)"', html) == [
        "20261126-020000-validate-2", "20261126-020000-sync-employees", "20261126-020000-validate"]


def test_index_reads_an_older_result_without_succeeded(tmp_path):
    reports = tmp_path / "reports"
    folder = reports / "20261126-020000-sync-employees"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({
        "run_id": folder.name, "job": "sync-employees", "status": "success", "started_at": "2026-11-26T02:00:00+09:00",
        "counts": {"total": 3, "created": 1, "updated": 1, "unchanged": 1, "failed": 0}, "problems": []}),
        encoding="utf-8")
    assert index_rows(write_index(reports).read_text(encoding="utf-8"))[0][3:5] == ["3", "0"]


def test_a_dry_run_that_planned_nothing_is_a_trial(tmp_path):
    """A dry run stopped before any row (or an older result.json): 「試行」, not 「成功 0」."""
    reports = tmp_path / "reports"
    publish(reports, "sync-employees", 1, dry_run=True, exit_code=ExitCode.INVALID_INPUT)
    publish(reports, "sync-employees", 2, rows=[RowResult("1", "unchanged", "planned")], dry_run=True)
    rows = index_rows(write_index(reports).read_text(encoding="utf-8"))
    assert [r[1] for r in rows] == ["従業員の同期 ドライラン: 予定 変更なし (書き込みなし)",
                                    "従業員の同期 ドライラン: 試行 (書き込みなし)"]
    assert rows[0][3] == "—"  # planned: nothing written
    assert rows[1][3:8] == [""] * 5  # stopped before planning: no counts, as its report.html shows none


def test_a_job_that_counts_nothing_shows_what_it_did_in_the_index(tmp_path, chrome):
    """validate counts no rows: its line says エラー / 警告 only, never 「成功 0 失敗 0 作成 0 …」,
    as its report.html shows no 件数 (test_report_html: a job that counts nothing); reconcile's rows are
    differences: 差異 N件, エラー / 警告, and no sync counts either. A sync keeps every count, zeros too."""
    reports = tmp_path / "reports"
    publish(reports, "validate", 1, exit_code=ExitCode.INVALID_INPUT,
            problems=[Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value="X99"),
                      Problem.of("effective-date-past", sheet="個別設定", cell="E3", value="2026-09-01",
                                 limit="2026-11-01")])
    publish(reports, "reconcile", 2, rows=[RowResult("E0001", "skip", "ok", kind="only-in-ledger"),
                                           RowResult("E0002", "skip", "ok", kind="only-in-ledger")])
    publish(reports, "sync-employees", 3, rows=[RowResult("E0001", "unchanged", "ok")])
    imported = RunResult(job="import-attendance", started_at=dt.datetime(2026, 11, 26, 4, 0, tzinfo=JST),
                         tallies={"total": 300, "succeeded": 300, "failed": 0},
                         imported={"month": "2026-10", "target": "ledger", "path": None})
    write_result_files(imported, run_dir(reports, imported))
    html = write_index(reports).read_text(encoding="utf-8")
    months, sync, reconcile, validate = index_rows(html)
    # an import counts employee-months (書き込んだ件数 / 書き込めなかった件数 in its report): no 作成 / 更新 / 退職
    assert months[3:10] == ["300", "0", "", "", "", "0", "0"]
    assert validate[1] == "ブックの検証" and validate[3:8] == [""] * 5 and validate[8:10] == ["1", "1"]
    assert reconcile[1] == "台帳と勤怠の突き合わせ 差異 2件" and reconcile[3:8] == [""] * 5
    assert sync[3:8] == ["1", "0", "0", "0", "0"]  # a job that counts: its zeros mean something
    assert 'data-label="成功" class="num pair" data-sort="-1"></td>' in html

    # a phone: the validate card reads 開始, 処理, 状況, エラー 1, 警告 1 — no 成功 0 / 失敗 0 line
    def card(width: int, line: int) -> list[str]:
        """The cells of the index's ``line``-th run (0 = newest) that show at ``width`` px, labelled."""
        chrome.open(reports / "index.html", width)
        return chrome.evaluate(f"""[...document.querySelectorAll('#runs-table tbody tr')[{line}].cells]
            .filter(c => getComputedStyle(c).display !== 'none')
            .map(c => (c.getAttribute('data-label') || '') + '=' + c.textContent.trim())""")
    assert card(390, 3) == ["開始=2026-11-26 01:00:00", "処理=ブックの検証", "状況=異常終了", "エラー=1", "警告=1"]
    assert [c for c in card(390, 2) if not c.startswith(("開始", "処理", "状況"))] == ["エラー=0", "警告=0"]
    assert len(card(390, 1)) == 10  # the sync's card keeps its counts (no 指摘: that cell is empty)
    assert [c.split("=")[0] for c in card(390, 0)][3:] == ["成功", "失敗", "エラー", "警告"]  # the import
    assert chrome.layout_problems() == []
    # a desktop keeps the columns: the validate line has blank count cells, its エラー and 警告 filled
    assert card(1280, 3)[3:10] == ["成功=", "失敗=", "作成=", "更新=", "退職=", "エラー=1", "警告=1"]

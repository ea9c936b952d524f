"""RunResult: counts that mean something, failed rows as catalogue problems, the stderr line."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from etl.clock import JST
from etl.errors import CATALOGUE, ExitCode, Problem
from etl.records import RowResult
from etl.report.labels import JOB_LABELS, job_label
from etl.report.result import COUNT_KEYS, RunResult, errors_csv, write_result_files

START = dt.datetime(2026, 11, 26, 2, 0, tzinfo=JST)


def sync_result(**kw) -> RunResult:
    r = RunResult(job="sync-employees", started_at=START, **kw)
    r.rows = [RowResult("0001", "create", "ok"), RowResult("0002", "update", "ok"),
              RowResult("0003", "retire", "ok"), RowResult("0004", "unchanged", "ok"),
              RowResult("0005", "skip", "ok"), RowResult("0006", "update", "failed", message="拒否 (400)", name="山田 太郎"),
              RowResult("0007", "error", "failed", message="所属が決まりません")]
    r.problems = [Problem.of("employee-division-unresolved", employee_code="0007", value="D9")]
    return r


def test_counts_have_succeeded_and_failed():
    c = sync_result().counts()
    assert tuple(c) == COUNT_KEYS
    assert c == {"total": 7, "succeeded": 4, "failed": 2, "created": 1, "updated": 1, "retired": 1,
                 "unchanged": 1, "skipped": 1, "not_run": 0}


def test_rows_never_sent_are_not_run_not_succeeded():
    r = sync_result()
    r.rows.append(RowResult("0009", "create", "planned", message="未実行: 利用制限時間帯のため中断しました"))
    c = r.counts()
    assert c["not_run"] == 1 and c["succeeded"] == 4 and c["created"] == 1
    assert "・未実行 1)" in r.summary_line()


def test_a_dry_run_confirms_nothing():
    r = RunResult(job="sync-employees", started_at=START, dry_run=True)
    r.rows = [RowResult("1", "create", "planned"), RowResult("2", "unchanged", "ok")]
    assert r.counts()["succeeded"] == 1 and r.headline() == "予定 1件 / エラー 0件 (送信していません)"


def test_an_import_counts_employee_months_through_tallies():
    r = RunResult(job="import-attendance", started_at=START)
    r.tallies.update(total=300, succeeded=298, failed=2)
    assert r.counts()["succeeded"] == 298 and r.counts()["failed"] == 2
    assert r.headline() == "成功 298件 / 失敗 2件"
    assert json.loads(json.dumps(r.to_dict()))["counts"]["succeeded"] == 298


def test_failed_rows_are_catalogue_problems_in_result_json_and_errors_csv(tmp_path):
    r = sync_result(exit_code=ExitCode.PARTIAL)
    problems = r.to_dict()["problems"]
    assert [(p["code"], p["employee_code"]) for p in problems] == [
        ("employee-division-unresolved", "0007"), ("api-row-failed", "0006")]  # 0007 is named once
    assert all(p["code"] in CATALOGUE for p in problems)
    assert "山田 太郎" in problems[1]["message"] and "拒否 (400)" in problems[1]["message"]
    rows = list(csv.reader(io.StringIO(errors_csv(r))))
    assert [row[1] for row in rows[1:]] == ["employee-division-unresolved", "api-row-failed"]
    assert not any(row[1].startswith("row-") for row in rows)
    written = write_result_files(r, tmp_path)
    assert (tmp_path / "errors.csv") in written
    assert r.error_count() == 2


def test_the_stderr_line_of_a_partial_failure():
    r = sync_result(exit_code=ExitCode.PARTIAL)
    assert r.failure_line("reports/x/report.html") == \
        "一部エラー: 従業員の同期 成功 4件 / 失敗 2件 — 詳細: reports/x/report.html"
    assert sync_result(exit_code=ExitCode.SUCCESS).failure_line("r") is None
    assert sync_result(exit_code=ExitCode.API_UNAVAILABLE).failure_line("r") is None  # its own stop line


def test_summary_line_shows_the_counts():
    line = sync_result(exit_code=ExitCode.PARTIAL).summary_line()
    assert line.startswith("状況: 一部エラー 成功 4件 / 失敗 2件 (作成 1・") and line.endswith("エラー 2件 警告 0件")


@pytest.mark.parametrize("job", sorted(JOB_LABELS))
def test_every_job_has_a_japanese_label(job):
    label = job_label(job)
    assert label and not any("a" <= ch <= "z" for ch in label)
    assert job_label("something-new") == "something-new"

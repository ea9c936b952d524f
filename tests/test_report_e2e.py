"""What HR gets from a real run against the sandbox: the failed row among the problems with its
catalogue code and name, the stderr line of a partial failure, HR's words in the report, the
import's counts, and who is mailed (the nightly run; a manual command or a dry run only with --mail)."""
from __future__ import annotations

import csv
import dataclasses
import email
import email.policy
import io

import pytest
from support.sync import Harness, empty_company, ledger_employees

from etl.errors import CATALOGUE, ExitCode

N = 6


@pytest.fixture
def h(tmp_path, make_sandbox, smtp):
    controller, _ = smtp
    harness = Harness(tmp_path, make_sandbox(state=empty_company()),
                      mail={"host": "127.0.0.1", "port": controller.port, "sender": "etl@example.co.jp",
                            "report_url_base": "https://intra.example.co.jp/kintai/reports"})
    harness.load(ledger_employees(N))
    harness.setting("連携結果通知メールアドレス", "hr@example.co.jp")
    yield harness
    harness.close()


def refused_row(h) -> None:
    """E0098: the sandbox refuses an e-mail address without "@" (a 400 for that row only)."""
    h.load([dataclasses.replace(ledger_employees(1)[0], code="E0098", first_name="花子", email="not-an-address")])


def test_a_failed_row_is_a_catalogue_problem_everywhere_and_stderr_says_so(h, smtp):
    refused_row(h)
    run = h.sync()
    assert run.code == ExitCode.PARTIAL
    # stderr: one line with the counts and the report
    assert f"一部エラー: 従業員の同期 成功 {N}件 / 失敗 1件 — 詳細: {run.report}" in run.err.splitlines()
    assert run.counts["succeeded"] == N and run.counts["failed"] == 1
    problems = run.result["problems"]
    assert [(p["code"], p["employee_code"]) for p in problems] == [("api-row-failed", "E0098")]
    assert "山田 花子" in problems[0]["message"] and all(p["code"] in CATALOGUE for p in problems)
    rows = list(csv.reader(io.StringIO((run.report.parent / "errors.csv").read_text(encoding="utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["api-row-failed"]
    html = run.report.read_text(encoding="utf-8")
    assert 'id="failed-table"' in html and "E0098</b> 山田 花子" in html
    assert "エラー 1 件 (うち処理できなかった従業員 1 名)" in html
    assert "色とコメントで示しています" not in html  # nothing is marked in any workbook
    assert ">sync-employees<" not in html and "連携結果レポート: 従業員の同期" in html
    # the report shows the division with its name (from the live masters), not a bare code
    assert "1100 総務部" in html
    _, handler = smtp
    assert handler.envelopes == []  # a manual command mails only with --mail


def test_a_manual_command_mails_with_mail(h, smtp):
    _, handler = smtp
    refused_row(h)
    run = h.sync("--mail")
    assert run.code == ExitCode.PARTIAL
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["hr@example.co.jp"]
    msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert msg["Subject"].startswith("[kintai-etl] 一部エラー 従業員の同期 ") and "(失敗 1件)" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert "E0098 山田 花子" in text and "エラー 1 件 (うち処理できなかった従業員 1 名)" in text
    assert f"https://intra.example.co.jp/kintai/reports/{run.report.parent.name}/report.html" in text
    assert str(h.tmp_path) not in text  # never a path on the server
    assert "report.html" in {a.get_filename() for a in msg.iter_attachments()}


@pytest.mark.parametrize(("argv", "mailed"), [
    (("run",), True),
    (("run", "--dry-run"), False),
    (("run", "--dry-run", "--mail"), True),
    (("sync-employees", "--dry-run"), False),
    (("sync-employees", "--dry-run", "--mail"), True),
], ids=["run", "run-dry-run", "run-dry-run-mail", "sync-dry-run", "sync-dry-run-mail"])
def test_who_is_mailed(h, smtp, argv, mailed):
    _, handler = smtp
    run = h.run(*argv)
    assert run.code == 0, run.err
    assert bool(handler.envelopes) == mailed
    if mailed and "--dry-run" in argv:
        msg = email.message_from_bytes(handler.envelopes[0].original_content, policy=email.policy.default)
        assert msg["Subject"].endswith("(ドライラン)")


def test_an_import_counts_employee_months(h):
    assert h.sync().code == 0
    run = h.run("import-attendance", "--month", "2026-10")
    assert run.code == 0, run.err
    assert run.counts["total"] == N and run.counts["succeeded"] == N and run.counts["failed"] == 0
    assert run.out.splitlines()[-2].startswith(f"状況: 正常終了 成功 {N}件 / 失敗 0件")
    html = run.report.read_text(encoding="utf-8")
    assert '<div class="n">6</div><div class="k">書き込んだ件数</div>' in html
    assert "出力先" in html  # a key the job wrote in Japanese stays in 実行情報
    dry = h.run("import-attendance", "--month", "2026-10", "--dry-run")
    assert dry.counts["succeeded"] == 0 and f"予定 {N}件" in dry.out

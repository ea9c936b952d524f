"""The result mail: parsing recipients, the message, delivery to a real SMTP server on loopback,
and failures that come back as data instead of exceptions."""
from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from support.mail import Collector, free_port

from etl.clock import JST
from etl.config import load_settings
from etl.errors import ExitCode, Problem
from etl.records import RowResult
from etl.report.mail import (
    MAX_ATTACHMENT_BYTES,
    NO_HOST,
    MailOutcome,
    build_message,
    record_outcome,
    report_link,
    send_report,
    subject_of,
)
from etl.report.result import RunResult, errors_csv
from etl.text import split_emails

PASSWORD = "s3cret-Pa55"
XSS = "<script>alert(1)</script>"


@pytest.mark.parametrize(("text", "expected"), [
    ("a@example.jp", ["a@example.jp"]),
    ("a@example.jp, b@example.jp;c@example.jp\nd@example.jp", ["a@example.jp", "b@example.jp", "c@example.jp", "d@example.jp"]),
    ("a@example.jp，b@example.jp；c@example.jp、d@example.jp", ["a@example.jp", "b@example.jp", "c@example.jp", "d@example.jp"]),
    ("  a@example.jp \u3000\r\n\r\n, ;A@example.jp", ["a@example.jp"]),
    ("", []),
    (" ; , ", []),
], ids=["one", "ascii-separators", "full-width-separators", "blanks-and-repeats", "empty", "only-separators"])
def test_split_emails(text, expected):
    assert split_emails(text) == expected


def make_result(exit_code=ExitCode.PARTIAL, dry_run=False) -> RunResult:
    r = RunResult(job="sync-employees", started_at=dt.datetime(2026, 11, 26, 2, 0, tzinfo=JST),
                  finished_at=dt.datetime(2026, 11, 26, 2, 1, 5, tzinfo=JST), exit_code=exit_code, dry_run=dry_run)
    r.rows = [RowResult("0001", "update", "ok", {"lastName": ["山田", "山本"]}),
              RowResult("0002", "create", "failed", message=f"拒否: {XSS}", name="佐藤 一郎")]
    r.problems = [Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value=XSS, hint=""),
                  Problem.of("overtime-month-100h", employee_code="0007", value="2026-10", figure="104.5時間")]
    return r


@pytest.fixture
def csv_file(tmp_path) -> tuple[RunResult, Path]:
    result = make_result()
    path = tmp_path / "errors.csv"
    path.write_bytes(errors_csv(result).encode("utf-8-sig"))
    return result, path


def check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"etl" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=check_login,
                            auth_require_tls=False)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def settings_for(tmp_path, **mail):
    return load_settings(env={"ETL_MAIL_PASSWORD": PASSWORD}, overrides={"mail": {"timeout_s": 5, **mail}},
                         cwd=tmp_path)


def parts(message: email.message.EmailMessage) -> dict[str, object]:
    return {"text": message.get_body(("plain",)).get_content(), "html": message.get_body(("html",)).get_content(),
            "attachments": {a.get_filename(): a.get_payload(decode=True) for a in message.iter_attachments()}}


def test_build_message_has_text_html_and_the_attachment(csv_file, tmp_path):
    result, csv_path = csv_file
    msg = build_message(result, ["a@example.jp", "b@example.jp"], "etl@example.jp", tmp_path / "report.html", csv_path)
    assert msg["Subject"] == "[kintai-etl] 一部エラー 従業員の同期 2026-11-26 02:00 (失敗 1件)"
    assert msg["To"] == "a@example.jp, b@example.jp" and msg["From"] == "etl@example.jp"
    p = parts(msg)
    assert "従業員の同期: 一部エラー" in p["text"] and "失敗件数: 1" in p["text"]
    assert str(tmp_path) not in p["text"] and str(tmp_path) not in p["html"]  # no path on the server
    assert "所属マッピング C5" in p["text"] and "労働時間・年休の指摘: 1 名" in p["text"]
    # the counts agree with the report's banner: the failed row is one of the errors
    assert "エラー 2 件 (うち処理できなかった従業員 1 名) / 警告 0 件" in p["text"]
    assert "0002 佐藤 一郎: 新規登録: 拒否" in p["text"] and "対処:" in p["text"]
    assert XSS in p["text"]  # plain text: shown as typed
    assert XSS not in p["html"] and "&lt;script&gt;" in p["html"]  # HTML: escaped
    assert "<script" not in p["html"] and "http://" not in p["html"] and "https://" not in p["html"]
    assert p["attachments"]["errors.csv"] == csv_path.read_bytes()  # byte for byte, BOM kept


def test_subject_of_a_dry_run_and_no_attachment_without_errors():
    result = make_result(ExitCode.SUCCESS, dry_run=True)
    result.rows = result.rows[:1]
    assert subject_of(result) == "[kintai-etl] 正常終了 従業員の同期 2026-11-26 02:00 (ドライラン)"
    msg = build_message(result, ["a@example.jp"], "etl@example.jp", None, None)
    assert list(msg.iter_attachments()) == []


def test_mail_is_received_by_a_real_smtp_server(smtp_server, csv_file, tmp_path):
    controller, handler = smtp_server
    result, csv_path = csv_file
    settings = settings_for(tmp_path, host="127.0.0.1", port=controller.port, username="etl", sender="etl@example.jp")
    outcome = send_report(settings, result, ["hr@example.jp", "boss@example.jp"], tmp_path / "report.html", csv_path)
    assert outcome == MailOutcome(sent=True, recipients=["hr@example.jp", "boss@example.jp"], error="")
    [envelope] = handler.envelopes
    assert envelope.mail_from == "etl@example.jp"
    assert envelope.rcpt_tos == ["hr@example.jp", "boss@example.jp"]
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["Subject"] == "[kintai-etl] 一部エラー 従業員の同期 2026-11-26 02:00 (失敗 1件)"
    p = parts(received)
    assert "従業員の同期: 一部エラー" in p["text"] and "一部エラー" in p["html"]
    assert p["attachments"]["errors.csv"] == csv_path.read_bytes()
    assert p["attachments"]["errors.csv"].decode("utf-8").startswith("\ufeff重要度,コード,シート,セル,従業員番号,内容")


def test_some_recipients_refused(smtp_server, tmp_path):
    controller, handler = smtp_server
    settings = settings_for(tmp_path, host="127.0.0.1", port=controller.port)
    outcome = send_report(settings, make_result(), ["hr@example.jp", "reject@example.jp"], None, None)
    assert outcome.sent and outcome.recipients == ["hr@example.jp"]
    assert "reject@example.jp (550)" in outcome.error
    assert handler.envelopes[0].rcpt_tos == ["hr@example.jp"]


def test_wrong_password_is_reported_without_the_password(smtp_server, tmp_path):
    controller, handler = smtp_server
    settings = load_settings(env={"ETL_MAIL_PASSWORD": "wrong-" + PASSWORD},
                             overrides={"mail": {"host": "127.0.0.1", "port": controller.port, "username": "etl"}},
                             cwd=tmp_path)
    outcome = send_report(settings, make_result(), ["hr@example.jp"], None, None)
    assert not outcome.sent and "認証に失敗しました (535)" in outcome.error and "ETL_MAIL_PASSWORD" in outcome.error
    assert PASSWORD not in outcome.error
    assert handler.envelopes == []


def test_closed_port_returns_a_failure_without_raising(tmp_path):
    port = free_port()  # nothing listens there any more
    settings = settings_for(tmp_path, host="127.0.0.1", port=port)
    result = make_result()
    outcome = send_report(settings, result, ["hr@example.jp"], None, None)
    assert outcome.sent is False and outcome.recipients == ["hr@example.jp"]
    assert f"SMTP サーバー 127.0.0.1:{port} に接続できません" in outcome.error and "\n" not in outcome.error

    record_outcome(result, outcome)  # recorded in the result; the run's exit code is untouched
    assert result.exit_code == ExitCode.PARTIAL
    assert result.sections["mail"] == {"sent": False, "recipients": ["hr@example.jp"], "error": outcome.error}
    assert result.problems[-1].code == "mail-failed" and result.problems[-1].severity == "warning"


def test_tls_against_a_plain_server_fails_cleanly(smtp_server, tmp_path):
    controller, _ = smtp_server
    settings = settings_for(tmp_path, host="127.0.0.1", port=controller.port, ssl=True)
    outcome = send_report(settings, make_result(), ["hr@example.jp"], None, None)
    assert not outcome.sent and "127.0.0.1" in outcome.error
    settings = settings_for(tmp_path, host="127.0.0.1", port=controller.port, starttls=True)
    outcome = send_report(settings, make_result(), ["hr@example.jp"], None, None)
    assert not outcome.sent and "STARTTLS" in outcome.error  # the server does not offer it


def test_no_host_no_recipients_no_password(tmp_path):
    result = make_result()
    assert send_report(settings_for(tmp_path), result, ["hr@example.jp"], None, None) == \
        MailOutcome(False, ["hr@example.jp"], NO_HOST)
    assert not send_report(settings_for(tmp_path, host="127.0.0.1"), result, [], None, None).sent
    no_password = load_settings(env={}, overrides={"mail": {"host": "127.0.0.1", "username": "etl"}}, cwd=tmp_path)
    outcome = send_report(no_password, result, ["hr@example.jp"], None, None)
    assert not outcome.sent and "ETL_MAIL_PASSWORD" in outcome.error
    record_outcome(result, MailOutcome(False, [], NO_HOST))  # nobody expected mail: no warning
    assert not any(p.code == "mail-failed" for p in result.problems)


def test_failed_employees_first_twenty_then_the_rest_counted():
    result = make_result()
    result.rows += [RowResult(f"1{i:03d}", "update", "failed", message="拒否", name=f"社員{i}") for i in range(25)]
    p = parts(build_message(result, ["a@example.jp"], "etl@example.jp", None, None))
    assert "■ 処理できなかった従業員: 26 名" in p["text"] and "他 6 件" in p["text"]
    assert "0002 佐藤 一郎" in p["text"] and "1018 社員18" in p["text"] and "1019 社員19" not in p["text"]
    assert "他 6 件" in p["html"] and "佐藤 一郎" in p["html"]


def test_attachments_report_and_marked_workbook_with_a_size_cap(tmp_path, csv_file):
    result, csv_path = csv_file
    report = tmp_path / "report.html"
    report.write_text("<html>report</html>", encoding="utf-8")
    book = tmp_path / "検証結果_mapping.xlsx"
    book.write_bytes(b"PK-xlsx")
    result.meta["annotated_workbook"] = book.name
    p = parts(build_message(result, ["a@example.jp"], "etl@example.jp", report, csv_path))
    assert set(p["attachments"]) == {"report.html", book.name, "errors.csv"}
    assert p["attachments"][book.name] == b"PK-xlsx"
    assert "添付: report.html・検証結果_mapping.xlsx・errors.csv" in p["text"]

    result.meta["annotated_marks"] = 0  # nothing marked (e.g. the API was down): no workbook attached
    p = parts(build_message(result, ["a@example.jp"], "etl@example.jp", report, csv_path))
    assert set(p["attachments"]) == {"report.html", "errors.csv"}

    result.meta["annotated_marks"] = 1
    book.write_bytes(b"x" * (MAX_ATTACHMENT_BYTES + 1))
    p = parts(build_message(result, ["a@example.jp"], "etl@example.jp", report, csv_path))
    assert book.name not in p["attachments"]
    assert f"検証結果ブック ({book.name}) は大きいため" in p["text"]


@pytest.mark.parametrize(("base", "expected"), [
    ("", ""),
    ("https://intra.example.co.jp/kintai/reports/", "https://intra.example.co.jp/kintai/reports/20261126-020000-sync-employees/report.html"),
    ("\\\\fs01\\kintai\\reports", "\\\\fs01\\kintai\\reports\\20261126-020000-sync-employees\\report.html"),
    ("/mnt/share/reports", "/mnt/share/reports/20261126-020000-sync-employees/report.html"),
], ids=["none", "intranet-url", "windows-share", "posix-share"])
def test_report_url_base_replaces_the_server_path(base, expected, tmp_path):
    result = make_result()
    assert report_link(result, base) == expected
    p = parts(build_message(result, ["a@example.jp"], "etl@example.jp", tmp_path / "report.html", None,
                            report_url_base=base))
    assert (f"レポート: {expected}" in p["text"]) == bool(expected)
    assert str(tmp_path) not in p["text"]


def test_report_url_base_is_a_mail_setting(tmp_path):
    settings = settings_for(tmp_path, report_url_base="https://intra.example.co.jp/kintai")
    assert settings.mail.report_url_base == "https://intra.example.co.jp/kintai"
    assert settings_for(tmp_path).mail.report_url_base == ""


def test_a_failure_states_its_cause_once():
    cause = "勤怠APIに接続できません (Connection refused)。ネットワークを確認してください"
    result = RunResult(job="run", started_at=dt.datetime(2026, 11, 26, 2, 0, tzinfo=JST),
                       exit_code=ExitCode.API_UNAVAILABLE)
    result.meta["error"] = cause
    result.problems.append(Problem.of("api-unavailable", value=cause))
    result.sections["sections"] = [{"job": "sync-employees", "status_label": "異常終了", "summary": cause}]
    p = parts(build_message(result, ["a@example.jp"], "etl@example.jp", None, None))
    assert p["text"].count("Connection refused") == 1 and p["html"].count("Connection refused") == 1
    assert "停止理由: " + cause in p["text"] and "従業員の同期: 異常終了" in p["text"]
    assert "[kintai-etl] 異常終了 一括実行 (夜間バッチ)" in subject_of(result)
    # the page too: the banner's 停止理由 and the problem with its code, not a third time in 処理の内訳
    from etl.report.html import render_report
    html = render_report(result)
    assert html.count("Connection refused") == 2 and "停止 (停止理由のとおり)" in html

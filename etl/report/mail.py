"""The result mail: a text + HTML summary of a run with report.html (and the annotated workbook
when it marks cells, and errors.csv) attached, sent over SMTP.

The body names every failed employee (the first 20, then 他 N 件), shows the same counts as the
report's banner, states a stopped run's cause once, and links to the report through
``[mail] report_url_base`` (a shared folder or intranet URL) instead of a path on the server.

``build_message`` is pure apart from reading the attachments. ``send_report`` is the thin SMTP shell and
never raises: a failure comes back as ``MailOutcome(sent=False, error=...)`` with the password
and the token masked, so a mail problem never fails the run (``record_outcome`` puts it in the
result).
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from etl.config import mask
from etl.errors import Problem
from etl.report.html import TEMPLATES, environment, has_marks, summary_context
from etl.report.result import RunResult
from etl.text import one_line

LIST_LIMIT = 20  # failed employees, problems and findings listed in the mail body; the rest are in the report
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024  # per attachment; a bigger file is named in a note instead
NO_HOST = "メール設定 ([mail] host) がありません"
NO_RECIPIENTS = "通知先のメールアドレスがありません (設定シート「連携結果通知メールアドレス」に入力してください)"


@dataclass
class MailOutcome:
    sent: bool
    recipients: list[str] = field(default_factory=list)
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def _text_environment() -> Environment:
    # Plain text: nothing to escape (the HTML part uses the autoescaping environment).
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def subject_of(result: RunResult) -> str:
    """「[kintai-etl] 一部エラー 従業員の同期 2026-11-26 02:00 (失敗 1件)」."""
    subject = f"[kintai-etl] {result.status_label} {result.job_label} {result.started_at:%Y-%m-%d %H:%M}"
    failed = result.counts()["failed"]
    if failed:
        subject += f" (失敗 {failed:,}件)"
    return subject + " (ドライラン)" if result.dry_run else subject


def report_link(result: RunResult, report_url_base: str) -> str:
    """Where HR opens the report: ``report_url_base`` + run folder + report.html (a URL joined with
    /, a shared folder with its own separator); "" without a base (the report is attached)."""
    base = (report_url_base or "").strip()
    if not base:
        return ""
    if "://" in base:
        from urllib.parse import quote
        return f"{base.rstrip('/')}/{quote(result.run_id)}/report.html"
    sep = "\\" if "\\" in base else "/"
    return f"{base.rstrip(sep)}{sep}{result.run_id}{sep}report.html"


@dataclass
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str


def _attachments(result: RunResult, report_path: Path | None, errors_csv: Path | None
                 ) -> tuple[list[Attachment], list[str]]:
    """report.html, the annotated workbook when it marks cells, errors.csv; a file over the cap is
    left out with a note naming it."""
    wanted: list[tuple[Path, str, str, str]] = []
    if report_path is not None:
        wanted.append((Path(report_path), "text", "html", "レポート"))
    annotated = str(result.meta.get("annotated_workbook") or "")
    if annotated and report_path is not None and has_marks(result):
        wanted.append((Path(report_path).parent / annotated, "application",
                       "vnd.openxmlformats-officedocument.spreadsheetml.sheet", "検証結果ブック"))
    if errors_csv is not None:
        wanted.append((Path(errors_csv), "text", "csv", "問題の一覧"))
    out, notes = [], []
    for path, main, sub, what in wanted:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size > MAX_ATTACHMENT_BYTES:
            notes.append(f"{what} ({path.name}) は大きいため ({size / 1024 / 1024:.1f} MB、上限 "
                         f"{MAX_ATTACHMENT_BYTES // 1024 // 1024} MB) 添付していません。レポートの保存先から開いてください。")
            continue
        out.append(Attachment(path.name, path.read_bytes(), main, sub))
    if out:
        names = "・".join(a.filename for a in out)
        notes.insert(0, f"添付: {names} (report.html はブラウザ、.xlsx と .csv は Excel で開けます)")
    return out, notes


def mail_context(result: RunResult, *, link: str = "", notes: list[str] | None = None) -> dict[str, object]:
    """What the mail shows (pure): the report's summary, the failed employees (the first
    LIST_LIMIT), and the stop reason said once."""
    ctx = summary_context(result)
    error_line = ctx["error_line"]
    # the stop reason is in the banner: not again among the problems (nor the batch's steps: summary_context)
    errors = [p for p in ctx["errors"] if p["message"] != error_line]
    return ctx | {"subject": subject_of(result), "limit": LIST_LIMIT, "errors": errors,
                  "report_link": link, "notes": list(notes or [])}


def build_message(result: RunResult, recipients: list[str], sender: str, report_path: Path | None,
                  errors_csv: Path | None, *, report_url_base: str = "") -> EmailMessage:
    """The summary as text + HTML alternatives, with its attachments."""
    attachments, notes = _attachments(result, report_path, errors_csv)
    ctx = mail_context(result, link=report_link(result, report_url_base), notes=notes)
    msg = EmailMessage()
    msg["Subject"] = str(ctx["subject"])
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(result.finished_at or result.started_at)
    msg["Message-ID"] = make_msgid("kintai-etl", domain=sender.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_text_environment().get_template("mail.txt.j2").render(ctx))
    msg.add_alternative(render_mail_html(ctx), subtype="html")
    for a in attachments:
        params = {"charset": "utf-8"} if a.maintype == "text" else {}
        msg.add_attachment(a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename, params=params)
    return msg


def render_mail_html(ctx: dict[str, object]) -> str:
    return environment().get_template("mail.html.j2").render(ctx)


def _describe(e: Exception, host: str, port: int, mail: Any) -> str:
    """One Japanese line saying what went wrong and what to check."""
    where = f"SMTP サーバー {host}:{port}"
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return (f"{where} の認証に失敗しました ({e.smtp_code})。[mail] username と環境変数 "
                f"{mail.password_env} のパスワードを確認してください")
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{a} ({c})" for a, (c, _m) in e.recipients.items())
        return f"すべての宛先が拒否されました: {refused}。連携結果通知メールアドレスを確認してください"
    if isinstance(e, smtplib.SMTPSenderRefused):
        return f"差出人 {e.sender} が拒否されました ({e.smtp_code})。[mail] sender を確認してください"
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return f"{where} は STARTTLS または認証に対応していません。[mail] starttls と username を確認してください"
    if isinstance(e, smtplib.SMTPResponseException):
        return f"{where} がエラーを返しました ({e.smtp_code}): {e.smtp_error!r}"
    if isinstance(e, ssl.SSLError | ssl.CertificateError):
        return f"{where} との TLS 接続に失敗しました ({e})。[mail] ssl / starttls とポートを確認してください"
    if isinstance(e, TimeoutError):
        return f"{where} が {mail.timeout_s} 秒以内に応答しませんでした。host と port、ファイアウォールを確認してください"
    if isinstance(e, smtplib.SMTPException):
        return f"{where} とのやり取りに失敗しました: {e}"
    if isinstance(e, OSError):
        return f"{where} に接続できません ({e.strerror or e})。[mail] host と port を確認してください"
    return f"メールを送れませんでした: {type(e).__name__}: {e}"


def send_report(settings, result: RunResult, recipients: list[str], report_path: Path | None,
                errors_csv: Path | None) -> MailOutcome:
    """Send the result mail. Never raises: a failure returns sent=False with a masked reason."""
    mail = settings.mail
    recipients = list(recipients or [])
    if not mail.host:
        return MailOutcome(False, recipients, NO_HOST)
    if not recipients:
        return MailOutcome(False, [], NO_RECIPIENTS)
    password = settings.mail_password.reveal() if settings.mail_password else ""
    if mail.username and not password:
        return MailOutcome(False, recipients, f"環境変数 {mail.password_env} に SMTP パスワードが設定されていません "
                                              f"([mail] username {mail.username} の認証に必要です)")
    host, port = mail.host, int(mail.port)
    try:
        msg = build_message(result, recipients, mail.sender, report_path, errors_csv,
                            report_url_base=str(getattr(mail, "report_url_base", "") or ""))
        tls = ssl.create_default_context()
        if mail.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=mail.timeout_s, context=tls)
        else:
            smtp = smtplib.SMTP(host, port, timeout=mail.timeout_s)
        with smtp:
            if mail.starttls and not mail.ssl:
                smtp.starttls(context=tls)
            if mail.username:
                smtp.login(mail.username, password)
            refused = smtp.send_message(msg, from_addr=mail.sender, to_addrs=recipients)
    except Exception as e:  # noqa: BLE001 - a mail failure must never fail the run
        text = _describe(e, host, port, mail)
        return MailOutcome(False, recipients, one_line(mask(text, settings.mail_password, settings.token)))
    accepted = [a for a in recipients if a not in refused]
    error = ""
    if refused:
        error = "一部の宛先が拒否されました: " + ", ".join(f"{a} ({c})" for a, (c, _m) in refused.items())
    return MailOutcome(True, accepted, one_line(mask(error, settings.mail_password, settings.token)))


def record_outcome(result: RunResult, outcome: MailOutcome) -> None:
    """Put the outcome in ``result.sections["mail"]``; a failure for recipients who expected the
    mail also becomes a mail-failed warning (the exit code is not touched)."""
    result.sections["mail"] = outcome.to_dict()
    if outcome.error and outcome.recipients:  # nobody asked for mail → nothing to warn about
        result.problems.append(Problem.of("mail-failed", value=outcome.error))

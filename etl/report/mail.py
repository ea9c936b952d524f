"""The result mail: a text + HTML summary of a run, errors.csv attached, sent over SMTP.

``build_message`` is pure (RunResult → EmailMessage). ``send_report`` is the thin SMTP shell and
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
from etl.report.html import TEMPLATES, environment, summary_context
from etl.report.result import RunResult
from etl.text import one_line

LIST_LIMIT = 20  # problems and alerts listed in the mail body; the rest are in the report
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
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
    subject = f"[kintai-etl] {result.status_label} {result.job} {result.started_at:%Y-%m-%d %H:%M}"
    return subject + " (ドライラン)" if result.dry_run else subject


def build_message(result: RunResult, recipients: list[str], sender: str, report_path: Path | None,
                  errors_csv: Path | None) -> EmailMessage:
    """The summary as text + HTML alternatives, errors.csv attached when present (and not huge)."""
    attachment: bytes | None = None
    note = ""
    if errors_csv is not None and Path(errors_csv).is_file():
        size = Path(errors_csv).stat().st_size
        if size <= MAX_ATTACHMENT_BYTES:
            attachment = Path(errors_csv).read_bytes()
            note = "問題の一覧を errors.csv として添付しています (Excel で開けます)。"
        else:
            note = (f"errors.csv は大きいため ({size / 1024 / 1024:.1f} MB) 添付していません: "
                    f"{errors_csv}")
    ctx = summary_context(result) | {
        "subject": subject_of(result), "limit": LIST_LIMIT, "attachment_note": note,
        "report_path": str(report_path) if report_path else ""}
    msg = EmailMessage()
    msg["Subject"] = ctx["subject"]
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(result.finished_at or result.started_at)
    msg["Message-ID"] = make_msgid("kintai-etl", domain=sender.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_text_environment().get_template("mail.txt.j2").render(ctx))
    msg.add_alternative(environment().get_template("mail.html.j2").render(ctx), subtype="html")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="text", subtype="csv", filename="errors.csv",
                           params={"charset": "utf-8"})
    return msg


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
        msg = build_message(result, recipients, mail.sender, report_path, errors_csv)
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

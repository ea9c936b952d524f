"""Security across a full batch: the token stays secret, hostile names stay inert, files stay private,
TLS stays on.

One workspace (a real workbook, a SQLite ledger with hostile employee names, the sandbox on
loopback, an SMTP server on loopback) goes through ``--verbose run --month``, ``--verbose
schedule --once`` (which writes logs/etl.log) and ``--verbose test-connection`` (whose request
path holds the token). Then every byte the tool produced — stdout, stderr, every file in the
workspace (xlsx unzipped), the mail with its decoded attachments — is searched for the token.
"""
from __future__ import annotations

import csv
import dataclasses
import email
import io
import logging
import socket
import stat
import zipfile
from email import policy
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from conftest import make_config
from support.sync import Harness, empty_company, ledger_employees

from etl.cli import main
from etl.config import load_settings
from etl.errors import ConfigError, ExitCode
from etl.kot.client import KotClient
from etl.logsetup import SecretFilter
from etl.workbook.model import SHEET_DIVISIONS, SHEET_SETTINGS

# '/' and '+' make the token's URL-quoted form differ from the raw one; the middle part is what
# the scans look for (it reads the same raw, quoted, JSON- or HTML-escaped)
TOKEN = "kot/SECRET-8c1fe9a2+Zq"
NEEDLES = ("SECRET-8c1fe9a2", quote(TOKEN, safe=""))
XSS = "<script>alert(1)</script>"
FORMULAS = {"E0002": "=cmd|' /C calc'!A0", "E0003": "+1+1", "E0004": "-2+3", "E0005": "@SUM(A1:A2)"}
RISKY = ("=", "+", "-", "@")
BOOK_SETTINGS = {"連携結果通知メールアドレス": "hr@example.jp", "自動連携": "する"}


def hostile_employees():
    employees = ledger_employees(8)
    employees[0] = dataclasses.replace(employees[0], last_name=XSS, first_name="<b>太郎</b>")
    for i, e in enumerate(employees):
        if e.code in FORMULAS:
            employees[i] = dataclasses.replace(e, last_name=FORMULAS[e.code])
    return employees


def find_token(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace") + data.decode("cp932", errors="replace")
    return [n for n in NEEDLES if n in text]


def file_leaks(path: Path) -> list[str]:
    data = path.read_bytes()
    leaks = find_token(data)
    if data[:2] == b"PK":  # xlsx: look inside every part
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                leaks += [f"{name}: {n}" for n in find_token(zf.read(name))]
    return leaks


def mail_leaks(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    leaks = find_token(raw)
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload:
            leaks += find_token(payload)
    return leaks


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    quiet = logging.getLogger("mail.log")  # the SMTP server's own debug chatter is not ours
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        yield controller, handler
    finally:
        controller.stop()
        quiet.setLevel(level)


@pytest.fixture
def workspace(tmp_path, make_sandbox, smtp):
    controller, handler = smtp
    sandbox = make_sandbox(empty_company(), token=TOKEN)
    h = Harness(tmp_path, sandbox, mail={"host": "127.0.0.1", "port": controller.port, "sender": "etl@example.jp",
                                         "timeout_s": 5})
    h.load(hostile_employees())

    def edit(wb):
        ws = wb[SHEET_SETTINGS]
        for row in range(2, ws.max_row + 1):
            label = ws.cell(row, 1).value
            if label in BOOK_SETTINGS:
                ws.cell(row, 2).value = BOOK_SETTINGS[label]
        # a department the ledger does not have: a warning, so the annotated copy is written too
        wb[SHEET_DIVISIONS].append(["D99", XSS, "1100", None, None])

    h.write_book(edit)
    yield h, handler
    h.close()


def cli(h: Harness, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(h.config), "--verbose", *argv], env=dict(h.env), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_full_verbose_batch_keeps_the_token_and_hostile_names_inert(workspace):
    h, mailbox = workspace
    outputs = [cli(h, "run", "--month", "2026-10"), cli(h, "schedule", "--once"), cli(h, "test-connection")]
    for code, _out, err in outputs:
        assert code == ExitCode.SUCCESS, err[-2000:]
    assert any("DEBUG urllib3" in err and "/tokens/" in err for _, _, err in outputs)  # verbose really was
    assert h.ledger.links() and len(h.sandbox.state) == 8

    # --- the token: nowhere in stdout, stderr, any file written, or the mail -------------------
    for _, out, err in outputs:
        assert not find_token((out + err).encode()), "token on stdout/stderr"
    files = [p for p in h.tmp_path.rglob("*") if p.is_file()]
    written = {p.relative_to(h.tmp_path).parts[0] for p in files}
    assert {"reports", "logs", "output"} <= written
    log = (h.tmp_path / "logs" / "etl.log").read_text(encoding="utf-8")
    assert "自動連携を開始します" in log and "DEBUG urllib3" in log  # schedule --once ran the batch, verbosely
    assert len([p for p in files if p.name == "result.json" and "-run" in p.parent.name]) == 2
    assert any(p.suffix == ".csv" and p.parent.name == "output" for p in files)
    assert any(p.name.startswith("検証結果_") and p.suffix == ".xlsx" for p in files)  # annotated copy (warnings)
    leaks = {str(p.relative_to(h.tmp_path)): found for p in files if (found := file_leaks(p))}
    assert not leaks, f"token found in files: {leaks}"
    assert len(mailbox.envelopes) >= 1
    for envelope in mailbox.envelopes:
        assert not mail_leaks(envelope.original_content)

    # --- report and log files are owner-only ---------------------------------------------------
    for folder in ("reports", "logs", "output"):
        for p in (h.tmp_path / folder).rglob("*"):
            mode = stat.S_IMODE(p.stat().st_mode)
            if p.is_file():
                assert mode == 0o600, f"{p} is {oct(mode)}"
            else:
                assert mode & 0o077 == 0, f"folder {p} is {oct(mode)}"

    # --- <script> is escaped in the report (and the mail's HTML) ------------------------------
    run_dir = next(p.parent for p in files if p.name == "report.html" and p.parent.name.endswith("-run"))
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert XSS not in html and "<b>太郎</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for envelope in mailbox.envelopes:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        body = message.get_body(("html",))
        if body is not None:
            assert XSS not in body.get_content()

    # --- formula cells are neutralised in every CSV the run wrote ------------------------------
    attendance = next(p for p in files if p.parent.name == "output" and p.suffix == ".csv")
    rows = list(csv.reader(io.StringIO(attendance.read_bytes().decode("cp932"))))
    names = {r[0]: r[1] for r in rows[1:]}
    for code, name in FORMULAS.items():
        assert names[code].startswith("'" + name), names[code]
    for p in [attendance, *(f for f in files if f.name == "errors.csv")]:
        data = p.read_bytes()
        text = data.decode("cp932") if p == attendance else data.decode("utf-8-sig")
        risky = [c for row in csv.reader(io.StringIO(text)) for c in row if c[:1] in RISKY]
        assert not risky, f"{p.name}: formula cells {risky}"


def test_ledger_export_neutralises_formula_cells(workspace):
    h, _ = workspace
    target = h.tmp_path / "export.csv"
    code, _, err = cli(h, "ledger", "export", str(target))
    assert code == ExitCode.SUCCESS, err
    rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in RISKY]
    assert "'" + FORMULAS["E0002"] in cells


def test_log_filter_masks_the_token_raw_and_url_quoted():
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1,
                               '%s "GET /v1.0/tokens/%s/available" %s', ("http://127.0.0.1:1", quote(TOKEN, safe=""),
                                                                          TOKEN), None)
    assert SecretFilter(TOKEN).filter(record)
    assert not find_token(record.getMessage().encode()) and record.getMessage().count("***") == 2


# --------------------------------------------------------------------------------------------
# TLS verification
# --------------------------------------------------------------------------------------------

REMOTE = "https://api.kingtime.jp/v1.0"


def test_tls_verification_is_on_for_a_remote_url_by_default(tmp_path):
    settings = load_settings(env={"KOT_TOKEN": TOKEN}, overrides={"attendance_api": {"base_url": REMOTE}},
                             cwd=tmp_path)
    for client in (KotClient(REMOTE, TOKEN), KotClient.from_settings(settings)):
        with client:
            assert client.session.verify is True
            merged = client.session.merge_environment_settings(REMOTE + "/divisions", {}, None, None, None)
            assert merged["verify"] not in (False, None, "")


@pytest.mark.parametrize("url", [REMOTE, "https://10.0.0.5/v1.0", "http://api.example.co.jp/v1.0"])
def test_verify_tls_false_is_refused_for_a_non_loopback_url(url):
    with pytest.raises(ConfigError, match="verify_tls"):
        KotClient(url, TOKEN, verify_tls=False)


@pytest.mark.parametrize("url", ["https://127.0.0.1:8443/v1.0", "https://localhost/v1.0", "https://[::1]:8443/v1.0"])
def test_verify_tls_false_is_honoured_for_loopback_only(url):
    with KotClient(url, TOKEN, verify_tls=False) as client:
        assert client.session.verify is False


def test_verify_tls_false_in_etl_toml_stops_the_command_with_one_line(tmp_path):
    config = make_config(tmp_path, attendance_api={"base_url": REMOTE, "verify_tls": False})
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(config), "test-connection"], env={"KOT_TOKEN": TOKEN}, stdout=out, stderr=err)
    assert code == ExitCode.USAGE
    assert len(err.getvalue().splitlines()) == 1 and "verify_tls" in err.getvalue()
    assert not find_token((out.getvalue() + err.getvalue()).encode())


def test_a_plain_http_url_to_a_remote_host_is_refused():
    from etl.errors import ConfigError
    from etl.kot.client import KotClient
    with pytest.raises(ConfigError) as e:
        KotClient("http://api.kingtime.jp/v1.0", "tok")
    assert "https://" in str(e.value) and "tok" not in str(e.value)


def test_the_sqlite_ledger_is_created_owner_only(tmp_path):
    from etl.ledger.store import close_ledger, open_ledger
    url = f"sqlite:///{(tmp_path / 'data' / 'ledger.db').as_posix()}"
    open_ledger(url).employees()
    try:
        for f in (tmp_path / "data").iterdir():
            assert f.stat().st_mode & 0o077 == 0, f
    finally:
        close_ledger(url)

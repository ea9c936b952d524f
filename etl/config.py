"""etl.toml + ETL_* environment variables + CLI flags → one frozen Settings.

Declared once in ``SPEC``; loaded once; every bad key, type or value is reported at once with its
path (``etl.toml [section] key`` or ``ETL_SECTION_KEY``) as a ``ConfigError`` (exit 2).
Precedence: CLI flag > ``ETL_*`` environment variable > file > default.

The attendance-API token is never stored in the file: ``token_env`` names the environment
variable (default ``KOT_TOKEN``) and ``Settings.token`` is a ``Secret`` whose repr is masked.
"""
from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from etl.clock import DEFAULT_RESTRICTED_HOURS, Clock, RestrictedHours, clock_from_env, parse_now, parse_window
from etl.errors import ConfigError
from etl.fileio import from_cwd
from etl.text import one_line

DEFAULT_BASE_URL = "https://api.kingtime.jp/v1.0"


@dataclass(frozen=True)
class Option:
    kind: type | tuple[type, ...]
    default: Any
    help: str
    check: Any = None  # callable(value) -> error text or None


def _positive(v: Any) -> str | None:
    if not math.isfinite(v):
        return "有限の数にしてください (inf・nan は使えません)"
    return None if v > 0 else "0 より大きい値にしてください"


def _non_negative(v: Any) -> str | None:
    if not math.isfinite(v):
        return "有限の数にしてください (inf・nan は使えません)"
    return None if v >= 0 else "0 以上にしてください"


def _seconds(most: float) -> Any:
    """A number of seconds in (0, most]."""
    def check(v: Any) -> str | None:
        return _positive(v) or (None if v <= most else f"{most:,.0f} 秒以下にしてください")
    return check


def _windows(v: list[str]) -> str | None:
    for text in v:
        if not isinstance(text, str):
            return "\"HH:MM-HH:MM\" の文字列のリストにしてください"
        try:
            parse_window(text)
        except ValueError as e:
            return str(e)
    return None


def _url(v: str) -> str | None:
    """An http(s) URL a request can be sent to: a host, a port in 1–65535, no space or control
    character (a URL that cannot be parsed would otherwise fail at the first request)."""
    if not v.startswith(("http://", "https://")):
        return "http:// または https:// で始まる URL にしてください"
    if re.search(r"[\s\x00-\x1f\x7f]", v):
        return "空白・改行・制御文字を含まない URL にしてください"
    try:
        parts = urlsplit(v)
        port = parts.port
    except ValueError:
        return "URL として読めません (ホスト名・ポート番号を確認してください)"
    if not parts.hostname:
        return "ホスト名のある URL にしてください (例 https://api.kingtime.jp/v1.0)"
    if port == 0:
        return "ポート番号は 1〜65535 にしてください"
    return None


def _host(v: str) -> str | None:
    """Empty, or a host name / address with no space, line break or control character (a line break
    would reach the SMTP connection; a space never names a host)."""
    if re.search(r"[\s\x00-\x1f\x7f]", v):
        return "空白・改行・制御文字を含まないホスト名にしてください (例 smtp.example.co.jp)"
    return None


def _proxy(v: str) -> str | None:
    """Empty, or a proxy URL (requests takes "host:port" as http://host:port, and socks schemes)."""
    if not v:
        return None
    scheme, sep, rest = v.partition("://")
    return _url("http://" + (rest if sep and scheme.lower() in ("http", "https", "socks5", "socks5h", "socks4") else v))


def _port(v: Any) -> str | None:
    return _positive(v) or (None if v <= 65535 else "ポート番号は 1〜65535 にしてください")


def _at_most(most: int) -> Any:
    def check(v: Any) -> str | None:
        return _positive(v) or (None if v <= most else f"{most:,} 以下にしてください")
    return check


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def plausible_env_name(v: str) -> bool:
    """A variable name (letters, digits, _; not a leading digit; at most 64), and not what a
    pasted secret looks like (a token is hex/base64, some with a prefix like sk_live_): 16 or more
    characters with digits and no _; a part between _ of 12 or more characters mixing letters and
    digits; 20 or more letters mixing upper and lower case without _."""
    if not _ENV_NAME.fullmatch(v):
        return False
    if len(v) >= 16 and "_" not in v and any(c.isdigit() for c in v):
        return False
    if any(len(part) >= 12 and any(c.isdigit() for c in part) and any(c.isalpha() for c in part)
           for part in v.split("_")):
        return False
    return not (len(v) >= 20 and "_" not in v and not v.isupper() and not v.islower())


def _env_name(v: str) -> str | None:
    """Never echoes the value: a token pasted here must not reach a report or the terminal."""
    return None if plausible_env_name(v) else (
        "環境変数の名前 (例 KOT_TOKEN: 英数字と _) を書いてください。トークンやパスワードそのものは"
        "書かずに、その環境変数に設定してください (値は安全のため表示しません)")


SPEC: dict[str, dict[str, Option]] = {
    "attendance_api": {
        "base_url": Option(str, DEFAULT_BASE_URL, "勤怠API (KING OF TIME Web API) の URL", _url),
        "token_env": Option(str, "KOT_TOKEN", "アクセストークンを読む環境変数の名前 (トークン自体はここに書かない)", _env_name),
        "timeout_s": Option((int, float), 30, "1リクエストのタイムアウト秒", _seconds(600)),
        "max_requests": Option(int, 500, "per_seconds 秒あたりの最大リクエスト数 (公表値 500/5分)", _positive),
        "per_seconds": Option((int, float), 300, "max_requests を数える期間 (秒)", _seconds(86400)),
        "concurrency": Option(int, 4, "同時に送るリクエスト数の上限 (64 まで)", _at_most(64)),
        "max_retries": Option(int, 5, "一時的なエラーの再試行回数", _non_negative),
        "retry_budget_s": Option((int, float), 900, "1回の実行で再試行のために待つ合計の上限 (秒)。超えると中止 (終了コード 4)",
                                 _seconds(86400)),
        "restricted_hours": Option(list, list(DEFAULT_RESTRICTED_HOURS), "利用制限時間帯 (JST)", _windows),
        "proxy": Option(str, "", "固定IPで出るための HTTPS プロキシ (例 http://proxy.example.co.jp:8080)", _proxy),
        "verify_tls": Option(bool, True, "TLS 証明書を検証する (false はループバックのサンドボックスにだけ使えます)"),
        "split_by_division": Option(bool, False, "月別勤怠を所属ごとに分けて取得する (大規模テナント向け)"),
    },
    "ledger": {
        "url": Option(str, "sqlite:///data/ledger.db", "従業員台帳の SQLAlchemy URL (PostgreSQL: postgresql+psycopg://user@host/db)"),
        "busy_timeout_s": Option((int, float), 30, "台帳 (SQLite) をほかのプログラムが使っているときに待つ秒数。過ぎると中止 (終了コード 2)",
                                 _seconds(600)),
        "max_rows": Option(int, 200_000, "`ledger load` で読むファイルの最大行数 (超えると取り込まずにエラー)", _positive),
    },
    "paths": {
        "workbook": Option(str, "data/mapping.xlsx", "HR が編集するマッピングブック (templates/mapping.xlsx は配布用のひな形で、init がここへコピーします)"),
        "reports": Option(str, "reports", "実行結果レポートの出力先"),
        "output": Option(str, "output", "勤怠 CSV の出力先"),
        "logs": Option(str, "logs", "ログの出力先 (schedule)"),
    },
    "mail": {
        "host": Option(str, "", "SMTP サーバー (空ならメールを送らない)", _host),
        "port": Option(int, 25, "SMTP ポート (STARTTLS は 587、SSL は 465 が一般的)", _port),
        "starttls": Option(bool, False, "STARTTLS を使う"),
        "ssl": Option(bool, False, "SMTP over SSL (SMTPS) を使う"),
        "username": Option(str, "", "SMTP 認証のユーザー名 (空なら認証しない)"),
        "password_env": Option(str, "ETL_MAIL_PASSWORD", "SMTP パスワードを読む環境変数の名前", _env_name),
        "sender": Option(str, "kintai-etl@localhost", "差出人アドレス"),
        "timeout_s": Option((int, float), 30, "SMTP のタイムアウト秒", _seconds(600)),
        "report_url_base": Option(str, "", "メールに書くレポートの場所: 共有フォルダーかイントラネットの URL "
                                  "(例 https://intra.example.co.jp/kintai/reports)。その下の <実行ID>/report.html を案内します。"
                                  "空ならサーバー上のパスは書かず、report.html を添付します"),
    },
    "attendance": {
        "paid_leave_codes": Option(list, ["1"], "有休として数える休暇コード (holidaysObtained の code)"),
        "overtime_month_hours": Option((int, float), 45, "月の時間外労働の限度時間 (1年単位の変形労働時間制なら 42)", _positive),
        "overtime_year_hours": Option((int, float), 360, "年の時間外労働の限度時間 (同 320)", _positive),
        "overtime_year_special_hours": Option((int, float), 720, "特別条項の年の上限", _positive),
        "overtime_single_month_limit_hours": Option((int, float), 100, "時間外+休日労働の単月上限 (この値以上で違反)", _positive),
        "overtime_average_limit_hours": Option((int, float), 80, "時間外+休日労働の2〜6か月平均の上限", _positive),
        "months_over_limit_per_year": Option(int, 6, "月の限度時間を超えてよい回数 (年)", _non_negative),
        "fiscal_year_start_month": Option(int, 4, "36協定の対象期間の起算月 (1〜12)", lambda v: None if 1 <= v <= 12 else "1〜12 にしてください"),
    },
}


class Secret:
    """A string that never shows itself in repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def mask(text: str, *secrets: Secret | str | None) -> str:
    """Replace every secret value in ``text`` with ***."""
    for s in secrets:
        value = s.reveal() if isinstance(s, Secret) else s
        if value:
            text = text.replace(value, "***")
    return text


@dataclass(frozen=True)
class Section:
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class Settings:
    attendance_api: Section
    ledger: Section
    paths: Section
    mail: Section
    attendance: Section
    base_dir: Path
    config_file: Path | None = None
    token: Secret = field(default_factory=lambda: Secret(""))
    mail_password: Secret = field(default_factory=lambda: Secret(""))
    clock: Clock = field(default_factory=Clock, compare=False)
    reports_dir_override: Path | None = None

    # --- derived helpers -------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """A [paths] entry resolved against the base directory."""
        if name == "reports" and self.reports_dir_override is not None:
            return self.reports_dir_override
        p = Path(self.paths.values[name])
        return p if p.is_absolute() else self.base_dir / p

    @property
    def ledger_url(self) -> str:
        """The ledger URL; a relative SQLite path is resolved against the base directory."""
        url = self.ledger.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != "sqlite:///:memory:":
            rest = url[len(prefix):]
            if rest and not Path(rest).is_absolute() and not rest.startswith("/"):
                return prefix + (self.base_dir / rest).as_posix()
        return url

    @property
    def restricted_hours(self) -> RestrictedHours:
        return RestrictedHours.parse(self.attendance_api.restricted_hours)

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError([
                f"環境変数 {self.attendance_api.token_env} にアクセストークンが設定されていません。"
                f"KING OF TIME の管理画面で発行したトークンを {self.attendance_api.token_env} に設定してください"
            ])
        return self.token.reveal()

    def __repr__(self) -> str:
        return (f"Settings(base_dir={str(self.base_dir)!r}, config_file={self.config_file!s}, "
                f"base_url={self.attendance_api.base_url!r}, token={self.token!r})")


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "文字列", int: "整数", float: "数値", bool: "true/false", list: "リスト"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " または ".join(names.get(k, k.__name__) for k in kinds)


def _coerce_env(text: str, opt: Option) -> Any:
    kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
    if bool in kinds:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError
    if list in kinds:
        return [part.strip() for part in text.split(",") if part.strip()]
    if int in kinds:
        try:
            return int(text)
        except ValueError:
            if float not in kinds:
                raise
    if float in kinds:
        return float(text)
    return text


def _type_ok(value: Any, opt: Option) -> bool:
    kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def load_settings(config_file: str | Path | None = None, env: dict[str, str] | None = None,
                  overrides: dict[str, dict[str, Any]] | None = None,
                  reports_dir: str | Path | None = None, clock: Clock | None = None,
                  cwd: Path | None = None) -> Settings:
    """Load, check everything, freeze. Raises ConfigError listing every problem."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or Path.cwd()
    errors: list[str] = []
    data: dict[str, Any] = {}
    path: Path | None = None
    label = "etl.toml"
    if config_file is None and (cwd / "etl.toml").is_file():
        config_file = cwd / "etl.toml"
    if config_file is not None:
        path = from_cwd(config_file, cwd)
        label = path.name
        if not path.is_file():
            raise ConfigError([f"設定ファイル {path} が見つかりません。`run_etl.py init` で作成できます"])
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise ConfigError([f"{path}: UTF-8 で保存してください"]) from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError([f"{path}: TOML の書式エラー: {e}"]) from None

    values: dict[str, dict[str, Any]] = {s: {k: o.default for k, o in opts.items()} for s, opts in SPEC.items()}

    for section, content in data.items():
        if section not in SPEC:
            errors.append(f"{label} [{section}]: 不明なセクションです (使えるのは {', '.join(SPEC)})")
            continue
        if not isinstance(content, dict):
            errors.append(f"{label} {section}: [{section}] セクションとして書いてください")
            continue
        for key, value in content.items():
            opt = SPEC[section].get(key)
            if opt is None:
                errors.append(f"{label} [{section}] {key}: 不明な設定です (使えるのは {', '.join(SPEC[section])})")
            elif not _type_ok(value, opt):
                shown = "" if opt.check is _env_name else f" (値: {one_line(repr(value)[:60])})"  # a pasted secret: never shown
                errors.append(f"{label} [{section}] {key}: {_type_name(opt.kind)} で指定してください{shown}")
            else:
                values[section][key] = value

    for name, text in env.items():
        if not name.startswith("ETL_") or name in ("ETL_NOW",):
            continue
        rest = name[4:].lower()
        match = next(((s, rest[len(s) + 1:]) for s in SPEC if rest.startswith(s + "_")), None)
        if match is None or match[1] not in SPEC[match[0]]:
            continue  # other ETL_* variables (e.g. a mail password named by password_env) are not settings
        section, key = match
        try:
            values[section][key] = _coerce_env(text, SPEC[section][key])
        except ValueError:
            errors.append(f"環境変数 {name}: {_type_name(SPEC[section][key].kind)} で指定してください")

    for section, kv in (overrides or {}).items():
        for key, value in kv.items():
            if value is not None:
                values[section][key] = value

    for section, opts in SPEC.items():
        for key, opt in opts.items():
            if opt.check is not None and _type_ok(values[section][key], opt):
                msg = opt.check(values[section][key])
                if msg:
                    errors.append(f"{label} [{section}] {key}: {msg}")

    mail = values["mail"]
    if mail["username"] and not (mail["starttls"] or mail["ssl"]) and mail["host"] not in ("", "127.0.0.1", "localhost", "::1"):
        errors.append(f"{label} [mail] username: パスワードが暗号化されずに送られます。"
                      "starttls = true (ポート 587) か ssl = true (ポート 465) にしてください")

    if env.get("ETL_NOW", "").strip():
        shown = one_line(env["ETL_NOW"].strip()[:40])
        try:
            parse_now(env["ETL_NOW"])
        except ValueError as e:
            reason = str(e) if "年の日時" in str(e) else "ISO 8601 (例 2026-11-26T12:00:00+09:00) で指定してください"
            errors.append(f"環境変数 ETL_NOW: {reason} (値: {shown})")

    if errors:
        raise ConfigError(errors)

    base_dir = path.parent if path is not None else cwd
    api = values["attendance_api"]
    return Settings(
        attendance_api=Section(api), ledger=Section(values["ledger"]), paths=Section(values["paths"]),
        mail=Section(values["mail"]), attendance=Section(values["attendance"]),
        base_dir=base_dir, config_file=path,
        token=Secret(env.get(api["token_env"], "").strip()),
        mail_password=Secret(env.get(values["mail"]["password_env"], "")),
        clock=clock or clock_from_env(env),
        reports_dir_override=from_cwd(reports_dir, cwd) if reports_dir else None,
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def render_default_toml() -> str:
    """The commented etl.toml that `init` writes: every setting with its default."""
    lines = [
        "# kintai-etl の設定ファイル (IT 担当者が管理)。HR が管理する設定はマッピングブックにあります。",
        "# 優先順位: コマンドラインの指定 > 環境変数 ETL_<セクション>_<キー> > このファイル > 既定値",
        "# アクセストークンはここに書かず、token_env で指定した環境変数 (既定 KOT_TOKEN) に設定してください。",
        "",
    ]
    for section, opts in SPEC.items():
        lines.append(f"[{section}]")
        for key, opt in opts.items():
            lines.append(f"# {opt.help}")
            lines.append(f"{key} = {_toml_value(opt.default)}")
        lines.append("")
    return "\n".join(lines)


def config_markdown() -> str:
    """The rows of the settings table in docs/configuration.md, generated from SPEC."""
    rows = []
    for section, opts in SPEC.items():
        for key, opt in opts.items():
            rows.append(f"| `[{section}]` | `{key}` | `{_toml_value(opt.default)}` | {opt.help} |")
    return "\n".join(rows)

"""Typed options of each command: what etl/cli.py parses argv into and the commands receive.

Nothing below ``etl/app/`` sees argparse; the scheduler builds ``RunOptions`` itself.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoOptions:
    dir: str = "demo"
    employees: int = 300


@dataclass(frozen=True)
class InitOptions:
    dir: str = "."
    force: bool = False


@dataclass(frozen=True)
class TemplateOptions:
    out: str | None = None
    refresh: bool = False
    workbook: str | None = None


@dataclass(frozen=True)
class ValidateOptions:
    workbook: str | None = None
    mail: bool = False  # mail the result to the workbook's 連携結果通知メールアドレス


@dataclass(frozen=True)
class LedgerLoadOptions:
    file: str
    dry_run: bool = False
    new_people: tuple[str, ...] = ()  # codes that are new people though equal to a ledger code up to leading zeros


@dataclass(frozen=True)
class LedgerExportOptions:
    file: str
    encoding: str = "utf-8-sig"


@dataclass(frozen=True)
class ConnectionOptions:
    workbook: str | None = None


@dataclass(frozen=True)
class SyncCommandOptions:
    dry_run: bool = False
    employees: str | None = None  # comma-separated codes
    employees_file: str | None = None
    mode: str = "all"  # all | new | update
    effective_date: dt.date | None = None
    full: bool = False
    wait: bool = False
    workbook: str | None = None
    mail: bool = False  # mail the result (a manual command mails only when asked)


@dataclass(frozen=True)
class PullOptions:
    dry_run: bool = False
    limit: int = 1000
    update_existing: bool = False
    wait: bool = False
    workbook: str | None = None
    mail: bool = False


@dataclass(frozen=True)
class ImportOptions:
    month: str
    to: str | None = None  # csv | ledger; None = the workbook's 勤怠データ出力先
    out: str | None = None  # CSV path; None = [paths] output/attendance_YYYY-MM.csv
    encoding: str | None = None  # cp932 | utf-8-sig; None = the workbook's 勤怠CSV文字コード
    replace_unencodable: bool = False
    require_closed: bool = False
    dry_run: bool = False
    workbook: str | None = None
    backfill: int = 0  # fetch up to N earlier months into the ledger's history first
    mail: bool = False


@dataclass(frozen=True)
class RunOptions:
    month: str | None = None
    dry_run: bool = False
    wait: bool = False
    workbook: str | None = None
    mail: bool = False  # a dry run mails HR only when asked


@dataclass(frozen=True)
class ReconcileOptions:
    wait: bool = False
    workbook: str | None = None


@dataclass(frozen=True)
class ScheduleOptions:
    once: bool = False
    workbook: str | None = None


@dataclass(frozen=True)
class SandboxOptions:
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    state: str | None = None
    employees: int | None = None
    seed: int = 1
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    rate_limit: str | None = None
    clock: str | None = None
    close_ended_months: bool = False  # months that ended are closed (else only the state's closedMonths)

"""The ledger's tables (SQLAlchemy Core), dialect-neutral: SQLite by default, PostgreSQL by URL.

``SCHEMA_VERSION`` is stored in ``schema_version``; ``MIGRATIONS[n]`` upgrades a ledger from
version n to n + 1 (store.open_ledger runs them in order, in one transaction).
Text columns are NOT NULL with "" for "no value", except ``employees.department_code``, which is
NULL for "no department" so that it can reference ``departments``.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

SCHEMA_VERSION = 2

metadata = sa.MetaData()


def _text(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.String, nullable=False, server_default="", **kw)


schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
)

departments = sa.Table(
    "departments", metadata,
    sa.Column("code", sa.String, primary_key=True),  # 部署コード
    _text("name"),  # 部署名
)

employees = sa.Table(
    "employees", metadata,
    sa.Column("code", sa.String, primary_key=True),  # 従業員番号 (text, leading zeros kept)
    _text("last_name"),
    _text("first_name"),
    _text("last_name_kana"),
    _text("first_name_kana"),
    _text("business_last_name"),
    _text("business_first_name"),
    sa.Column("department_code", sa.String, sa.ForeignKey("departments.code"), nullable=True, index=True),
    _text("department_name"),
    _text("employee_class"),  # 社員区分
    _text("gender"),  # male | female | ""
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("hired_date", sa.Date, nullable=True),
    sa.Column("resignation_date", sa.Date, nullable=True),
    _text("email"),  # several separated by ';'
    _text("business_last_name_kana"),  # ビジネスネーム(セイ) (schema version 2)
    _text("business_first_name_kana"),  # ビジネスネーム(メイ)
)

attendance_links = sa.Table(
    "attendance_links", metadata,
    sa.Column("employee_code", sa.String, primary_key=True),  # 従業員番号
    sa.Column("employee_key", sa.String, nullable=False, index=True),  # 従業員識別キー (attendance side)
    _text("fingerprint"),  # Employee.fingerprint() when last synced
    _text("synced_at"),  # ISO 8601 (+09:00)
)

# A 所属 / 雇用区分 change given a date on the command line (--effective-date): every later run sends
# that change with that date or not at all (etl/sync/pending.py), until the attendance side shows it.
pending_changes = sa.Table(
    "pending_changes", metadata,
    sa.Column("employee_code", sa.String, primary_key=True),  # 従業員番号
    sa.Column("field", sa.String, primary_key=True),  # divisionCode | typeCode
    sa.Column("value", sa.String, nullable=False),  # the attendance code to send
    sa.Column("effective_date", sa.Date, nullable=False),  # updateDate
    _text("recorded_at"),  # ISO 8601 (+09:00)
)

# the values the sync last had confirmed on the attendance side, per employee (JSON: API field →
# value): reconcile tells from them which side changed a field. A table of its own, so an existing
# ledger gets it from create_all without a migration; ``fingerprint`` ties it to its link.
attendance_synced = sa.Table(
    "attendance_synced", metadata,
    sa.Column("employee_code", sa.String, primary_key=True),
    _text("fingerprint"),  # the link's fingerprint when these values were saved
    sa.Column("field_values", sa.Text, nullable=False, server_default="{}"),  # JSON
    _text("synced_at"),
)

MONTHLY_MINUTES = (
    "late_minutes", "early_leave_minutes", "total_work_minutes", "assigned_minutes",
    "unassigned_minutes", "overtime_minutes", "night_minutes", "holiday_work_minutes",
    "legal_holiday_work_minutes",
)

monthly_attendance = sa.Table(
    "monthly_attendance", metadata,
    sa.Column("employee_code", sa.String, primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),  # YYYY-MM
    sa.Column("period_start", sa.Date, nullable=True),
    sa.Column("period_end", sa.Date, nullable=True),
    sa.Column("working_days", sa.Float, nullable=False, server_default="0"),
    sa.Column("absent_days", sa.Float, nullable=False, server_default="0"),
    sa.Column("paid_leave_days", sa.Float, nullable=False, server_default="0"),
    sa.Column("late_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("early_leave_count", sa.Integer, nullable=False, server_default="0"),
    *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in MONTHLY_MINUTES),
    sa.Column("is_closing", sa.Boolean, nullable=False, server_default=sa.false()),
    _text("imported_at"),  # ISO 8601 (+09:00)
    sa.Index("ix_monthly_attendance_month", "month"),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String, primary_key=True),
    _text("job"),
    _text("status"),  # success | partial | failed
    _text("started_at"),  # ISO 8601 (+09:00): text keeps the offset on every dialect
    _text("finished_at"),
    sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("exit_code", sa.Integer, nullable=False, server_default="0"),
    sa.Column("counts", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Index("ix_runs_started_at", "started_at"),
)

MONTHLY_COLUMNS = tuple(c.name for c in monthly_attendance.columns)

# version n → function(connection) that upgrades it to n + 1
def _business_name_kana(conn: sa.Connection) -> None:
    """1 → 2: the business-name kana columns (pending_changes is created by create_all)."""
    for name in ("business_last_name_kana", "business_first_name_kana"):
        conn.exec_driver_sql(f"ALTER TABLE employees ADD COLUMN {name} VARCHAR NOT NULL DEFAULT ''")


MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _business_name_kana}

"""The ledger store: open (create / check / migrate) and read & write its tables in bulk.

Bulk work uses Core executemany (no ORM objects per row) and one transaction per call, so
50,000 employees upsert in seconds and read in a fraction of one. Engines are cached per URL.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import threading
from pathlib import Path

import sqlalchemy as sa

from etl.errors import UsageError
from etl.fileio import private_dir
from etl.ledger import schema as t
from etl.records import EMPLOYEE_FIELDS, Employee, Link, PendingChange

_ENGINES: dict[str, sa.Engine] = {}
_READY: set[str] = set()
_LOCK = threading.Lock()

_PERIOD_FIELDS = ("period_start", "period_end")


class LedgerSchemaError(UsageError):
    pass


def open_ledger(url: str, busy_timeout_s: float = 30.0) -> Ledger:
    """The ledger at ``url``; creates the SQLite folder and the tables, checks the schema version.
    ``busy_timeout_s``: how long a SQLite statement waits while another program holds the file."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create_engine(url, busy_timeout_s)
        if url not in _READY:
            _prepare(engine, url)
            _READY.add(url)
    return Ledger(engine)


def close_ledger(url: str) -> None:
    """Dispose the cached engine for ``url`` (tests, or before deleting a SQLite file)."""
    with _LOCK:
        engine = _ENGINES.pop(url, None)
        _READY.discard(url)
    if engine is not None:
        engine.dispose()


def _display(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(不正な URL)"


def _create_engine(url: str, busy_timeout_s: float) -> sa.Engine:
    try:
        parsed = sa.make_url(url)
    except Exception:
        raise UsageError("台帳の URL ([ledger] url) を解釈できません。sqlite:///data/ledger.db "
                         "や postgresql+psycopg://user@host/db の形にしてください") from None  # the URL may hold a password
    kw: dict = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            kw.update(poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False})
        else:
            try:
                private_dir(Path(database).parent)
                _create_private(Path(database))
            except OSError as e:
                raise UsageError(f"台帳のフォルダ {Path(database).parent} を作れません ({e.strerror or e})。"
                                 "[ledger] url のパスを確認してください") from None
            kw.update(connect_args={"check_same_thread": False, "timeout": busy_timeout_s})
    try:
        engine = sa.create_engine(parsed, **kw)
    except Exception as e:  # unknown dialect, missing driver
        raise UsageError(f"台帳 {_display(url)} を開けません ({type(e).__name__}: {e})。"
                         "[ledger] url とドライバーを確認してください") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=round(busy_timeout_s * 1000)))
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _create_private(path: Path) -> None:
    """A new SQLite file is created owner-only (it holds personal data); SQLite gives its -wal and
    -shm files the permissions of the database file."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite only begins before DML; BEGIN here makes read-then-write (upserts) one transaction
    conn.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection, _record, *, busy_ms: int) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's recipe: we emit BEGIN ourselves (_sqlite_begin)
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the nightly writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _prepare(engine: sa.Engine, url: str) -> None:
    """Create missing tables, record or check the schema version, run pending migrations."""
    try:
        with engine.begin() as conn:
            t.metadata.create_all(conn)
            found = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar()
            if found is None:
                conn.execute(sa.insert(t.schema_version), {"version": t.SCHEMA_VERSION})
            elif found > t.SCHEMA_VERSION:
                raise LedgerSchemaError(
                    f"台帳 {_display(url)} のスキーマ版 {found} はこのツール (版 {t.SCHEMA_VERSION}) より新しいです。"
                    "kintai-etl を更新してください")
            else:
                for version in range(found, t.SCHEMA_VERSION):
                    t.MIGRATIONS[version](conn)
                if found < t.SCHEMA_VERSION:
                    conn.execute(sa.delete(t.schema_version))
                    conn.execute(sa.insert(t.schema_version), {"version": t.SCHEMA_VERSION})
    except sa.exc.SQLAlchemyError as e:
        raise UsageError(f"台帳 {_display(url)} に接続できません ({db_reason(e)})。[ledger] url と"
                         "データベースの状態を確認してください") from None


def db_reason(e: BaseException) -> str:
    """A database error as one short line: the driver's first line, never the SQL or its parameters
    (they hold personal data)."""
    return str(getattr(e, "orig", None) or type(e).__name__).splitlines()[0][:200]


def _iso(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)


def _as_date(value):
    if value is None or value == "" or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else (value or None)
    return dt.date.fromisoformat(str(value))


def _employee_row(e: Employee) -> dict:
    row = {name: getattr(e, name) for name in EMPLOYEE_FIELDS}
    row["department_code"] = e.department_code or None
    return row


class Ledger:
    """Bulk reads and writes over one engine; every write is one transaction."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    # --- employees ---------------------------------------------------------------------
    def employees(self) -> list[Employee]:
        """Every employee, sorted by code (in Python, so the order is the same on every dialect)."""
        c = t.employees.c
        cols = [sa.func.coalesce(c.department_code, "") if name == "department_code" else c[name]
                for name in EMPLOYEE_FIELDS]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols)).all()
        out = [Employee(*row) for row in rows]
        out.sort(key=lambda e: e.code)
        return out

    def employee_codes(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.employees.c.code)).scalars())

    def upsert_employees(self, employees: list[Employee]) -> tuple[int, int]:
        """Insert new codes, update changed ones (unchanged rows are not touched).

        Returns (inserted, updated). Departments (code → name) are upserted in the same
        transaction; a blank name never overwrites a known one.
        """
        latest: dict[str, Employee] = {e.code: e for e in employees}  # last one wins within a call
        cols = [t.employees.c[name] for name in EMPLOYEE_FIELDS]
        with self.engine.begin() as conn:
            self._upsert_departments(conn, latest.values())
            existing = {row[0]: row for row in conn.execute(sa.select(*cols)).all()}
            inserts, updates = [], []
            for code, e in latest.items():
                row = _employee_row(e)
                old = existing.get(code)
                if old is None:
                    inserts.append(row)
                elif tuple(old) != tuple(row.values()):
                    updates.append(row)
            if inserts:
                conn.execute(sa.insert(t.employees), inserts)
            if updates:
                stmt = (sa.update(t.employees).where(t.employees.c.code == sa.bindparam("b_code"))
                        .values({name: sa.bindparam(name) for name in EMPLOYEE_FIELDS if name != "code"}))
                conn.execute(stmt, [{**{k: v for k, v in r.items() if k != "code"}, "b_code": r["code"]}
                                    for r in updates])
        return len(inserts), len(updates)

    @staticmethod
    def _upsert_departments(conn: sa.Connection, employees) -> None:
        wanted: dict[str, str] = {}
        for e in employees:
            if e.department_code and (e.department_name or e.department_code not in wanted):
                wanted[e.department_code] = e.department_name
        if not wanted:
            return
        known = dict(conn.execute(sa.select(t.departments.c.code, t.departments.c.name)).all())
        new = [{"code": c, "name": n} for c, n in wanted.items() if c not in known]
        changed = [{"b_code": c, "name": n} for c, n in wanted.items() if c in known and n and n != known[c]]
        if new:
            conn.execute(sa.insert(t.departments), new)
        if changed:
            conn.execute(sa.update(t.departments).where(t.departments.c.code == sa.bindparam("b_code"))
                         .values(name=sa.bindparam("name")), changed)

    def departments(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.departments.c.code, t.departments.c.name)).all()
        return dict(sorted(rows))

    def employee_classes(self) -> list[str]:
        c = t.employees.c.employee_class
        with self.engine.connect() as conn:
            return sorted(v for v in conn.execute(sa.select(c).distinct()).scalars() if v)

    # --- attendance links --------------------------------------------------------------
    def links(self) -> dict[str, Link]:
        c = t.attendance_links.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.employee_code, c.employee_key, c.fingerprint, c.synced_at)).all()
        return {row[0]: Link(*row) for row in sorted(rows)}

    def save_links(self, links: list[Link]) -> None:
        """Upsert by code in one transaction. One code per attendance key: a link is saved once the
        attendance side confirmed that its key has its code, so in the same transaction any other
        code's link to that key goes, with that code's values of the last sync (attendance_synced)
        — the old code of a confirmed code change (PUT ``code`` by key) would otherwise still name
        the person for an import, reconcile and the code-change detection."""
        rows = {link.code: {"employee_code": link.code, "employee_key": link.key,
                            "fingerprint": link.fingerprint or "", "synced_at": _iso(link.synced_at)}
                for link in links}
        if not rows:
            return
        table = t.attendance_links
        with self.engine.begin() as conn:
            known = set(conn.execute(sa.select(table.c.employee_code)).scalars())
            new = [r for code, r in rows.items() if code not in known]
            old = [{**r, "b_code": code} for code, r in rows.items() if code in known]
            if new:
                conn.execute(sa.insert(table), new)
            if old:
                conn.execute(sa.update(table).where(table.c.employee_code == sa.bindparam("b_code"))
                             .values(employee_code=sa.bindparam("employee_code"),
                                     employee_key=sa.bindparam("employee_key"),
                                     fingerprint=sa.bindparam("fingerprint"),
                                     synced_at=sa.bindparam("synced_at")), old)
            self._drop_other_codes(conn, rows)

    @staticmethod
    def _drop_other_codes(conn: sa.Connection, rows: dict[str, dict]) -> None:
        """Delete the links of codes not in ``rows`` to keys that ``rows`` links (and their values)."""
        c = t.attendance_links.c
        keys = sorted({r["employee_key"] for r in rows.values() if r["employee_key"]})
        stale: set[str] = set()
        for i in range(0, len(keys), 500):  # bound the IN list
            found = conn.execute(sa.select(c.employee_code).where(c.employee_key.in_(keys[i:i + 500])))
            stale.update(code for code in found.scalars() if code not in rows)
        gone = sorted(stale)
        for i in range(0, len(gone), 500):
            chunk = gone[i:i + 500]
            conn.execute(sa.delete(t.attendance_links).where(c.employee_code.in_(chunk)))
            conn.execute(sa.delete(t.attendance_synced).where(t.attendance_synced.c.employee_code.in_(chunk)))

    # --- pending dated changes (--effective-date) -----------------------------------------
    def pending_changes(self) -> dict[tuple[str, str], PendingChange]:
        """(employee code, field) → the dated change every run must send with its date."""
        c = t.pending_changes.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.employee_code, c.field, c.value, c.effective_date,
                                          c.recorded_at)).all()
        return {(r[0], r[1]): PendingChange(r[0], r[1], r[2], _as_date(r[3]), r[4]) for r in sorted(rows)}

    def update_pending(self, save: list[PendingChange], drop: list[tuple[str, str]]) -> None:
        """Store (replace) ``save`` and delete ``drop`` ((code, field) pairs), in one transaction."""
        if not save and not drop:
            return
        table = t.pending_changes
        c = table.c
        gone = {(p.employee_code, p.field) for p in save} | set(drop)
        with self.engine.begin() as conn:
            for code, name in sorted(gone):
                conn.execute(sa.delete(table).where(c.employee_code == code, c.field == name))
            if save:
                conn.execute(sa.insert(table), [
                    {"employee_code": p.employee_code, "field": p.field, "value": p.value,
                     "effective_date": p.effective_date, "recorded_at": _iso(p.recorded_at)} for p in save])

    # --- the values of the last sync (reconcile) -------------------------------------------
    def synced_values(self) -> dict[str, tuple[str, dict]]:
        """code → (fingerprint, {API field: value}) as the sync last had them confirmed."""
        c = t.attendance_synced.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.employee_code, c.fingerprint, c.field_values)).all()
        return {code: (fp, json.loads(values or "{}")) for code, fp, values in rows}

    def save_synced_values(self, values: dict[str, tuple[str, dict]], synced_at: str) -> None:
        """Replace the stored values of these employees (one transaction)."""
        if not values:
            return
        table = t.attendance_synced
        rows = [{"employee_code": code, "fingerprint": fp, "synced_at": synced_at,
                 "field_values": json.dumps(v, ensure_ascii=False, sort_keys=True)} for code, (fp, v) in values.items()]
        codes = list(values)
        with self.engine.begin() as conn:
            for i in range(0, len(codes), 500):  # bound the IN list
                conn.execute(sa.delete(table).where(table.c.employee_code.in_(codes[i:i + 500])))
            conn.execute(sa.insert(table), rows)

    # --- monthly attendance ------------------------------------------------------------
    def upsert_monthly(self, month: str, records: list[dict]) -> int:
        """Replace ``month``'s rows of the employees in ``records`` (one transaction); returns the count."""
        table = t.monthly_attendance
        rows: dict[str, dict] = {}
        for record in records:
            unknown = set(record) - set(t.MONTHLY_COLUMNS)
            if unknown:
                raise ValueError(f"monthly_attendance has no column {sorted(unknown)}")
            row = {k: v for k, v in record.items() if v is not None}
            row["month"] = month
            for name in _PERIOD_FIELDS:
                if name in row:
                    row[name] = _as_date(row[name])
            if "imported_at" in row:
                row["imported_at"] = _iso(row["imported_at"])
            rows[str(row["employee_code"])] = row
        if not rows:
            return 0
        with self.engine.begin() as conn:
            codes = list(rows)
            for i in range(0, len(codes), 500):
                conn.execute(sa.delete(table).where(table.c.month == month,
                                                    table.c.employee_code.in_(codes[i:i + 500])))
            # executemany needs the same keys in every row: group rows by their key set
            groups: dict[tuple, list[dict]] = {}
            for row in rows.values():
                groups.setdefault(tuple(sorted(row)), []).append(row)
            for group in groups.values():
                conn.execute(sa.insert(table), group)
        return len(rows)

    def monthly(self, month: str) -> list[dict]:
        return self.monthly_history([month])

    def monthly_history(self, months: list[str]) -> list[dict]:
        """Rows of the given months, sorted by (employee_code, month)."""
        if not months:
            return []
        table = t.monthly_attendance
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.month.in_(list(months)))).mappings().all()
        out = [dict(r) for r in rows]
        out.sort(key=lambda r: (r["employee_code"], r["month"]))
        return out

    def monthly_months(self, months: list[str]) -> dict[str, bool]:
        """Which of ``months`` the ledger holds (any import kept it): month → every row closed."""
        if not months:
            return {}
        table = t.monthly_attendance
        closed = sa.func.min(sa.case((table.c.is_closing, 1), else_=0))
        stmt = (sa.select(table.c.month, closed).where(table.c.month.in_(list(months)))
                .group_by(table.c.month))
        with self.engine.connect() as conn:
            return {month: bool(flag) for month, flag in conn.execute(stmt).all()}

    # --- runs ------------------------------------------------------------------------------
    def record_run(self, result) -> None:
        """Store a RunResult's summary (upsert by run_id)."""
        row = {"run_id": result.run_id, "job": result.job, "status": result.status,
               "started_at": _iso(result.started_at), "finished_at": _iso(result.finished_at),
               "dry_run": bool(result.dry_run), "exit_code": int(result.exit_code),
               "counts": json.dumps(result.counts(), ensure_ascii=False, sort_keys=True)}
        table = t.runs
        with self.engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.run_id == row["run_id"]))
            conn.execute(sa.insert(table), row)

    def runs(self, limit: int = 50) -> list[dict]:
        """The latest runs, newest first; ``counts`` parsed back into a dict."""
        table = t.runs
        stmt = sa.select(table).order_by(table.c.started_at.desc(), table.c.run_id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [{**r, "counts": json.loads(r["counts"] or "{}")} for r in rows]

"""The SQL ledger on a real database: SQLite always, PostgreSQL when ETL_TEST_POSTGRES_URL is set."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from etl.clock import JST
from etl.errors import ExitCode, UsageError
from etl.ledger import schema
from etl.ledger.store import close_ledger, open_ledger
from etl.records import Employee, Link, RowResult
from etl.report.result import RunResult


def emp(code: str, **kw) -> Employee:
    base = dict(last_name="山田", first_name="太郎", department_code="010", department_name="営業部",
                employee_class="正社員", gender="male", birth_date=dt.date(1990, 1, 2))
    return Employee(code=code, **{**base, **kw})


def test_new_sqlite_ledger_creates_its_folder_and_tables(tmp_path):
    url = "sqlite:///" + (tmp_path / "nested" / "deeper" / "data" / "ledger.db").as_posix()
    try:
        ledger = open_ledger(url)
        assert (tmp_path / "nested" / "deeper" / "data" / "ledger.db").is_file()
        assert ledger.employees() == []
        names = set(sa.inspect(ledger.engine).get_table_names())
        assert {"schema_version", "departments", "employees", "attendance_links", "monthly_attendance",
                "runs"} <= names
        with ledger.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        close_ledger(url)


def test_schema_version_is_recorded_once(ledger_url):
    open_ledger(ledger_url)
    close_ledger(ledger_url)
    ledger = open_ledger(ledger_url)  # opened again: checked, not re-inserted
    with ledger.engine.connect() as conn:
        assert conn.execute(sa.select(schema.schema_version.c.version)).scalars().all() == [schema.SCHEMA_VERSION]


def test_a_newer_schema_is_refused_with_a_plain_message(ledger_url):
    ledger = open_ledger(ledger_url)
    with ledger.engine.begin() as conn:
        conn.execute(sa.update(schema.schema_version).values(version=schema.SCHEMA_VERSION + 1))
    close_ledger(ledger_url)
    with pytest.raises(UsageError, match="新しいです") as err:
        open_ledger(ledger_url)
    assert err.value.exit_code == ExitCode.USAGE
    close_ledger(ledger_url)


def test_unknown_dialect_is_a_usage_error_that_hides_the_password():
    with pytest.raises(UsageError) as err:
        open_ledger("nosuchdb://user:s3cret@host/db")
    assert "s3cret" not in str(err.value)


def test_upsert_inserts_updates_and_leaves_unchanged_rows_alone(ledger_url):
    ledger = open_ledger(ledger_url)
    assert ledger.upsert_employees([emp("002"), emp("001", gender="female"), emp("010")]) == (3, 0)
    assert [e.code for e in ledger.employees()] == ["001", "002", "010"]
    changed = [emp("001", gender="female"), emp("002", last_name="鈴木"), emp("003", department_code="")]
    assert ledger.upsert_employees(changed) == (1, 1)
    by_code = {e.code: e for e in ledger.employees()}
    assert by_code["002"].last_name == "鈴木"
    assert by_code["003"].department_code == "" and by_code["003"].department_name == "営業部"
    assert by_code["001"] == emp("001", gender="female")
    assert ledger.employee_codes() == {"001", "002", "003", "010"}


def test_every_field_survives_a_round_trip(ledger_url):
    ledger = open_ledger(ledger_url)
    full = Employee(code="00012", last_name="髙橋", first_name="①子", last_name_kana="タカハシ",
                    first_name_kana="イチコ", business_last_name="高橋", business_first_name="一子",
                    department_code="007", department_name="開発部", employee_class="契約社員", gender="female",
                    birth_date=dt.date(1970, 1, 1), hired_date=dt.date(2001, 4, 1),
                    resignation_date=dt.date(2026, 3, 31), email="a@example.co.jp;b@example.co.jp",
                    business_last_name_kana="タカハシ", business_first_name_kana="イチコ")
    ledger.upsert_employees([full, Employee(code="013")])
    assert ledger.employees() == [full, Employee(code="013")]


def test_departments_are_upserted_and_a_blank_name_never_overwrites(ledger_url):
    ledger = open_ledger(ledger_url)
    ledger.upsert_employees([emp("001", department_code="010", department_name="営業部"),
                             emp("002", department_code="020", department_name="")])
    assert ledger.departments() == {"010": "営業部", "020": ""}
    ledger.upsert_employees([emp("003", department_code="010", department_name=""),
                             emp("004", department_code="020", department_name="開発部")])
    assert ledger.departments() == {"010": "営業部", "020": "開発部"}


def test_employee_classes_are_distinct_and_sorted(ledger_url):
    ledger = open_ledger(ledger_url)
    ledger.upsert_employees([emp("1", employee_class="正社員"), emp("2", employee_class="パート"),
                             emp("3", employee_class="正社員"), emp("4", employee_class="")])
    assert ledger.employee_classes() == sorted(["パート", "正社員"])


def test_links_upsert_by_code(ledger_url):
    ledger = open_ledger(ledger_url)
    at = dt.datetime(2026, 11, 26, 2, 0, tzinfo=JST)
    ledger.save_links([Link("001", "k1", "fp1", at), Link("002", "k2")])
    ledger.save_links([Link("001", "k1", "fp2", "2026-11-27T02:00:00+09:00")])
    assert ledger.links() == {
        "001": Link("001", "k1", "fp2", "2026-11-27T02:00:00+09:00"),
        "002": Link("002", "k2", "", ""),
    }
    ledger.save_links([])


def test_a_link_saved_for_a_key_drops_other_codes_links_to_it(ledger_url):
    """One code per attendance key: after a confirmed code change (E02 → N02, key k2) the old code's
    link and its values of the last sync go in the same save; links to other keys stay."""
    ledger = open_ledger(ledger_url)
    ledger.save_links([Link("E02", "k2", "fp"), Link("E03", "k3", "fp"), Link("E04", "k4", "fp")])
    ledger.save_synced_values({"E02": ("fp", {"code": "E02"}), "E03": ("fp", {"code": "E03"})}, "2026-11-26")
    ledger.save_links([Link("N02", "k2", "fp2"), Link("E03", "k3", "fp2")])
    assert {c: link.key for c, link in ledger.links().items()} == {"E03": "k3", "E04": "k4", "N02": "k2"}
    assert set(ledger.synced_values()) == {"E03"}


def monthly_row(code: str, **kw) -> dict:
    row = dict(employee_code=code, period_start=dt.date(2026, 10, 1), period_end="2026-10-31",
               working_days=20, absent_days=0, paid_leave_days=1.5, late_count=1, late_minutes=12,
               early_leave_count=0, early_leave_minutes=0, total_work_minutes=9600, assigned_minutes=9600,
               unassigned_minutes=0, overtime_minutes=600, night_minutes=0, holiday_work_minutes=0,
               legal_holiday_work_minutes=0, is_closing=True,
               imported_at=dt.datetime(2026, 11, 5, 2, 0, tzinfo=JST))
    return {**row, **kw}


def test_monthly_rows_replace_the_month_for_those_employees(ledger_url):
    ledger = open_ledger(ledger_url)
    assert ledger.upsert_monthly("2026-10", [monthly_row("001"), monthly_row("002")]) == 2
    assert ledger.upsert_monthly("2026-09", [monthly_row("001", overtime_minutes=30)]) == 1
    assert ledger.upsert_monthly("2026-10", [monthly_row("002", overtime_minutes=900, is_closing=False)]) == 1
    october = ledger.monthly("2026-10")
    assert [(r["employee_code"], r["overtime_minutes"], r["is_closing"]) for r in october] == [
        ("001", 600, True), ("002", 900, False)]
    first = october[0]
    assert first["month"] == "2026-10"
    assert first["period_start"] == dt.date(2026, 10, 1) and first["period_end"] == dt.date(2026, 10, 31)
    assert first["paid_leave_days"] == 1.5
    assert first["imported_at"] == "2026-11-05T02:00:00+09:00"
    history = ledger.monthly_history(["2026-09", "2026-10"])
    assert [(r["employee_code"], r["month"]) for r in history] == [
        ("001", "2026-09"), ("001", "2026-10"), ("002", "2026-10")]
    assert ledger.monthly_history([]) == []
    with pytest.raises(ValueError):
        ledger.upsert_monthly("2026-10", [monthly_row("003", no_such_column=1)])


def test_runs_are_recorded_newest_first(ledger_url):
    ledger = open_ledger(ledger_url)
    for hour in (1, 3, 2):
        result = RunResult(job="run", started_at=dt.datetime(2026, 11, 26, hour, tzinfo=JST), dry_run=hour == 2)
        result.rows.append(RowResult("001", "create", "ok"))
        result.finished_at = result.started_at + dt.timedelta(minutes=5)
        ledger.record_run(result)
    ledger.record_run(result)  # the same run twice is one row
    runs = ledger.runs()
    assert [r["run_id"] for r in runs] == ["20261126-030000-run", "20261126-020000-run", "20261126-010000-run"]
    assert runs[1]["dry_run"] is True and runs[1]["status"] == "success"
    assert runs[1]["counts"]["created"] == 1
    assert runs[1]["started_at"] == "2026-11-26T02:00:00+09:00"
    assert len(ledger.runs(limit=1)) == 1


def test_bulk_upsert_and_read_of_many_employees(ledger_url):
    ledger = open_ledger(ledger_url)
    many = [emp(f"{i:06d}", department_code=f"{i % 40:03d}", department_name=f"部署{i % 40}") for i in range(5000)]
    assert ledger.upsert_employees(many) == (5000, 0)
    changed = [dataclasses.replace(e, first_name="次郎") if i % 2 else e for i, e in enumerate(many)]
    assert ledger.upsert_employees(changed) == (0, 2500)
    assert ledger.employees() == changed
    assert len(ledger.departments()) == 40


def test_a_failing_upsert_writes_nothing(ledger_url):
    ledger = open_ledger(ledger_url)
    broken = dataclasses.replace(emp("002", department_code="099", department_name="新部署"), birth_date="not a date")
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error; what matters is the rollback
        ledger.upsert_employees([emp("001"), broken])
    assert ledger.employees() == []
    assert ledger.departments() == {}


def test_a_version_1_ledger_gains_the_business_name_kana_columns_and_the_pending_table(tmp_path):
    url = f"sqlite:///{(tmp_path / 'v1.db').as_posix()}"
    ledger = open_ledger(url)
    ledger.upsert_employees([Employee("00012", "山田", "太郎")])
    with ledger.engine.begin() as conn:  # back to what version 1 had
        conn.exec_driver_sql("ALTER TABLE employees DROP COLUMN business_last_name_kana")
        conn.exec_driver_sql("ALTER TABLE employees DROP COLUMN business_first_name_kana")
        conn.exec_driver_sql("DROP TABLE pending_changes")
        conn.exec_driver_sql("UPDATE schema_version SET version = 1")
    close_ledger(url)
    ledger = open_ledger(url)
    (e,) = ledger.employees()
    assert (e.code, e.business_last_name_kana, e.business_first_name_kana) == ("00012", "", "")
    with ledger.engine.connect() as conn:
        assert conn.execute(sa.select(schema.schema_version.c.version)).scalars().all() == [2]
    ledger.upsert_employees([dataclasses.replace(e, business_last_name_kana="スズキ")])
    assert ledger.employees()[0].business_last_name_kana == "スズキ"
    close_ledger(url)


def test_pending_changes_are_stored_replaced_and_dropped(ledger_url):
    from etl.records import PendingChange
    ledger = open_ledger(ledger_url)
    day = dt.date(2027, 1, 1)
    ledger.update_pending([PendingChange("00012", "divisionCode", "1100", day, "2026-11-26"),
                           PendingChange("00012", "typeCode", "2", day)], [])
    ledger.update_pending([PendingChange("00012", "divisionCode", "1200", dt.date(2027, 2, 1))], [])
    pending = ledger.pending_changes()
    assert {k: (p.value, p.effective_date) for k, p in pending.items()} == {
        ("00012", "divisionCode"): ("1200", dt.date(2027, 2, 1)), ("00012", "typeCode"): ("2", day)}
    ledger.update_pending([], [("00012", "typeCode")])
    assert list(ledger.pending_changes()) == [("00012", "divisionCode")]

"""Sync, pull and attendance import on every ledger backend: SQLite always, and a real
PostgreSQL too when ETL_TEST_POSTGRES_URL is set (CI starts one: .ci/postgres.sh)."""
from __future__ import annotations

import sqlalchemy as sa
from support.sync import Harness, empty_company, ledger_employees

N = 15


def test_sync_pull_and_import_round_trip(tmp_path, make_sandbox, ledger_url):
    sandbox = make_sandbox(state=empty_company())
    h = Harness(tmp_path, sandbox, ledger_url=ledger_url)
    try:
        h.load(ledger_employees(N))
        first = h.sync()
        assert first.code == 0, first.err
        assert first.counts["created"] == N
        links = h.ledger.links()
        assert len(links) == N and all(link.key for link in links.values())
        again = h.sync()
        assert again.code == 0 and again.counts["created"] == 0 and again.counts["updated"] == 0
        # an employee registered only on the attendance side comes back into the ledger
        sandbox.state.add({"code": "K0001", "lastName": "勤怠", "firstName": "花子", "gender": "female",
                           "divisionCode": "1100", "typeCode": "1", "hiredDate": "2024-04-01"})
        pulled = h.pull()
        assert pulled.code == 0, pulled.err
        assert "K0001" in h.ledger.employee_codes()
        # a month imported into the ledger twice stays one row per employee and month
        for _ in range(2):
            imported = h.run("import-attendance", "--month", "2026-10", "--to", "ledger")
            assert imported.code == 0, imported.err
        rows = h.ledger.monthly("2026-10")
        assert len(rows) == len({r["employee_code"] for r in rows}) == N + 1
        engine = h.ledger.engine
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT COUNT(*) FROM monthly_attendance WHERE month = '2026-10'")).scalar()
        assert count == N + 1
    finally:
        h.close()

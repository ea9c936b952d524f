"""Ledger fixtures, imported by the ledger tests (``from ledger_fixtures import ledger_url``).

``ledger_url`` yields a fresh SQLite URL in tmp_path, and — only when ETL_TEST_POSTGRES_URL is
set (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) — also a PostgreSQL URL
whose search_path is a fresh schema, dropped after the test. Without the variable the tests
simply run on SQLite (no skips).
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from etl.ledger.store import close_ledger

POSTGRES_ENV = "ETL_TEST_POSTGRES_URL"


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(POSTGRES_ENV, "").strip():
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


def sqlite_url(tmp_path) -> str:
    return "sqlite:///" + (tmp_path / "data" / "ledger.db").as_posix()


@pytest.fixture(params=_backends())
def ledger_url(request, tmp_path):
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        yield url
        close_ledger(url)
        return
    base = sa.make_url(os.environ[POSTGRES_ENV].strip())
    schema = f"etl_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        close_ledger(url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

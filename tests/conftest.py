"""Shared fixtures: a real sandbox server on a loopback port, a client to it, an etl.toml.

* ``sandbox`` — a started Sandbox (20 generated employees, seed 1) whose clock is a ManualClock
  at ``NOW``; stopped after the test.
* ``make_sandbox(state=None, **kwargs)`` — the same, with any ``Sandbox`` keyword argument
  (``fault_rate``, ``rate_limit``, ``clock``…); a state is generated when none is given
  (``employees=N`` picks its size). Every sandbox is stopped at teardown.
* ``kot_client`` — a KotClient to ``sandbox`` sharing its ManualClock (so backoff and rate
  limiting advance the sandbox's time too, and nothing sleeps for real).
* ``make_config(tmp_path, sandbox, **overrides) -> Path`` — writes tmp_path/etl.toml pointing at
  the sandbox and a SQLite ledger in tmp_path; overrides are sections (``attendance_api={...}``)
  or single keys (``max_retries=0``). Also importable: ``from conftest import make_config``.
* ``cli_env(sandbox, now=NOW)`` — the env for ``etl.cli.main([...], env=...)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl.clock import ManualClock
from etl.config import SPEC
from etl.kot.client import KotClient
from etl.sandbox.server import Sandbox, generate_state

# ledger_url: SQLite, and PostgreSQL when ETL_TEST_POSTGRES_URL is set; smtp: a real SMTP server on loopback;
# chrome: a headless Chromium (pages measured at phone width)
pytest_plugins = ["support.ledger_fixtures", "support.mail", "support.browser"]

NOW = "2026-11-26T12:00:00+09:00"


@pytest.fixture
def make_sandbox():
    started: list[Sandbox] = []

    def factory(state=None, *, employees: int = 20, **kwargs: Any) -> Sandbox:
        kwargs.setdefault("clock", ManualClock(NOW))
        if state is None:
            state = generate_state(employees, kwargs.get("seed", 1), kwargs["clock"].today())
        sandbox = Sandbox(state, **kwargs).start()
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    return make_sandbox()


def client_for_sandbox(sandbox: Sandbox, **kwargs: Any) -> KotClient:
    """A client to ``sandbox`` on the sandbox's own clock (kwargs go to KotClient)."""
    kwargs.setdefault("clock", sandbox.clock)
    return KotClient(sandbox.url, sandbox.token, **kwargs)


@pytest.fixture
def kot_client(sandbox):
    client = client_for_sandbox(sandbox)
    yield client
    client.close()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def make_config(tmp_path: Path, sandbox: Sandbox | None = None, **overrides: Any) -> Path:
    """Write ``tmp_path/etl.toml`` for a test; returns its path."""
    tmp_path = Path(tmp_path)
    sections: dict[str, dict[str, Any]] = {
        "attendance_api": {"base_url": sandbox.url if sandbox else "http://127.0.0.1:9/v1.0"},
        "ledger": {"url": f"sqlite:///{(tmp_path / 'ledger.db').as_posix()}"},
        "paths": {"workbook": (tmp_path / "mapping.xlsx").as_posix(), "reports": (tmp_path / "reports").as_posix(),
                  "output": (tmp_path / "output").as_posix(), "logs": (tmp_path / "logs").as_posix()},
    }
    for name, value in overrides.items():
        if isinstance(value, dict):
            sections.setdefault(name, {}).update(value)
            continue
        section = next((s for s in ("attendance_api", *SPEC) if name in SPEC[s]), None)
        if section is None:
            raise KeyError(f"make_config: no setting named {name!r}")
        sections.setdefault(section, {})[name] = value
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml(v)}" for k, v in values.items())
        lines.append("")
    path = tmp_path / "etl.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(name="make_config")
def _make_config_fixture():
    return make_config


def cli_env(sandbox: Sandbox | None = None, now: str = NOW, **extra: str) -> dict[str, str]:
    env = {"ETL_NOW": now, "KOT_TOKEN": sandbox.token if sandbox else "test-token"}
    env.update(extra)
    return env

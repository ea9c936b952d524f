"""The exception tree, exit codes and the problem catalogue."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from etl.errors import (
    CATALOGUE,
    ApiUnreachableError,
    AuthError,
    ConfigError,
    ExitCode,
    InputError,
    IpNotAllowedError,
    LedgerFileError,
    Problem,
    RestrictedHoursError,
    WorkbookError,
)


@pytest.mark.parametrize("exc, code", [
    (ConfigError(["x"]), ExitCode.USAGE),
    (WorkbookError("broken"), ExitCode.INVALID_INPUT),
    (LedgerFileError("broken"), ExitCode.INVALID_INPUT),
    (AuthError("no"), ExitCode.API_UNAVAILABLE),
    (IpNotAllowedError("no"), ExitCode.API_UNAVAILABLE),
    (ApiUnreachableError("no"), ExitCode.API_UNAVAILABLE),
    (RestrictedHoursError(None), ExitCode.RESTRICTED_HOURS),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_each_family_has_its_exit_code(exc, code):
    assert exc.exit_code == code


def test_exit_codes_match_design():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 5, 130]  # 130: Ctrl+C (issue 16)


def test_restricted_hours_message_names_the_reopening_time():
    e = RestrictedHoursError(dt.datetime(2026, 11, 26, 10, 0))
    assert "10:00 (JST) 以降に再実行" in str(e)


def test_problem_from_catalogue_formats_its_message():
    p = Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value="999",
                   hint="もしかして「990」ですか？")
    assert (p.severity, p.code, p.sheet, p.cell) == ("error", "unknown-division", "所属マッピング", "C5")
    assert p.message == "勤怠所属コード「999」は勤怠の所属マスタにありません。もしかして「990」ですか？"
    assert p.line().startswith("所属マッピング!C5: ")


def test_catalogue_codes_are_kebab_case_and_messages_format():
    for code, entry in CATALOGUE.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code), code
        assert entry.severity in ("error", "warning")
        Problem.of(code, value="v")  # every template formats with missing names left blank


def test_input_error_keeps_problems():
    p = Problem.of("ledger-empty", path="x.csv")
    assert InputError("x", [p]).problems == [p]

"""Configuration: file + ETL_* env + flags → frozen Settings; every problem at once."""
from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from etl.cli import main
from etl.config import Secret, load_settings, mask, render_default_toml
from etl.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "etl.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_a_file(tmp_path):
    s = load_settings(env={}, cwd=tmp_path)
    assert s.attendance_api.base_url == "https://api.kingtime.jp/v1.0"
    assert s.attendance_api.max_requests == 500 and s.attendance_api.per_seconds == 300
    assert s.ledger_url == f"sqlite:///{(tmp_path / 'data' / 'ledger.db').as_posix()}"
    assert str(s.restricted_hours) == "08:30-10:00, 17:30-18:30"


def test_every_problem_is_reported_at_once_with_its_path(tmp_path):
    cfg = write(tmp_path, '[attendance_api]\ntimeout_s = "slow"\ncolour = 1\n[mail]\nport = 0\n[extra]\na = 1\n')
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, env={}, cwd=tmp_path)
    assert e.value.lines == [
        "etl.toml [attendance_api] timeout_s: 整数 または 数値 で指定してください (値: 'slow')",
        "etl.toml [attendance_api] colour: 不明な設定です (使えるのは base_url, token_env, timeout_s, max_requests, "
        "per_seconds, concurrency, max_retries, retry_budget_s, restricted_hours, proxy, verify_tls, split_by_division)",
        "etl.toml [extra]: 不明なセクションです (使えるのは attendance_api, ledger, paths, mail, attendance)",
        "etl.toml [mail] port: 0 より大きい値にしてください",
    ]


def test_bad_restricted_hours_and_etl_now(tmp_path):
    cfg = write(tmp_path, '[attendance_api]\nrestricted_hours = ["10:00-08:30"]\n')
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, env={"ETL_NOW": "yesterday"}, cwd=tmp_path)
    assert any("restricted_hours" in line and "開始が終了より後" in line for line in e.value.lines)
    assert any(line.startswith("環境変数 ETL_NOW:") for line in e.value.lines)


def test_precedence_flag_over_env_over_file(tmp_path):
    cfg = write(tmp_path, "[attendance_api]\nconcurrency = 2\ntimeout_s = 5\nmax_retries = 1\n")
    s = load_settings(cfg, env={"ETL_ATTENDANCE_API_CONCURRENCY": "3", "ETL_ATTENDANCE_API_TIMEOUT_S": "7"},
                      overrides={"attendance_api": {"concurrency": 8}}, cwd=tmp_path)
    assert s.attendance_api.concurrency == 8  # flag
    assert s.attendance_api.timeout_s == 7  # env over file
    assert s.attendance_api.max_retries == 1  # file over default


def test_env_value_of_the_wrong_type(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_settings(env={"ETL_ATTENDANCE_API_CONCURRENCY": "many"}, cwd=tmp_path)
    assert e.value.lines == ["環境変数 ETL_ATTENDANCE_API_CONCURRENCY: 整数 で指定してください"]


def test_token_comes_from_the_named_variable_and_never_shows(tmp_path):
    cfg = write(tmp_path, '[attendance_api]\ntoken_env = "MY_KOT"\n')
    s = load_settings(cfg, env={"MY_KOT": "s3cr3t-token", "KOT_TOKEN": "other"}, cwd=tmp_path)
    assert s.require_token() == "s3cr3t-token"
    assert "s3cr3t" not in repr(s) and "s3cr3t" not in str(s.token)
    assert mask("GET /tokens/s3cr3t-token/available", s.token) == "GET /tokens/***/available"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.ledger = None  # type: ignore[misc]


def test_missing_token_variable_names_the_variable(tmp_path):
    s = load_settings(env={}, cwd=tmp_path)
    with pytest.raises(ConfigError) as e:
        s.require_token()
    assert e.value.lines == [
        "環境変数 KOT_TOKEN にアクセストークンが設定されていません。"
        "KING OF TIME の管理画面で発行したトークンを KOT_TOKEN に設定してください"
    ]


def test_relative_paths_follow_the_config_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    cfg = write(sub, '[paths]\nreports = "out/reports"\n[ledger]\nurl = "sqlite:///db/l.db"\n')
    s = load_settings(cfg, env={}, cwd=tmp_path)
    assert s.path("reports") == sub / "out" / "reports"
    assert s.ledger_url == f"sqlite:///{(sub / 'db' / 'l.db').as_posix()}"


def test_default_toml_lists_every_setting_with_its_default():
    data = tomllib.loads(render_default_toml())
    from etl.config import SPEC
    assert {s: set(v) for s, v in data.items()} == {s: set(v) for s, v in SPEC.items()}
    assert data["attendance_api"]["token_env"] == "KOT_TOKEN"


def test_secret_repr_is_masked():
    assert repr(Secret("abc")) == "Secret('***')" and not Secret("")


def test_config_error_through_main_is_one_line_exit_2(tmp_path, capsys):
    write(tmp_path, "[attendance_api]\ncolour = 1\n")
    import io
    err = io.StringIO()
    rc = main(["--config", str(tmp_path / "etl.toml"), "validate"], env={}, stderr=err, stdout=io.StringIO())
    assert rc == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "[attendance_api] colour: 不明な設定です" in lines[0]
    assert "Traceback" not in err.getvalue()


def test_broken_toml_is_reported(tmp_path):
    cfg = write(tmp_path, "[attendance_api\n")
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, env={}, cwd=tmp_path)
    assert "TOML の書式エラー" in e.value.lines[0]


def test_init_writes_a_config_that_loads(tmp_path):
    import io
    out = io.StringIO()
    assert main(["init", str(tmp_path / "proj")], env={}, stdout=out, stderr=io.StringIO()) == 0
    s = load_settings(tmp_path / "proj" / "etl.toml", env={}, cwd=tmp_path)
    assert s.attendance_api.concurrency == 4
    assert (tmp_path / "proj" / "data" / "mapping.xlsx").is_file()  # the workbook HR edits
    assert not (tmp_path / "proj" / "templates").exists()  # never the tracked template
    # a second init refuses to overwrite
    err = io.StringIO()
    assert main(["init", str(tmp_path / "proj")], env={}, stdout=io.StringIO(), stderr=err) == 2
    assert "--force" in err.getvalue()


def test_a_mail_password_never_goes_in_clear_text(tmp_path):
    cfg = write(tmp_path, '[mail]\nhost = "smtp.example.co.jp"\nusername = "etl"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, env={}, cwd=tmp_path)
    assert "starttls = true" in e.value.lines[0]
    ok = write(tmp_path, '[mail]\nhost = "smtp.example.co.jp"\nusername = "etl"\nstarttls = true\nport = 587\n')
    assert load_settings(ok, env={}, cwd=tmp_path).mail.starttls is True


def test_init_makes_owner_only_folders(tmp_path):
    import io
    import os
    import stat
    assert main(["init", str(tmp_path / "p")], env={}, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    if os.name == "posix":
        for folder in ("data", "reports", "output", "logs"):
            assert stat.S_IMODE((tmp_path / "p" / folder).stat().st_mode) == 0o700, folder
    else:  # Windows: the folders exist; access follows the parent's ACL
        assert all((tmp_path / "p" / f).is_dir() for f in ("data", "reports", "output", "logs"))


# --- issue 16: hostile configuration --------------------------------------------------------

PASTED = ["9f86d081884c7d659a2feaa0c55ad015", "kot-3f9a-77ab-e1d0", "Tr0ub4dor&3", "abc def", "1KOT_TOKEN",
          "A" * 65, "eyJhbGciOiJIUzI1NiJ9xyz0123", ""]


@pytest.mark.parametrize("value", PASTED, ids=[f"pasted-{i}" for i in range(len(PASTED))])
@pytest.mark.parametrize("where", ["file", "env"])
def test_a_secret_pasted_as_token_env_is_refused_and_never_echoed(tmp_path, value, where):
    import io
    if where == "file":
        write(tmp_path, f'[attendance_api]\ntoken_env = "{value}"\n')
        env = {value: "x"} if value else {}
    else:
        write(tmp_path, "")
        env = {"ETL_ATTENDANCE_API_TOKEN_ENV": value}
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path / "etl.toml", env=env)
    assert "token_env" in str(e.value) and "表示しません" in str(e.value)
    assert not value or value not in str(e.value)
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(tmp_path / "etl.toml"), "validate"], env=env, stdout=out, stderr=err)
    assert code == 2 and len(err.getvalue().splitlines()) == 1
    assert not value or value not in out.getvalue() + err.getvalue()
    for path in tmp_path.rglob("*"):  # no report, log or copy holds it (only the file it was pasted in)
        assert not value or not path.is_file() or path.name == "etl.toml" or value.encode() not in path.read_bytes()


@pytest.mark.parametrize("name", ["KOT_TOKEN", "kot_token", "_X", "MY_COMPANY_KOT_TOKEN_2026", "KOTTOKEN"])
def test_plausible_variable_names_are_taken(tmp_path, name):
    s = load_settings(env={"ETL_ATTENDANCE_API_TOKEN_ENV": name, name: "t0ken"}, cwd=tmp_path)
    assert s.token.reveal() == "t0ken"


@pytest.mark.parametrize("text", ["timeout_s = inf", "timeout_s = nan", "timeout_s = -inf", "timeout_s = 1e300",
                                  "per_seconds = inf", "retry_budget_s = inf", "max_retries = -1"])
def test_numbers_that_are_not_usable_seconds_are_config_errors(tmp_path, text):
    write(tmp_path, f"[attendance_api]\n{text}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(env={}, cwd=tmp_path)
    assert f"[attendance_api] {text.split()[0]}" in str(e.value)


@pytest.mark.parametrize("text", ["busy_timeout_s = inf", "busy_timeout_s = 0", "busy_timeout_s = 86400"])
def test_ledger_busy_timeout_must_be_usable_seconds(tmp_path, text):
    write(tmp_path, f"[ledger]\n{text}\n")
    with pytest.raises(ConfigError, match=r"\[ledger\] busy_timeout_s"):
        load_settings(env={}, cwd=tmp_path)


def test_ledger_busy_timeout_defaults_to_thirty_seconds(tmp_path):
    assert load_settings(env={}, cwd=tmp_path).ledger.busy_timeout_s == 30


@pytest.mark.parametrize("value", ["inf", "nan", "1e999"])
def test_timeout_inf_from_the_environment_is_a_config_error(tmp_path, value):
    with pytest.raises(ConfigError, match="timeout_s"):
        load_settings(env={"ETL_ATTENDANCE_API_TIMEOUT_S": value}, cwd=tmp_path)


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59+09:00", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+09:00",
                                 "1899-01-01", "2200-01-01T00:00:00+09:00", "9999-12-31"])
def test_etl_now_out_of_range_is_one_line_exit_2(tmp_path, now):
    with pytest.raises(ConfigError, match="ETL_NOW") as e:
        load_settings(env={"ETL_NOW": now}, cwd=tmp_path)
    assert "\n" not in str(e.value)
    import io
    write(tmp_path, "")
    errs = io.StringIO()
    code = main(["--config", str(tmp_path / "etl.toml"), "validate"], env={"ETL_NOW": now}, stderr=errs,
                stdout=io.StringIO())
    err = errs.getvalue()
    assert code == 2 and len(err.splitlines()) == 1 and "ETL_NOW" in err and "内部エラー" not in err


@pytest.mark.parametrize("host", ["smtp.example.co.jp\\r\\nRCPT TO:<x@evil.example>", "smtp.example.co.jp\\n",
                                  " smtp.example.co.jp", "smtp example.co.jp", "smtp.example.co.jp\\t",
                                  "smtp.example.co.jp\\u3000", "smtp\\u0000.example.co.jp"])
def test_a_mail_host_with_a_line_break_or_space_is_one_config_error_line_exit_2(tmp_path, host):
    cfg = write(tmp_path, f'[mail]\nhost = "{host}"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, env={}, cwd=tmp_path)
    assert len(e.value.lines) == 1 and e.value.lines[0].startswith("etl.toml [mail] host: ")
    assert "空白・改行・制御文字" in e.value.lines[0]
    import io
    errs = io.StringIO()
    code = main(["--config", str(cfg), "validate"], env={}, stderr=errs, stdout=io.StringIO())
    assert code == 2 and len(errs.getvalue().splitlines()) == 1 and "[mail] host" in errs.getvalue()


def test_a_mail_host_from_the_environment_is_checked_too(tmp_path):
    with pytest.raises(ConfigError, match=r"\[mail\] host"):
        load_settings(env={"ETL_MAIL_HOST": "smtp.example.co.jp\r\n"}, cwd=tmp_path)
    for host in ("", "smtp.example.co.jp", "127.0.0.1", "::1"):
        assert load_settings(env={"ETL_MAIL_HOST": host}, cwd=tmp_path).mail.host == host

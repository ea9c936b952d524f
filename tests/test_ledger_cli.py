"""`ledger load` / `ledger export` end to end through etl.cli.main in a temporary folder."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.cli import main
from etl.ledger.store import open_ledger
from etl.records import Employee

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
NOW = "2026-11-26T12:00:00+09:00"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def report(self) -> Path:
        last = self.out.strip().splitlines()[-1]
        assert last.startswith("report: ")
        return Path(last[len("report: "):])

    def result(self) -> dict:
        return json.loads((self.report.parent / "result.json").read_text(encoding="utf-8"))


@pytest.fixture
def cli(tmp_path, ledger_url, monkeypatch):
    reports = (tmp_path / "reports").as_posix()
    (tmp_path / "etl.toml").write_text(f'[ledger]\nurl = "{ledger_url}"\n\n[paths]\nreports = "{reports}"\n',
                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), env={"ETL_NOW": NOW}, stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    run.ledger = lambda: open_ledger(ledger_url)
    run.copy = lambda name, as_name=None: shutil.copy(FIXTURES / name, tmp_path / (as_name or name))
    return run


def test_load_happy_path(cli):
    cli.copy("happy_utf8.csv")
    run = cli("ledger", "load", "happy_utf8.csv")
    assert run.code == 0, run.err
    assert run.err == ""
    assert "追加 3 件・更新 0 件・変更なし 0 件" in run.out
    result = run.result()
    assert (result["job"], result["status"], result["counts"]["created"]) == ("ledger-load", "success", 3)
    ledger = cli.ledger()
    assert [e.code for e in ledger.employees()] == ["00012", "00013", "A0100"]
    assert ledger.departments() == {"010": "営業部", "020": "開発部"}


def test_reload_reports_updates_with_their_changes(cli, tmp_path):
    cli.copy("happy_utf8.csv")
    assert cli("ledger", "load", "happy_utf8.csv").code == 0
    again = cli("ledger", "load", "happy_utf8.csv")
    assert "追加 0 件・更新 0 件・変更なし 3 件" in again.out
    text = (tmp_path / "happy_utf8.csv").read_text(encoding="utf-8").replace("契約社員,女性", "正社員,女性")
    (tmp_path / "changed.csv").write_text(text, encoding="utf-8")
    run = cli("ledger", "load", "changed.csv")
    assert "追加 0 件・更新 1 件・変更なし 2 件" in run.out
    (row,) = [r for r in run.result()["rows"] if r["action"] == "update"]
    assert row == {"employee_code": "00013", "action": "update", "result": "ok",
                   "changes": {"employee_class": ["契約社員", "正社員"]}, "message": ""}
    # the report in HR's words: the ledger's column name and the employee's name, never employee_class
    html = run.report.read_text(encoding="utf-8")
    assert '<span class="field">社員区分</span><del>契約社員</del> → <ins>正社員</ins>' in html
    assert '<b class="who">00013</b> 鈴木 花子' in html and "employee_class" not in html
    assert "<h2>台帳の変更の結果</h2>" in html and "同期の結果" not in html


def test_columns_missing_from_the_file_keep_their_ledger_values(cli, tmp_path):
    cli.copy("happy_utf8.csv")
    cli("ledger", "load", "happy_utf8.csv")
    (tmp_path / "names.csv").write_text("従業員番号,姓,名,部署コード\n00012,山田,太朗,020\n", encoding="utf-8")
    assert cli("ledger", "load", "names.csv").code == 0
    e = {e.code: e for e in cli.ledger().employees()}["00012"]
    assert (e.first_name, e.department_code, e.department_name) == ("太朗", "020", "開発部")
    assert (e.last_name_kana, e.birth_date, e.email) == ("ヤマダ", dt.date(1985, 4, 1), "taro.yamada@example.co.jp")


@pytest.mark.parametrize("name", ["impossible_date.csv", "duplicate_code.csv", "missing_required_header.csv",
                                  "many_bad_rows.csv", "bad_cells.xlsx", "neither_utf8_nor_cp932.csv"])
def test_a_bad_file_exits_3_and_leaves_the_ledger_unchanged(cli, name):
    cli.copy("happy_utf8.csv")
    cli("ledger", "load", "happy_utf8.csv")
    before = cli.ledger().employees()
    cli.copy(name)
    run = cli("ledger", "load", name)
    assert run.code == 3
    (line,) = run.err.strip().splitlines()
    assert line.startswith("エラー: ") and name in line
    assert cli.ledger().employees() == before
    result = run.result()
    assert result["status"] == "failed"
    assert result["problems"] and all(p["sheet"] == name for p in result["problems"])
    assert (run.report.parent / "errors.csv").is_file()


def test_bad_file_report_lists_every_row(cli):
    cli.copy("many_bad_rows.csv")
    run = cli("ledger", "load", "many_bad_rows.csv")
    assert run.code == 3
    assert "ほか 6 件" in run.err
    cells = [p["cell"] for p in run.result()["problems"]]
    assert cells == ["行 3", "行 4", "行 4", "行 4", "行 6", "行 6", "行 7"]


def test_dry_run_validates_and_writes_nothing(cli):
    cli.copy("happy_utf8.csv")
    run = cli("ledger", "load", "--dry-run", "happy_utf8.csv")
    assert run.code == 0
    assert "--dry-run" in run.out and "追加 3 件" in run.out
    assert run.result()["dry_run"] is True
    assert {r["result"] for r in run.result()["rows"]} == {"planned"}
    assert cli.ledger().employees() == []
    cli.copy("impossible_date.csv")
    assert cli("ledger", "load", "--dry-run", "impossible_date.csv").code == 3


def test_missing_file_exits_3(cli):
    run = cli("ledger", "load", "nothere.csv")
    assert run.code == 3
    assert "nothere.csv が見つかりません" in run.err


def test_unusable_ledger_folder_is_a_usage_error(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "etl.toml").write_text('[ledger]\nurl = "sqlite:///afile/sub/ledger.db"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    shutil.copy(FIXTURES / "happy_utf8.csv", tmp_path)
    err = io.StringIO()
    assert main(["ledger", "export", "out.csv"], env={}, stdout=io.StringIO(), stderr=err) == 2
    assert "台帳のフォルダ" in err.getvalue() and "Traceback" not in err.getvalue()


# --- export --------------------------------------------------------------------------------


def loaded(cli, name="happy_utf8.csv"):
    cli.copy(name)
    assert cli("ledger", "load", name).code == 0
    return cli.ledger().employees()


def test_export_csv_is_utf8_with_bom_crlf_and_owner_only(cli, tmp_path):
    loaded(cli)
    run = cli("ledger", "export", "out/ledger.csv")
    assert run.code == 0, run.err
    assert "3 名" in run.out
    data = (tmp_path / "out" / "ledger.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\xe5\xbe\x93\xe6\xa5\xad\xe5\x93\xa1\xe7\x95\xaa\xe5\x8f\xb7,")  # BOM + 従業員番号
    assert data.count(b"\r\n") == 4
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][:5] == ["00012", "山田", "太郎", "ヤマダ", "タロウ"]
    assert rows[1][10:13] == ["男性", "1985-04-01", "2015-04-01"]
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "out" / "ledger.csv").stat().st_mode) == 0o600


@pytest.mark.parametrize(("target", "extra"), [("back.csv", []), ("back_sjis.csv", ["--encoding", "cp932"]),
                                                ("back.xlsx", [])], ids=["utf8-bom", "cp932", "xlsx"])
def test_load_export_load_is_lossless(cli, target, extra):
    before = loaded(cli, "cp932_shift_jis.csv")
    assert cli("ledger", "export", target, *extra).code == 0
    run = cli("ledger", "load", target)
    assert run.code == 0, run.err
    assert "追加 0 件・更新 0 件・変更なし 4 件" in run.out
    assert cli.ledger().employees() == before


def test_cp932_ledger_with_leading_zero_and_full_width_codes_survives(cli, tmp_path):
    text = ("従業員番号,姓,名,姓(カナ),名(カナ),生年月日\r\n"
            "００１２３,山田,太郎,やまだ,ﾀﾛｳ,昭和60年4月1日\r\n"
            "00007,鈴木,花子,すずき,ﾊﾅｺ,45383\r\n")
    (tmp_path / "sjis.csv").write_bytes(text.encode("cp932"))
    assert cli("ledger", "load", "sjis.csv").code == 0
    assert cli("ledger", "export", "out.csv", "--encoding", "cp932").code == 0
    rows = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_bytes().decode("cp932"))))
    assert [(r[0], r[3], r[4], r[11]) for r in rows[1:]] == [
        ("00007", "スズキ", "ハナコ", "2024-04-01"), ("00123", "ヤマダ", "タロウ", "1985-04-01")]


def test_export_xlsx_writes_codes_as_text_and_dates_as_dates(cli, tmp_path):
    loaded(cli)
    assert cli("ledger", "export", "ledger.xlsx").code == 0
    ws = load_workbook(tmp_path / "ledger.xlsx").active
    assert ws["A1"].value == "従業員番号"
    assert (ws["A2"].value, ws["A2"].data_type) == ("00012", "s")
    assert (ws["H2"].value, ws["H2"].data_type) == ("010", "s")
    assert ws["L2"].value == dt.datetime(1985, 4, 1)


def test_formula_like_values_are_neutralised_and_come_back(cli, tmp_path):
    cli.ledger().upsert_employees([Employee("001", "=HYPERLINK(\"x\")", "+1", department_name="@部", email="")])
    assert cli("ledger", "export", "x.csv").code == 0
    assert cli("ledger", "export", "x.xlsx").code == 0
    row = list(csv.reader(io.StringIO((tmp_path / "x.csv").read_text(encoding="utf-8-sig"))))[1]
    assert row[1:3] == ["'=HYPERLINK(\"x\")", "'+1"]
    ws = load_workbook(tmp_path / "x.xlsx").active
    assert (ws["B2"].value, ws["B2"].data_type) == ("=HYPERLINK(\"x\")", "s")
    before = cli.ledger().employees()
    for name in ("x.csv", "x.xlsx"):
        assert "変更なし 1 件" in cli("ledger", "load", name).out
    assert cli.ledger().employees() == before


def test_cp932_export_maps_look_alikes_and_refuses_what_it_cannot_hold(cli, tmp_path):
    ledger = cli.ledger()
    ledger.upsert_employees([Employee("001", "山田", "太郎", department_name="営業〜第1−課")])
    assert cli("ledger", "export", "ok.csv", "--encoding", "cp932").code == 0
    assert "営業～第1－課" in (tmp_path / "ok.csv").read_bytes().decode("cp932")
    ledger.upsert_employees([Employee("002", "𠮷田", "花子")])
    run = cli("ledger", "export", "ng.csv", "--encoding", "cp932")
    assert run.code == 3
    assert "𠮷田" in run.err and "--encoding utf-8-sig" in run.err
    assert not (tmp_path / "ng.csv").exists()
    assert cli("ledger", "export", "ng.csv").code == 0  # UTF-8 holds everything


def test_export_needs_csv_or_xlsx(cli):
    run = cli("ledger", "export", "ledger.xls")
    assert run.code == 2
    assert ".csv か .xlsx" in run.err


def test_unknown_headers_are_warned_about_but_load(cli):
    cli.copy("header_aliases_and_spacing.csv")
    run = cli("ledger", "load", "header_aliases_and_spacing.csv")
    assert run.code == 0
    assert run.err.strip() == ("警告: header_aliases_and_spacing.csv 1行目: 見出し「メモ」の列は取り込みません。"
                               "台帳の項目なら、見出しを `ledger export` が出力する名前 (例 入社年月日) に直してください。")
    assert [p["code"] for p in run.result()["problems"]] == ["ledger-unknown-header"]

"""`run_etl.py demo`: the whole job on embedded defaults, offline, in a fresh demo/ workspace.

A SQLite ledger of ~300 demo employees is loaded from a cp932 CSV (as HR would export it), the
KOT-compatible sandbox starts in-process on a free loopback port, the workbook is built from the
live masters and mapped as HR would fill it, then each command runs for real through the same
entry point a user types: validate → sync --dry-run → sync → pull → import (ledger) → a ledger
change → `run` (the nightly batch: sync with diffs + last month's CSV + 36協定 alerts).

The demo's clock is today at 13:00 JST (ETL_NOW), so it never falls in the restricted hours.
"""
from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from etl.app.context import Context
from etl.app.options import DemoOptions
from etl.clock import JST, OffsetClock, parse_now, previous_month
from etl.errors import ExitCode, UsageError
from etl.records import Employee, Masters
from etl.text import one_line

MARKER = ".kintai-etl-demo"
HISTORY_MONTHS = 11  # the 36協定 windows: 5 months for the averages, up to 11 for the fiscal year
TOKEN = "demo-token-not-secret"


def _fresh_workspace(folder: Path) -> Path:
    folder = folder.resolve()
    if folder.exists():
        if not (folder / MARKER).exists():
            raise UsageError(f"{folder} はデモ用フォルダーではないため消去しません。別の --dir を指定してください")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("created by run_etl.py demo; safe to delete\n", encoding="utf-8")
    return folder


def _write_config(folder: Path, base_url: str) -> Path:
    cfg = folder / "etl.toml"
    cfg.write_text(
        "# デモ用の設定 (run_etl.py demo が作成)\n"
        f'[attendance_api]\nbase_url = "{base_url}"\ntoken_env = "KOT_TOKEN"\nconcurrency = 8\n'
        "max_requests = 5000\nper_seconds = 60\n\n"
        f'[ledger]\nurl = "sqlite:///{(folder / "data" / "ledger.db").as_posix()}"\n\n'
        f'[paths]\nworkbook = "mapping.xlsx"\nreports = "reports"\noutput = "output"\nlogs = "logs"\n',
        encoding="utf-8")
    return cfg


def _sandbox_state(today: dt.date, employees: list[Employee]):
    """Divisions and types of the demo company, a few attendance-only employees (for pull), and a
    few ledger employees already registered with an older division (so the sync updates them)."""
    from etl.demo_data import CLASSES, DEPARTMENTS
    from etl.sandbox.data import DIVISIONS, WORKING_TYPES, generate_employees
    from etl.sandbox.state import SandboxState

    state = SandboxState([{"code": c, "name": n, "dayBorderTime": "05:00"} for c, n in DIVISIONS],
                         [{"code": c, "name": n} for c, n in WORKING_TYPES], seed=7)
    for i, (emp, _history) in enumerate(generate_employees(12, 7, today), start=1):
        emp = {**emp, "code": f"K{i:04d}"}
        emp.pop("resignationDate", None)
        state.add(emp)
    division_of = {d: div for d, _, div in DEPARTMENTS}
    type_of = dict(CLASSES)
    for e in employees[10:16]:
        if e.resignation_date or not e.hired_date or e.department_code not in division_of:
            continue
        state.add({"code": e.code, "lastName": e.last_name, "firstName": e.first_name,
                   "gender": e.gender, "divisionCode": "1000", "typeCode": type_of.get(e.employee_class, "1"),
                   "hiredDate": e.hired_date.isoformat()})
    # the administrator has closed every month the demo imports (last month and the history before
    # it); the current month stays open. Yearly leave is computed for every employee (年5日).
    month = previous_month(today)
    for _ in range(1 + HISTORY_MONTHS + 1):
        state.close_month(month)
        month = previous_month(dt.date.fromisoformat(month + "-01"))
    state.attendance.generated_leave = True
    return state


def _map_workbook(path: Path, today: dt.date, employees: list[Employee], masters: Masters) -> None:
    """Fill the mapping sheets as HR would: every department and class mapped (the names beside the
    codes filled in, as `template --refresh` does), defaults set, and a few per-employee overrides
    (a future transfer, an exclusion, a transfer dated last month)."""
    from openpyxl import load_workbook

    from etl.demo_data import CLASSES, DEPARTMENTS
    from etl.workbook.layout import save_workbook
    from etl.workbook.model import SHEET_DIVISIONS, SHEET_OVERRIDES, SHEET_SETTINGS, SHEET_TYPES
    from etl.workbook.names import fill_names

    wb = load_workbook(path)
    division_of = {d: div for d, _, div in DEPARTMENTS}
    ws = wb[SHEET_DIVISIONS]
    for row in ws.iter_rows(min_row=2):
        code = row[0].value
        if code in division_of:
            row[2].value = division_of[code]
    ws.append(["D700", "旧・企画部", "1000", None, "廃止済みの部署 (台帳にいない: 警告の例)"])
    ws = wb[SHEET_TYPES]
    type_of = dict(CLASSES)
    for row in ws.iter_rows(min_row=2):
        if row[0].value in type_of:
            row[1].value = type_of[row[0].value]
    settings = {"既定の勤怠所属コード": "1000", "既定の勤怠雇用区分コード": "1"}
    for row in wb[SHEET_SETTINGS].iter_rows(min_row=2):
        if row[0].value in settings:
            row[1].value = settings[row[0].value]
    active = [e for e in employees if e.hired_date and not e.resignation_date and "-" not in e.code]
    first_of_next = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    ws = wb[SHEET_OVERRIDES]
    ws.append([active[20].code, f"{active[20].last_name} {active[20].first_name}", "3100", None,
               first_of_next, "いいえ", "来月1日付で品質管理部へ異動"])
    ws.append([active[21].code, f"{active[21].last_name} {active[21].first_name}", None, None, None, "はい",
               "出向中のため連携しない"])
    last_month_first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    ws.append([active[22].code, f"{active[22].last_name} {active[22].first_name}", "2000", None,
               last_month_first, "いいえ", "先月付の異動 (当月より前: 警告の例)"])
    fill_names(wb, masters)
    save_workbook(wb, path, dt.datetime.now(JST))


def _changed_ledger(employees: list[Employee], today: dt.date) -> list[Employee]:
    """The next day's edits in the ledger: a transfer, a kana correction, a resignation at the end of
    next month (sent now with its date: the report lists it in the queue of future changes)."""
    picks = [e for e in employees if e.hired_date and not e.resignation_date and "-" not in e.code
             and e.department_code != "D400"][30:33]
    end_of_next = (today.replace(day=1) + dt.timedelta(days=62)).replace(day=1) - dt.timedelta(days=1)
    return [replace(picks[0], department_code="D400", department_name="開発部"),
            replace(picks[1], first_name_kana=picks[1].first_name_kana + "ー"),
            replace(picks[2], resignation_date=end_of_next)]


Main = Callable[..., int]  # etl.cli.main, passed in by the command line (no import back into it)


def demo_command(ctx: Context, opts: DemoOptions, *, main: Main) -> int:
    """Each step goes through ``main`` exactly as a user types it."""
    from etl.demo_data import demo_employees
    from etl.ledger.export import write_csv
    from etl.sandbox.server import Sandbox
    from etl.workbook.template import build_template

    folder = _fresh_workspace(Path(opts.dir))
    given = ctx.env.get("ETL_NOW", "").strip()  # a replay's clock is honoured as it is
    try:
        now = parse_now(given) if given else dt.datetime.now(JST).replace(hour=13, minute=0, second=0, microsecond=0)
    except ValueError as e:
        raise UsageError(one_line(f"環境変数 ETL_NOW: {e} (値: {given[:40]})")) from None
    today = now.date()
    clock = OffsetClock(now)
    env = {**ctx.env, "KOT_TOKEN": TOKEN, "ETL_NOW": now.isoformat()}
    ctx.out(f"デモ用フォルダー: {folder} (時計: {now:%Y-%m-%d %H:%M} JST)")

    employees = demo_employees(opts.employees, seed=1, today=today)
    ledger_csv = folder / "従業員台帳_エクスポート.csv"
    write_csv(ledger_csv, employees, encoding="cp932")
    sandbox = Sandbox(_sandbox_state(today, employees), token=TOKEN, clock=clock).start()
    try:
        cfg = _write_config(folder, sandbox.url)
        ctx.out(f"勤怠サンドボックス: {sandbox.url} (所属 {len(sandbox.state.divisions)}・"
                f"雇用区分 {len(sandbox.state.working_types)}・従業員 {len(sandbox.state)} 名)")
        last = previous_month(today)
        codes: list[int] = []
        reports: list[str] = []

        def step(title: str, argv: list[str]) -> int:
            out, err = io.StringIO(), io.StringIO()
            code = main(["--config", str(cfg), *argv], env=env, stdout=out, stderr=err)
            lines = out.getvalue().strip().splitlines()
            report = next((ln[len("report: "):] for ln in reversed(lines) if ln.startswith("report: ")), "")
            summary = next((ln for ln in reversed(lines) if ln.startswith("状況:")), lines[-1] if lines else "")
            ctx.out(f"  [{code}] {title}: {summary}")
            for ln in err.getvalue().strip().splitlines()[:1]:
                ctx.out(f"      {ln}")
            codes.append(code)
            reports.append(report)
            return code

        step("台帳の取込 (cp932 CSV)", ["ledger", "load", str(ledger_csv)])
        # the workbook: built from the live masters and the ledger, then mapped as HR would
        from etl.ledger.store import open_ledger
        ledger = open_ledger(f"sqlite:///{(folder / 'data' / 'ledger.db').as_posix()}")
        from etl.kot.client import KotClient
        with KotClient(sandbox.url, TOKEN, clock=clock) as client:
            masters = client.masters()
        build_template(folder / "mapping.xlsx", masters, ledger.departments(), ledger.employee_classes())
        _map_workbook(folder / "mapping.xlsx", today, ledger.employees(), masters)
        ctx.out("  [0] マッピングブック: 勤怠マスタと台帳から作成し、所属・雇用区分を設定しました (mapping.xlsx)")

        step("ブックの検証", ["validate"])
        step("同期の予定 (ドライラン: 送信なし)", ["sync-employees", "--dry-run"])
        step("同期 (台帳 → 勤怠)", ["sync-employees"])
        step("同期の再実行 (変更なし)", ["sync-employees"])
        step("取込 (勤怠 → 台帳)", ["pull-employees"])
        before = previous_month(dt.date.fromisoformat(last + "-01"))
        step(f"勤怠の取込 {before} (台帳、前の {HISTORY_MONTHS} か月も履歴に)",
             ["import-attendance", "--month", before, "--to", "ledger", "--backfill", str(HISTORY_MONTHS)])
        step(f"勤怠の取込 {last} (台帳)", ["import-attendance", "--month", last, "--to", "ledger"])
        changes = folder / "台帳の変更.csv"
        write_csv(changes, _changed_ledger(ledger.employees(), today), encoding="cp932")
        step("翌日の台帳変更 (3名)", ["ledger", "load", str(changes)])
        step(f"一括実行 (夜間バッチ: 同期 + {last} の勤怠 CSV)", ["run", "--month", last])
    finally:
        sandbox.stop()
    ctx.out(f"すべての実行の一覧: {folder / 'reports' / 'index.html'}")
    ctx.out(f"勤怠 CSV: {folder / 'output' / f'attendance_{last}.csv'}")
    worst = max(codes)
    ctx.out("デモは完了しました。一部エラーは意図的なデータの誤り (勤怠で使えない従業員番号) によるものです。"
            if worst <= ExitCode.PARTIAL else "デモの途中で失敗しました。上の行を確認してください。")
    ctx.out(f"report: {reports[-1]}")
    return ExitCode.SUCCESS if worst <= ExitCode.PARTIAL else worst

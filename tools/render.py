"""Render what HR sees to PNG at phone (390 px) and desktop (1280 px) width, to look at them.

    python tools/render.py                      # a built-in showcase run → test-artifacts/render/
    python tools/render.py --reports demo/reports   # the newest run of a reports folder (e.g. after `demo`)
    python tools/render.py --check              # also fail (exit 1) when text is clipped at 390 px

It writes report.html, index.html, the mail's HTML part and the annotated workbook as PNGs
(``report-390.png``, ``report-1280.png``, ``mail-390.png``, ``workbook-1280-1.png`` …). Pages go
through headless Chromium (tools/chrome.py); the workbook goes through LibreOffice headless
(``soffice --convert-to pdf``) and poppler's ``pdftoppm``. Install them from the OS packages:
``apt-get install chromium libreoffice-calc-nogui poppler-utils``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from etl.clock import JST  # noqa: E402
from etl.errors import ExitCode, Problem  # noqa: E402
from etl.records import Masters, RowResult  # noqa: E402
from etl.report.html import write_index, write_report  # noqa: E402
from etl.report.mail import build_message  # noqa: E402
from etl.report.result import RunResult, run_dir, write_result_files  # noqa: E402
from tools.chrome import Chrome  # noqa: E402

WIDTHS = (390, 1280)
MASTERS = Masters({"1000": "本社", "1100": "東京支店", "1200": "大阪支店", "3100": "品質管理部"},
                  {"1": "正社員", "2": "契約社員", "3": "パート"})
STARTED = dt.datetime(2026, 11, 26, 2, 0, tzinfo=JST)
NAMES = ["佐藤 一郎", "鈴木 花子", "高橋 健太", "田中 美咲", "伊藤 翔", "渡辺 由美", "山本 大輔", "中村 さくら"]


# --- a showcase run: every section HR may meet, with long text where it hurts ----------------

def showcase_result() -> RunResult:
    r = RunResult(job="run", started_at=STARTED, finished_at=STARTED + dt.timedelta(minutes=3, seconds=12),
                  exit_code=ExitCode.PARTIAL)
    r.rows = [RowResult(f"{100 + i:06d}", "update", "ok", {"divisionCode": ["1000", "1200"], "gender": ["male", "female"]},
                        name=NAMES[i % len(NAMES)]) for i in range(6)]
    r.rows += [RowResult("000006", "update", "failed", {"lastName": ["山田", "山田田"]}, name="山田 太郎",
                         message="勤怠APIが拒否しました (400): 姓は全角20文字以内で入力してください。従業員コード000006の更新に失敗"),
               RowResult("000007", "create", "failed", name="ジョンソン・アレクサンダー・クリストファー",
                         message="勤怠APIが拒否しました (400): divisionCode 9999 does not exist (code 2)"),
               RowResult("000008", "retire", "ok", {"resignationDate": [None, "2026-12-31"]}, name="小林 誠",
                         effective_date="2026-12-31")]
    r.rows += [RowResult(f"{200 + i:06d}", "unchanged", "ok", name=NAMES[i % len(NAMES)]) for i in range(40)]
    r.problems = [
        Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value="9999",
                   hint="ドロップダウンから「コード 名称」を選んでください。"),
        Problem.of("effective-date-past", sheet="個別設定", cell="E3", value="2026-09-01", limit="2026-11-01"),
        Problem.of("unknown-department", sheet="所属マッピング", cell="A7", value="D700"),
        Problem.of("month-not-closed", value="2026-10"),
    ]
    over = []
    for i in range(26):
        code = f"{300 + i:06d}"
        hours = 104.5 - i * 2
        level = "error" if hours >= 100 else "warning"
        r.problems.append(Problem.of("overtime-month-45h", employee_code=code, value="2026-10", figure=f"{hours - 5:.1f}時間", limit=45))
        if level == "error":
            r.problems.append(Problem.of("overtime-month-100h", employee_code=code, value="2026-10",
                                         figure=f"{hours:.1f}時間", limit=100))
        over.append({"employee_code": code, "name": NAMES[i % len(NAMES)], "division": "東京支店 営業第一グループ",
                     "overtime_hours": hours - 5, "overtime_plus_holiday_hours": hours, "level": level})
    r.imported = {"month": "2026-10", "target": "csv", "path": "/srv/kintai/output/attendance_2026-10.csv"}
    r.meta = {"workbook": "/srv/kintai/data/mapping.xlsx", "annotated_workbook": "検証結果_mapping.xlsx",
              "month": "2026-10", "base_url": "https://api.kingtime.jp/v1.0", "links_saved": 44}
    r.sections = {
        "names": {"divisionCode": dict(MASTERS.divisions), "typeCode": dict(MASTERS.working_types)},
        "queue": [{"employee_code": "000008", "name": "小林 誠", "field": "divisionCode", "old": "1000", "new": "3100",
                   "effective_date": "2026-12-01"}],
        "attendance": {
            "month": "2026-10", "is_closed": False, "employees": 300,
            "by_division": [{"division": n, "overtime_hours": 300 + 50 * i, "employees": 20 + i}
                            for i, n in enumerate(["本社", "東京支店 営業第一グループ", "大阪支店", "品質管理部"])],
            "over_threshold": over,
        },
        "sections": [{"job": "validate", "status_label": "正常終了", "summary": "警告 2件"},
                     {"job": "sync-employees", "status_label": "一部エラー",
                      "summary": "作成 0件 更新 6件 退職 1件 変更なし 40件 失敗 2件"},
                     {"job": "import-attendance", "status_label": "正常終了", "summary": "2026-10: 300名 → CSV (未締め)"}],
        "mail": {"sent": True, "recipients": ["hr@example.co.jp", "roumu@example.co.jp"], "error": ""},
        "reconcile": showcase_reconcile(),
    }
    return r


def showcase_reconcile() -> dict:
    """The nightly 照合 summary (照合レポート: 毎日) with one difference of each kind."""
    from etl.report.reconcile import nightly_section
    from etl.sync.reconcile import Difference, Reconciliation

    diffs = [
        Difference("only-in-ledger", "000031", "佐々木 新人", reason="未連携 (次回の連携で新規登録されます)"),
        Difference("only-in-attendance", "X0001", "外部 一郎", attendance="X0001",
                   reason="台帳にない在籍者です (pull-employees で台帳に取り込めます)"),
        Difference("field-difference", "000101", "鈴木 花子", field="emailAddresses",
                   ledger=["hanako.suzuki.tokyo-branch@example.co.jp"], attendance=["h.suzuki@example.co.jp"],
                   side="attendance"),
        Difference("leaver-active-in-attendance", "000102", "高橋 健太", field="resignationDate",
                   ledger=dt.date(2026, 11, 10), side="ledger",
                   reason="台帳では 2026-11-10 に退職済みですが、勤怠では在籍中です"),
        Difference("retired-in-attendance", "000103", "田中 美咲", field="resignationDate",
                   attendance=dt.date(2026, 11, 20), side="attendance",
                   reason="台帳では在籍中ですが、勤怠では 2026-11-20 に退職済みです"),
        Difference("pending-change", "000021", "佐藤 一郎", field="divisionCode", ledger="3100", attendance="1000",
                   reason="2026-12-01 から反映の予定ですが、勤怠には未送信です", effective_date="2026-12-01"),
        Difference("code-change", "100003", "松本 健", ledger="100003", attendance="000003", side="unknown",
                   reason="可能性 (未確認): 勤怠の 000003 と氏名・生年月日・入社年月日が同じです。同じ人なら"
                          "個別設定の旧従業員番号に旧番号を、別人なら「なし」を入力してください"),
    ]
    found = Reconciliation(today=STARTED.date(), differences=diffs, ledger_count=312, attendance_count=305,
                           compared=298, not_compared=[("000019", "2026-10-06 に退職済みで勤怠に未登録 (連携しません)")],
                           fields=("lastName", "firstName", "divisionCode", "emailAddresses"))
    return nightly_section(found.section())


def showcase_workbook(dest: Path, problems: list[Problem]) -> Path:
    """The template with the masters, a few mappings, annotated with the showcase's problems."""
    from openpyxl import load_workbook

    from etl.workbook.annotate import annotate
    from etl.workbook.layout import save_workbook
    from etl.workbook.refresh import refresh
    from etl.workbook.template import build_template

    src = dest.with_name("mapping.xlsx")
    build_template(src, MASTERS, {"D100": "総務部", "D110": "営業部", "D120": "開発部", "D130": "新規事業部",
                                  "D140": "物流"}, ["正社員", "契約社員", "パート"])
    wb = load_workbook(src)
    ws = wb["所属マッピング"]
    for row, code in zip(range(2, 7), ("1000 本社", "1100 東京支店", "1200", "9999", None), strict=True):
        ws[f"C{row}"] = code
    ws.append(["D700", "旧・企画部", "1000", None, "廃止済みの部署"])
    wb["個別設定"].append(["000021", "佐藤 一郎", "3100 品質管理部", None, dt.date(2026, 12, 1), "いいえ", "来月異動"])
    wb["個別設定"].append(["000022", "鈴木 花子", "1200", None, dt.date(2026, 9, 1), "いいえ", "先月付の異動"])
    save_workbook(wb, src, STARTED)
    # then `template --refresh` meets new departments and a new class: 3100 and 大阪支店 link
    # automatically (same code / same name: green, the note says where), 経理部 and 嘱託 need a code (blue)
    departments = {"D100": "総務部", "D110": "営業部", "D120": "開発部", "D130": "新規事業部", "D140": "物流",
                   "3100": "品質管理", "D150": "大阪支店", "D160": "経理部"}
    refresh(src, MASTERS, departments, ["正社員", "契約社員", "パート", "嘱託"], STARTED,
            backup_dir=dest.parent / "backups")
    return annotate(src, problems, dest, masters=MASTERS)


def write_showcase(reports: Path) -> Path:
    """A reports folder with the showcase run and a few others for the index; returns the run folder."""
    history = [("validate", ExitCode.INVALID_INPUT, -3), ("sync-employees", ExitCode.SUCCESS, -2),
               ("import-attendance", ExitCode.SUCCESS, -1)]
    history.append(("sync-employees", ExitCode.SUCCESS, -1.5))  # a dry run: shown as its plan
    for job, code, days in history:
        dry = days % 1 != 0
        other = RunResult(job=job, started_at=STARTED + dt.timedelta(days=days), exit_code=code, dry_run=dry)
        if job == "sync-employees":
            other.rows = [RowResult(f"{i:06d}", "update", "planned" if dry else "ok") for i in range(12)]
            if dry:
                other.rows += [RowResult("000100", "create", "planned"), RowResult("000101", "retire", "planned")]
        if job == "validate":  # the workbook error that stopped it; the index shows エラー / 警告 only
            other.problems = [Problem.of("unknown-division", sheet="所属マッピング", cell="C5", value="9999")]
        if job == "import-attendance":
            other.tallies.update(total=300, succeeded=300, failed=0)
            other.imported.update(month="2026-10", target="ledger", path=None)
        folder = run_dir(reports, other)
        write_result_files(other, folder)
        write_report(other, folder / "report.html")
    result = showcase_result()
    folder = run_dir(reports, result)
    showcase_workbook(folder / "検証結果_mapping.xlsx", result.problems)
    write_result_files(result, folder)
    write_report(result, folder / "report.html")
    write_index(reports)
    return folder


# --- an existing run --------------------------------------------------------------------------

def result_from_json(folder: Path) -> RunResult:
    """Enough of a RunResult from result.json to build the mail again (sections are not saved)."""
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    status = data.get("status")
    r = RunResult(job=data.get("job", ""), run_id=data.get("run_id", folder.name),
                  started_at=dt.datetime.fromisoformat(data["started_at"]),
                  finished_at=dt.datetime.fromisoformat(data.get("finished_at") or data["started_at"]),
                  dry_run=bool(data.get("dry_run")),
                  exit_code=0 if status == "success" else 1 if status == "partial" else 4)
    names = names_in_report(folder / "report.html")  # result.json rows carry no names; the page does
    r.rows = [RowResult(x["employee_code"], x["action"], x["result"], x.get("changes") or {}, x.get("message", ""),
                        name=names.get(x["employee_code"], ""))
              for x in data.get("rows") or []]
    failed = {x.employee_code for x in r.rows if x.result == "failed" or x.action == "error"}
    r.problems = [Problem(p["severity"], p["code"], p["message"], p.get("sheet", ""), p.get("cell", ""),
                          p.get("employee_code", ""))
                  for p in data.get("problems") or []
                  if not (p["code"] == "api-row-failed" and p.get("employee_code") in failed)]
    counts = data.get("counts") or {}
    if not r.rows and counts:
        r.tallies.update({k: int(v) for k, v in counts.items()})
    annotated = [Path(o).name for o in data.get("outputs") or [] if Path(o).name.startswith("検証結果_")]
    if annotated:
        r.meta["annotated_workbook"] = annotated[0]
    return r


def names_in_report(page: Path) -> dict[str, str]:
    """Employee code → name as report.html shows them (「<b class="who">00012</b> 山田 太郎</td>」)."""
    import html
    import re

    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return {}
    return {html.unescape(code): html.unescape(name).strip()
            for code, name in re.findall(r'<b class="who">([^<]*)</b>([^<]*)</td>', text) if name.strip()}


def newest_run(reports: Path) -> Path:
    """The newest run in the index's order (start time, then finish, then the same-second sequence)."""
    from etl.report.html import collect_runs

    runs = [r for r in collect_runs(reports) if r.get("has_report")]
    if not runs:
        raise SystemExit(f"{reports} に実行結果 (report.html) がありません")
    return reports / runs[0]["folder"]


# --- rendering ----------------------------------------------------------------------------------

def mail_html(folder: Path, result: RunResult, out: Path) -> Path:
    msg = build_message(result, ["hr@example.co.jp"], "kintai-etl@example.co.jp", folder / "report.html",
                        folder / "errors.csv" if (folder / "errors.csv").is_file() else None,
                        report_url_base="https://intra.example.co.jp/kintai/reports")
    path = out / "mail.html"
    path.write_text(msg.get_body(("html",)).get_content(), encoding="utf-8")
    return path


def render_pages(pages: dict[str, Path], out: Path, check: bool, tiles: bool = False) -> list[str]:
    problems = []
    with Chrome() as chrome:
        for name, page in pages.items():
            for width in WIDTHS:
                chrome.open(page, width)
                if width < 600:
                    problems += [f"{name} @{width}px: {p}" for p in chrome.layout_problems()]
                    chrome.open(page, width)  # the check opened every <details>: shoot the page as HR sees it
                png = chrome.screenshot(out / f"{name}-{width}.png", width)
                print(png)
                if tiles:
                    for tile in chrome.tiles(out / "tiles" / f"{name}-{width}.png", width):
                        print(tile)
    if check and problems:
        print("\n".join(problems), file=sys.stderr)
    return problems


def render_workbook(xlsx: Path, out: Path, pages: int = 20) -> list[Path]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftoppm = shutil.which("pdftoppm")
    if not soffice or not pdftoppm:
        print("LibreOffice (soffice) または pdftoppm がありません: apt-get install libreoffice-calc-nogui poppler-utils",
              file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory(prefix="etl-lo-") as tmp:
        profile = Path(tmp) / "profile"
        src = Path(tmp) / "workbook.xlsx"
        shutil.copy2(xlsx, src)
        subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                        "--outdir", tmp, str(src)], check=True, capture_output=True, timeout=180)
        pdf = Path(tmp) / "workbook.pdf"
        written = []
        for width in WIDTHS:
            prefix = out / f"workbook-{width}"
            subprocess.run([pdftoppm, "-png", "-f", "1", "-l", str(pages), "-scale-to-x", str(width),
                            "-scale-to-y", "-1", str(pdf), str(prefix)], check=True, capture_output=True, timeout=180)
        written = sorted(out.glob("workbook-*.png"))
    for p in written:
        print(p)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "render"), help="PNG の出力先")
    parser.add_argument("--reports", help="既存の reports フォルダー (最新の実行を描画)")
    parser.add_argument("--check", action="store_true", help="390 px で文字が切れていれば終了コード 1")
    parser.add_argument("--tiles", action="store_true", help="縦長のページを 1400 px ごとに分けた PNG も書く (tiles/)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.png"), *out.glob("tiles/*.png")]:
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="etl-render-") as tmp:
        if args.reports:
            reports = Path(args.reports)
            folder = newest_run(reports)
            result = result_from_json(folder)
        else:
            reports = Path(tmp) / "reports"
            folder = write_showcase(reports)
            result = showcase_result()
            result.run_id = folder.name
            result.meta["annotated_marks"] = 1
        pages = {"report": folder / "report.html", "index": reports / "index.html",
                 "mail": mail_html(folder, result, out)}
        problems = render_pages(pages, out, args.check, args.tiles)
        books = sorted(folder.glob("検証結果_*.xlsx"))
        if books:
            render_workbook(books[0], out)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

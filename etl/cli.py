"""The command line of DESIGN: parse argv into typed options, call one command, map errors to exit codes.

argparse lives here only: ``command_for`` turns the parsed namespace into a typed options
dataclass (etl/app/options.py) and the call ``command(ctx, options)``. Command modules are imported
when chosen, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import TextIO

from etl.app.context import Context
from etl.app.options import (
    ConnectionOptions,
    DemoOptions,
    ImportOptions,
    InitOptions,
    LedgerExportOptions,
    LedgerLoadOptions,
    PullOptions,
    ReconcileOptions,
    RunOptions,
    SandboxOptions,
    ScheduleOptions,
    SyncCommandOptions,
    TemplateOptions,
    ValidateOptions,
)
from etl.app.runner import as_stop
from etl.clock import NOW_YEARS, Clock
from etl.errors import ExitCode, UsageError

PROG = "run_etl.py"

DESCRIPTION = """\
kintai-etl — 従業員台帳 (本体) と勤怠 (KING OF TIME 互換 Web API) をつなぐバッチ連携ツール。
HR はマッピングブック (既定 data/mapping.xlsx) を編集し、このコマンドが検証・同期・勤怠取込・
レポート作成を行います。まずは `python run_etl.py demo` で全体の流れを確認してください。"""

EPILOG = """\
終了コード: 0 正常終了 / 1 一部エラー / 2 使い方・設定の誤り / 3 ブックや入力ファイルの誤り
(何も書き込んでいません) / 4 勤怠APIに接続できない・拒否された / 5 利用制限時間帯
アクセストークンは環境変数 KOT_TOKEN (etl.toml の token_env で変更可) から読みます。
例:
  python run_etl.py init                        etl.toml とブックを用意
  python run_etl.py test-connection             トークンと接続を確認
  python run_etl.py validate                    ブックを検証
  python run_etl.py sync-employees --dry-run    同期の予定だけを確認
  python run_etl.py run                         夜間バッチ (検証→同期→取込→レポート→メール)"""

# command → one-line help, in DESIGN's order
COMMANDS: dict[str, str] = {
    "demo": "組み込みの既定値で全体を実行するデモ (台帳・勤怠サンドボックスを自動作成)",
    "init": "etl.toml (コメント付き) とブックのテンプレートを作成",
    "template": "マッピングブックを作成 / --refresh で勤怠マスタと台帳から更新",
    "validate": "ブックを勤怠マスタと台帳に照らして検証し、問題を書き込んだコピーを出力",
    "ledger": "従業員台帳の取込 (load) と書き出し (export): CSV / XLSX",
    "test-connection": "アクセストークンと勤怠APIへの接続を確認",
    "sync-employees": "台帳 → 勤怠: 従業員の新規登録・更新・退職 (--dry-run で予定のみ)",
    "pull-employees": "勤怠 → 台帳: 台帳にない従業員を追加",
    "import-attendance": "指定月の月別勤怠を CSV または台帳に取り込み (履歴は常に台帳にも)、36協定と年5日をチェック",
    "run": "バッチ: 検証 → 同期 → (取込日なら) 勤怠取込 (ほかの日は年5日の確認) → レポート → メール",
    "reconcile": "台帳と勤怠を照合して違いをレポート (どちらにも書き込まない)",
    "schedule": "常駐スケジューラ (自動連携時刻に run を実行) / --once で1回だけ",
    "sandbox": "ローカルの勤怠API互換サーバーを起動 (デモ・テスト用)",
}


# examples shown under each command's --help
EXAMPLES: dict[str, str] = {
    "demo": "python run_etl.py demo                 demo/ に台帳・サンドボックス・ブックを作って全体を実行",
    "init": "python run_etl.py init C:\\kintai-etl    etl.toml と data/mapping.xlsx を作成",
    "template": ("python run_etl.py template --refresh   勤怠マスタと台帳の一覧でドロップダウンを更新 (入力値は保持)\n"
                 "python run_etl.py template --out new.xlsx   空のブックを作成"),
    "validate": "python run_etl.py validate --workbook mapping.xlsx   問題のセルを塗ったコピーがレポートに出ます",
    "ledger": ("python run_etl.py ledger load 台帳.csv          cp932 / UTF-8 を自動判定して取込\n"
               "python run_etl.py ledger export 台帳.xlsx       台帳を XLSX で書き出し"),
    "test-connection": "python run_etl.py test-connection   トークンは環境変数 KOT_TOKEN から読みます",
    "sync-employees": ("python run_etl.py sync-employees --dry-run                 送信内容 (変更前 → 変更後) だけを確認\n"
                       "python run_etl.py sync-employees                           変わった従業員だけを送信\n"
                       "python run_etl.py sync-employees --employees 00012,00034   指定した従業員だけ\n"
                       "python run_etl.py sync-employees --effective-date 2026-12-01 --wait"),
    "pull-employees": "python run_etl.py pull-employees --dry-run   台帳にない勤怠の従業員を確認",
    "import-attendance": ("python run_etl.py import-attendance --month 2026-10                 ブックの設定どおり (既定 cp932 CSV)\n"
                          "python run_etl.py import-attendance --month 2026-10 --to ledger     台帳に保存 (履歴はどちらの出力先でも台帳に保存)\n"
                          "python run_etl.py import-attendance --month 2026-10 --backfill 6    前の6か月も台帳の履歴に取り込む\n"
                          "python run_etl.py import-attendance --month 2026-10 --encoding utf-8-sig --out 給与/10月.csv"),
    "run": ("python run_etl.py run                    夜間バッチ (取込日なら先月の勤怠も)\n"
            "python run_etl.py run --month 2026-10    勤怠の月を指定して実行"),
    "reconcile": ("python run_etl.py reconcile          台帳と勤怠の違い (台帳のみ・勤怠のみ・項目の違い・退職・番号変更…)\n"
                  "python run_etl.py reconcile --wait   利用制限時間帯なら終わるまで待つ"),
    "schedule": ("python run_etl.py schedule          常駐 (Ctrl+C で停止)\n"
                 "python run_etl.py schedule --once   cron / タスク スケジューラから10分ごとに"),
    "sandbox": ("python run_etl.py sandbox --port 8080 --employees 300 --seed 1\n"
                "python run_etl.py sandbox --state world.json --clock 2026-11-26T09:00:00+09:00   利用制限時間帯を再現"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise _UsageExit(f"{self.prog}: {message} (--help で使い方を表示)")


class _UsageExit(Exception):
    pass


MAIL_HELP = "結果をブックの 連携結果通知メールアドレス にメールする (手動の実行は指定したときだけメールします)"

def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"'{text}' は YYYY-MM (例 2026-10) の形ではありません")
    if not NOW_YEARS[0] <= int(text[:4]) <= NOW_YEARS[1]:
        raise argparse.ArgumentTypeError(f"'{text}' の年は {NOW_YEARS[0]}〜{NOW_YEARS[1]} にしてください")
    return text


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in re.split(r"[,\s]+", text) if c.strip())


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' は YYYY-MM-DD (例 2026-12-01) の形ではありません") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' は整数ではありません") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' は 1 以上にしてください")
    return value


def _backfill(text: str) -> int:
    value = _positive_int(text)
    if value > 36:
        raise argparse.ArgumentTypeError(f"'{text}' は 1〜36 にしてください (勤怠APIは3年前までしか取得できません)")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="FILE", help="設定ファイル (既定: カレントの etl.toml があれば使用)")
    p.add_argument("--reports-dir", metavar="DIR", help="レポートの出力先 ([paths] reports より優先)")
    p.add_argument("--verbose", "-v", action="store_true", help="詳しいログとエラー時のトレースバックを表示")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    cmd = {}
    for name, help_text in COMMANDS.items():
        cmd[name] = sub.add_parser(name, help=help_text, description=help_text,
                                   epilog="例:\n" + "\n".join("  " + line for line in EXAMPLES[name].splitlines()),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    c = cmd["demo"]
    c.add_argument("--dir", default="demo", help="デモ用の作業フォルダ (既定 demo/、毎回作り直す)")
    c.add_argument("--employees", type=_positive_int, default=300, metavar="N", help="デモの従業員数 (既定 300)")

    c = cmd["init"]
    c.add_argument("dir", nargs="?", default=".", metavar="DIR", help="作成先フォルダ (既定 カレント)")
    c.add_argument("--force", action="store_true", help="既存の etl.toml を上書きする")

    c = cmd["template"]
    c.add_argument("--out", metavar="PATH", help="出力先 (既定 [paths] workbook)")
    c.add_argument("--refresh", action="store_true", help="勤怠マスタと台帳からドロップダウンを更新 (入力済みの値は保持)")
    c.add_argument("--workbook", metavar="PATH", help="--refresh するブック (既定 [paths] workbook)")

    c = cmd["validate"]
    c.add_argument("--workbook", metavar="PATH", help="検証するブック (既定 [paths] workbook)")
    c.add_argument("--mail", action="store_true", help=MAIL_HELP)

    c = cmd["ledger"]
    lsub = c.add_subparsers(dest="ledger_command", metavar="ACTION", parser_class=_Parser, required=True)
    lo = lsub.add_parser("load", help="CSV / XLSX の従業員台帳を取り込む (従業員番号で追加・更新)")
    lo.add_argument("file", metavar="FILE", help="取り込むファイル (.csv / .xlsx; UTF-8 / Shift_JIS は自動判定)")
    lo.add_argument("--dry-run", action="store_true", help="検証だけして書き込まない")
    lo.add_argument("--new-people", type=_codes, default=(), metavar="CODES",
                    help="台帳の従業員番号と先頭の 0 だけが違っても別人として取り込む従業員番号 (カンマ区切り)")
    ex = lsub.add_parser("export", help="従業員台帳を CSV / XLSX に書き出す")
    ex.add_argument("file", metavar="FILE", help="出力ファイル (.csv / .xlsx)")
    ex.add_argument("--encoding", choices=("utf-8-sig", "cp932"), default="utf-8-sig",
                    help="CSV の文字コード (既定 utf-8-sig = BOM 付き UTF-8)")

    cmd["test-connection"].add_argument("--workbook", help=argparse.SUPPRESS)

    c = cmd["sync-employees"]
    c.add_argument("--dry-run", action="store_true", help="予定 (差分) だけをレポートし、何も送信しない")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--employees", metavar="CODES", help="対象の従業員番号 (カンマ区切り)")
    g.add_argument("--employees-file", metavar="F", help="対象の従業員番号の一覧 (従業員番号 列のある CSV / XLSX)")
    c.add_argument("--mode", choices=("all", "new", "update"), default="all", help="all=すべて / new=新規のみ / update=既存の更新のみ")
    c.add_argument("--effective-date", type=_date, metavar="D", help="異動日の既定 (個別設定の異動日が優先; 既定 今日)")
    c.add_argument("--full", action="store_true", help="前回から変わっていない従業員も含めて全員を比較する")
    c.add_argument("--wait", action="store_true", help="利用制限時間帯は終了まで待って続行する")
    c.add_argument("--workbook", metavar="PATH", help="使うブック (既定 [paths] workbook)")
    c.add_argument("--mail", action="store_true", help=MAIL_HELP)

    c = cmd["pull-employees"]
    c.add_argument("--dry-run", action="store_true", help="追加予定だけをレポートする")
    c.add_argument("--limit", type=_positive_int, default=1000, metavar="N", help="1回に処理する件数 (既定 1000; 合計に上限なし)")
    c.add_argument("--update-existing", action="store_true", help="台帳にいる従業員も勤怠の値で更新する")
    c.add_argument("--wait", action="store_true", help="利用制限時間帯は終了まで待って続行する")
    c.add_argument("--workbook", metavar="PATH", help="使うブック (既定 [paths] workbook)")
    c.add_argument("--mail", action="store_true", help=MAIL_HELP)

    c = cmd["import-attendance"]
    c.add_argument("--month", type=_month, required=True, metavar="YYYY-MM", help="対象月 YYYY-MM")
    c.add_argument("--to", choices=("csv", "ledger"), help="出力先 (既定 ブックの 勤怠データ出力先)")
    c.add_argument("--out", metavar="PATH", help="CSV の出力先 (既定 output/attendance_YYYY-MM.csv)")
    c.add_argument("--encoding", choices=("cp932", "utf-8-sig"), help="CSV の文字コード (既定 ブックの設定)")
    c.add_argument("--replace-unencodable", action="store_true", help="cp932 にない文字を ? に置き換えて出力する")
    c.add_argument("--require-closed", action="store_true", help="未締めの月をエラーにする")
    c.add_argument("--backfill", metavar="N", type=_backfill, default=0,
                   help="先に前の N か月 (1〜36) を台帳の履歴に取り込む (36協定の平均・年度の合計用)")
    c.add_argument("--dry-run", action="store_true", help="書き込む内容をレポートするだけ")
    c.add_argument("--workbook", metavar="PATH", help="使うブック (既定 [paths] workbook)")
    c.add_argument("--mail", action="store_true", help=MAIL_HELP)

    c = cmd["run"]
    c.add_argument("--month", type=_month, metavar="YYYY-MM", help="勤怠を取り込む月 (省略時は取込日なら先月)")
    c.add_argument("--dry-run", action="store_true", help="同期と取込を予定のみにする (結果のメールは --mail のときだけ)")
    c.add_argument("--wait", action="store_true", help="利用制限時間帯は終了まで待って続行する")
    c.add_argument("--workbook", metavar="PATH", help="使うブック (既定 [paths] workbook)")
    c.add_argument("--mail", action="store_true", help="--dry-run でも結果をメールする (通常の実行は常にメールします)")

    c = cmd["reconcile"]
    c.add_argument("--wait", action="store_true", help="利用制限時間帯は終了まで待って続行する")
    c.add_argument("--workbook", metavar="PATH", help="使うブック (既定 [paths] workbook)")

    c = cmd["schedule"]
    c.add_argument("--once", action="store_true", help="今やるべきことだけを実行して終了 (cron / タスク スケジューラ向け)")
    c.add_argument("--workbook", metavar="PATH", help="使うブック (既定 [paths] workbook)")

    c = cmd["sandbox"]
    c.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス (既定 127.0.0.1)")
    c.add_argument("--port", type=int, default=0, help="ポート (0 = 空きポート)")
    c.add_argument("--token", default=None, help="受け付けるトークン (既定 環境変数 KOT_TOKEN、なければ sandbox-token)")
    st = c.add_mutually_exclusive_group()
    st.add_argument("--state", metavar="FILE", help="divisions / workingTypes / employees を持つ JSON から起動")
    st.add_argument("--employees", type=int, default=None, metavar="N", help="生成するデモ従業員数")
    c.add_argument("--seed", type=int, default=1, metavar="S", help="生成の乱数シード")
    c.add_argument("--latency-ms", type=float, default=0.0, metavar="MS", help="各応答の遅延 (ミリ秒)")
    c.add_argument("--fault-rate", type=float, default=0.0, metavar="RATE", help="ランダムな 500 / 切断の割合 (0〜1)")
    c.add_argument("--rate-limit", metavar="N/S", default=None, help="N 回 / S 秒を超えたら 429 (例 500/300)")
    c.add_argument("--clock", metavar="ISO", default=None, help="サーバーの時計 (利用制限時間帯の判定に使用)")
    c.add_argument("--close-ended-months", action="store_true",
                   help="終わった月を締め済みにする (既定: 状態ファイルの closedMonths の月だけ締め済み)")
    return p


Command = Callable[[Context], int]


def command_for(args: argparse.Namespace) -> Command:
    """The chosen command with its typed options bound: ``command(ctx) -> exit code``."""
    name = args.command
    if name == "demo":
        from etl.app.demo import demo_command
        demo = DemoOptions(dir=args.dir, employees=args.employees)
        return lambda ctx: demo_command(ctx, demo, main=main)
    if name == "init":
        from etl.app.init import init_command
        init = InitOptions(dir=args.dir, force=args.force)
        return lambda ctx: init_command(ctx, init)
    if name == "template":
        from etl.app.template import template_command
        template = TemplateOptions(out=args.out, refresh=args.refresh, workbook=args.workbook)
        return lambda ctx: template_command(ctx, template)
    if name == "validate":
        from etl.app.validate import validate_command
        validate = ValidateOptions(workbook=args.workbook, mail=args.mail)
        return lambda ctx: validate_command(ctx, validate)
    if name == "ledger":
        from etl.app.ledger import export_command, load_command
        if args.ledger_command == "load":
            load = LedgerLoadOptions(file=args.file, dry_run=args.dry_run, new_people=args.new_people)
            return lambda ctx: load_command(ctx, load)
        export = LedgerExportOptions(file=args.file, encoding=args.encoding)
        return lambda ctx: export_command(ctx, export)
    if name == "test-connection":
        from etl.app.connection import test_connection_command
        connection = ConnectionOptions(workbook=args.workbook)
        return lambda ctx: test_connection_command(ctx, connection)
    if name == "sync-employees":
        from etl.app.sync import sync_command
        sync = SyncCommandOptions(dry_run=args.dry_run, employees=args.employees, employees_file=args.employees_file,
                                  mode=args.mode, effective_date=args.effective_date, full=args.full,
                                  wait=args.wait, workbook=args.workbook, mail=args.mail)
        return lambda ctx: sync_command(ctx, sync)
    if name == "pull-employees":
        from etl.app.sync import pull_command
        pull = PullOptions(dry_run=args.dry_run, limit=args.limit, update_existing=args.update_existing,
                           wait=args.wait, workbook=args.workbook, mail=args.mail)
        return lambda ctx: pull_command(ctx, pull)
    if name == "import-attendance":
        from etl.app.importing import import_command
        month = ImportOptions(month=args.month, to=args.to, out=args.out, encoding=args.encoding,
                              replace_unencodable=args.replace_unencodable, require_closed=args.require_closed,
                              dry_run=args.dry_run, workbook=args.workbook, backfill=args.backfill,
                              mail=args.mail)
        return lambda ctx: import_command(ctx, month)
    if name == "run":
        from etl.app.batch import run_command
        run = RunOptions(month=args.month, dry_run=args.dry_run, wait=args.wait, workbook=args.workbook,
                         mail=args.mail)
        return lambda ctx: run_command(ctx, run)
    if name == "reconcile":
        from etl.app.reconcile import reconcile_command
        reconcile = ReconcileOptions(wait=args.wait, workbook=args.workbook)
        return lambda ctx: reconcile_command(ctx, reconcile)
    if name == "schedule":
        from etl.app.schedule import schedule_command
        schedule = ScheduleOptions(once=args.once, workbook=args.workbook)
        return lambda ctx: schedule_command(ctx, schedule)
    if name == "sandbox":
        from etl.app.sandbox import sandbox_command
        sandbox = SandboxOptions(host=args.host, port=args.port, token=args.token, state=args.state,
                                 employees=args.employees, seed=args.seed, latency_ms=args.latency_ms,
                                 fault_rate=args.fault_rate, rate_limit=args.rate_limit, clock=args.clock,
                                 close_ended_months=args.close_ended_months)
        return lambda ctx: sandbox_command(ctx, sandbox)
    raise UsageError(f"{name} というコマンドはありません (--help で一覧を表示)")


def main(argv: list[str] | None = None, *, env: dict[str, str] | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None, clock: Clock | None = None) -> int:
    """Run one command line; returns the exit code. ``clock`` replaces the clock (tests, replays)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = stdout or _tolerant(sys.stdout)
    stderr = stderr or _tolerant(sys.stderr)
    env = dict(os.environ if env is None else env)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageExit as e:
        print(str(e), file=stderr)
        return ExitCode.USAGE
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if not args.command:
        parser.print_help(stdout)
        return ExitCode.USAGE
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=stderr,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    ctx = Context(env=env, stdout=stdout, stderr=stderr, config=args.config, reports_dir=args.reports_dir,
                  verbose=args.verbose, clock=clock)
    for log_handler in logging.getLogger().handlers:
        log_handler.addFilter(_MaskSecrets(ctx))
    try:
        return int(command_for(args)(ctx))
    except BrokenPipeError:  # the output was piped into `head` or a closed pager: nothing to say
        if stdout is sys.stdout:  # keep Python from complaining again when it flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.SUCCESS
    except KeyboardInterrupt:
        ctx.err("中断しました。途中までの結果は次回の実行で引き継がれます。")
        return ExitCode.INTERRUPTED
    except Exception as e:
        if args.verbose:
            traceback.print_exc(file=stderr)
        stop = as_stop(e)  # outside a job frame (test-connection, template, init…)
        if stop is not None:
            ctx.err(f"エラー: {ctx.mask(str(stop))}")
            return int(stop.exit_code)
        ctx.err(f"内部エラー: {type(e).__name__}: {ctx.mask(str(e))} (--verbose で詳細を表示)")  # a bug
        return ExitCode.USAGE
    finally:
        ctx.close()


class _MaskSecrets(logging.Filter):
    """Masks the token and the SMTP password in every record shown on stderr (with --verbose,
    urllib3's request lines show URL paths, and /tokens/<token>/available holds the token)."""

    def __init__(self, ctx: Context):
        super().__init__()
        self.ctx = ctx

    def filter(self, record: logging.LogRecord) -> bool:
        from etl.logsetup import SecretFilter
        return SecretFilter(*self.ctx.secrets()).filter(record)


def _tolerant(stream: TextIO) -> TextIO:
    """A Windows console in cp932 cannot show every character of a name (𠮷): replace what it
    cannot show instead of failing the run on a print."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):  # pragma: no cover - a detached or exotic stream
            pass
    return stream

"""The generated parts of README.md and docs/*.md, made from the code they describe.

A generated block sits between two marker lines::

    <!-- BEGIN generated:commands -->
    … (written by this module; do not edit by hand) …
    <!-- END generated:commands -->

``python -m etl.docs`` rewrites every block of README.md and docs/*.md from ``BLOCKS``;
``python -m etl.docs --check`` writes nothing and exits 1 naming each file that is out of date
(tests/test_docs.py asserts the same). The text around the blocks is hand-written.

Sources: the command table from ``etl.cli.build_parser()`` (each subcommand's usage and help),
the exit codes from ``ExitCode``, the problem codes from ``etl.errors.CATALOGUE``, the
attendance items from ``etl.attendance.items``, the settings from ``etl.config.SPEC``, the
workbook's sheets and settings from ``etl.workbook.model`` and ``howto`` and the ledger file's headers from
``etl.ledger.rows.COLUMNS``.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from etl.attendance.items import markdown_table as attendance_items_markdown
from etl.config import config_markdown
from etl.errors import ExitCode, catalogue_markdown
from etl.ledger.rows import COLUMNS as LEDGER_COLUMNS
from etl.workbook.howto import FIELD_HELP, SETTING_HELP
from etl.workbook.model import (
    FALSE_WORDS,
    HEADERS,
    SETTING_ITEMS,
    SHEET_DIVISIONS,
    SHEET_FIELDS,
    SHEET_HOWTO,
    SHEET_MASTER,
    SHEET_OUTPUT,
    SHEET_OVERRIDES,
    SHEET_SETTINGS,
    SHEET_TYPES,
    SYNC_FIELDS,
    TRUE_WORDS,
)

ROOT = Path(__file__).resolve().parent.parent
PROG = "python run_etl.py"

# Markers stand alone on their line; the same text inside a sentence is left alone.
_BLOCK = re.compile(
    r"^(?P<begin><!-- BEGIN generated:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)^(?P<end><!-- END generated:(?P=name) -->)$",
    re.S | re.M)
_MARKER = re.compile(r"^<!-- (BEGIN|END) generated:(.*?) -->$", re.M)

# What each exit code means to the person who reads it (ExitCode holds the numbers).
EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.SUCCESS: "正常終了",
    ExitCode.PARTIAL: "一部エラー (一部の行が失敗し、残りは完了)",
    ExitCode.USAGE: "使い方・設定の誤り (同時実行のロックを含む)",
    ExitCode.INVALID_INPUT: "ブックまたは入力ファイルが不正 (何も書き込んでいません)",
    ExitCode.API_UNAVAILABLE: "勤怠 API に拒否された・接続できない (認証、IP 制限、ネットワーク、TLS)",
    ExitCode.RESTRICTED_HOURS: "利用制限時間帯 (それ以上は送信していません)",
    ExitCode.INTERRUPTED: "中断 (Ctrl+C)。ここまでの結果をレポート (状況「中断」) に書き出しています",
}

# What each sheet of the mapping workbook is for (its columns come from HEADERS).
SHEET_PURPOSES: dict[str, str] = {
    SHEET_HOWTO: "記入方法",
    SHEET_SETTINGS: "設定 (下の一覧)",
    SHEET_FIELDS: "項目ごとの連携のオン/オフ。必須 (※1) は新規登録時には常に送信",
    SHEET_DIVISIONS: "部署 → 所属",
    SHEET_TYPES: "社員区分 → 雇用区分",
    SHEET_OVERRIDES: "1人ごとの上書き (異動日つき)",
    SHEET_OUTPUT: "勤怠 CSV の列 (この順)",
    SHEET_MASTER: "ドロップダウンの一覧 (非表示)",
}


# --- the command line -------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, sub, helps.get(name, "")


def _shown(action: argparse.Action) -> bool:
    return action.help != argparse.SUPPRESS and not isinstance(
        action, (argparse._HelpAction, argparse._SubParsersAction))


def _arg(action: argparse.Action) -> str:
    """One argument as the usage line shows it: ``--mode all|new|update``, ``FILE``, ``--dry-run``."""
    if not action.option_strings:
        return str(action.metavar or action.dest)
    flag = next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
    if action.nargs == 0:
        return flag
    if action.metavar:
        value = str(action.metavar)
    elif action.choices:
        value = "|".join(str(c) for c in action.choices)
    else:
        value = action.dest.upper()
    return f"{flag} {value}"


def _spellings(action: argparse.Action) -> str:
    """Every way to write an argument, for the options table: `--verbose`, `-v`."""
    main = _arg(action)
    others = [s for s in action.option_strings if not main.startswith(s + " ") and main != s]
    return ", ".join(f"`{_cell(s)}`" for s in [main, *others])


def usage(parser: argparse.ArgumentParser) -> str:
    """The arguments of one parser, optional ones in brackets, exclusive ones joined by ``|``."""
    groups = parser._mutually_exclusive_groups
    options: list[str] = []
    positionals: list[str] = []
    done: set[int] = set()
    for action in parser._actions:
        if not _shown(action):
            continue
        group = next((g for g in groups if action in g._group_actions), None)
        if group is not None:
            if id(group) in done:
                continue
            done.add(id(group))
            inner = " | ".join(_arg(a) for a in group._group_actions if _shown(a))
            options.append(inner if group.required else f"[{inner}]")
        elif not action.option_strings:
            text = _arg(action)
            positionals.append(f"[{text}]" if action.nargs in ("?", "*") else text)
        else:
            options.append(_arg(action) if action.required else f"[{_arg(action)}]")
    if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        positionals.append("COMMAND …")
    return " ".join(options + positionals)


@dataclass(frozen=True)
class Command:
    """One leaf command of the parser: `ledger load` and `ledger export` are two."""

    words: str  # "sync-employees", "ledger load"
    help: str
    parser: argparse.ArgumentParser
    examples: tuple[str, ...]  # lines of the --help epilog after 「例:」

    @property
    def line(self) -> str:
        return f"{self.words} {usage(self.parser)}".strip()


def _examples(parser: argparse.ArgumentParser, words: str = "") -> tuple[str, ...]:
    """The example lines of a --help epilog (「例:」 then one per line); only those of ``words``."""
    lines = [ln.strip() for ln in (parser.epilog or "").splitlines()[1:] if ln.strip()]
    return tuple(ln for ln in lines if f" {words} " in f"{ln} ")


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    found = []
    for name, sub, help_text in _subcommands(parser):
        nested = list(_subcommands(sub))
        if not nested:
            found.append(Command(name, help_text, sub, _examples(sub)))
        for inner, leaf, inner_help in nested:  # examples live on the parent's --help
            words = f"{name} {inner}"
            found.append(Command(words, inner_help, leaf, _examples(leaf, words) or _examples(sub, words)))
    return found


def _parser() -> argparse.ArgumentParser:
    from etl.cli import build_parser  # the one parser; imported here so importing etl.docs stays light
    return build_parser()


def commands_markdown() -> str:
    """README: the global usage line and one row per command (usage, help), from the parser."""
    parser = _parser()
    lines = [f"`{PROG} {usage(parser)}` (`--help` で全体、`COMMAND --help` で各コマンドの説明と例)", "",
             "| コマンド | 内容 |", "|---|---|"]
    lines += [f"| `{_cell(c.line)}` | {_cell(c.help)} |" for c in commands(parser)]
    return "\n".join(lines)


def command_options_markdown() -> str:
    """docs/commands.md: every command's arguments with their help and examples, from the parser."""
    parser = _parser()
    sections = [_section("共通オプション (COMMAND の前に書きます)", f"{PROG} {usage(parser)}", "", parser, ())]
    sections += [_section(f"`{c.words}`", f"{PROG} {c.line}", c.help, c.parser, c.examples) for c in commands(parser)]
    return "\n\n".join(sections)


def _section(title: str, line: str, help_text: str, parser: argparse.ArgumentParser,
             examples: tuple[str, ...]) -> str:
    out = [f"### {title}", "", f"`{line}`"]
    if help_text:
        out += ["", help_text]
    shown = [a for a in parser._actions if _shown(a)]
    if shown:
        out += ["", "| 引数 | 説明 |", "|---|---|"]
        out += [f"| {_spellings(a)} | {_cell(a.help or '')}{' (必須)' if a.required and a.option_strings else ''} |"
                for a in shown]
    if examples:
        out += ["", "```", *examples, "```"]
    return "\n".join(out)


def exit_codes_markdown() -> str:
    """README: the exit codes, with the commands that can wait out the restricted hours instead."""
    waiting = [c.words for c in commands(_parser())
               if any("--wait" in a.option_strings for a in c.parser._actions)]
    rows = ["| コード | 意味 |", "|---|---|"]
    for code in ExitCode:
        meaning = EXIT_MEANINGS[code]
        if code == ExitCode.RESTRICTED_HOURS and waiting:
            meaning += f"。{' / '.join(f'`{w}`' for w in waiting)} は `--wait` で時間帯の終了を待って続行します"
        rows.append(f"| {int(code)} | {meaning} |")
    return "\n".join(rows)


# --- the catalogues ---------------------------------------------------------------------------


def problem_codes_markdown() -> str:
    return catalogue_markdown()


def settings_markdown() -> str:
    return "| セクション | キー | 既定値 | 説明 |\n|---|---|---|---|\n" + config_markdown()


def workbook_sheets_markdown() -> str:
    rows = ["| シート | 列 (1行目の見出し) | 内容 |", "|---|---|---|"]
    for sheet, purpose in SHEET_PURPOSES.items():
        headers = ", ".join(HEADERS.get(sheet, ())) or "—"
        rows.append(f"| {sheet} | {headers} | {purpose} |")
    return "\n".join(rows)


def workbook_settings_markdown() -> str:
    rows = ["| 項目 | 既定値 | 説明 |", "|---|---|---|"]
    rows += [f"| {label} | {_cell(default) or '(空欄)'} | {_cell(SETTING_HELP[label])} |"
             for label, (_, default) in SETTING_ITEMS.items()]
    rows += ["", "「はい/いいえ」の欄で「はい」と読む値: " + " / ".join(w for w in TRUE_WORDS if w)
             + "。「いいえ」と読む値: " + " / ".join(w for w in FALSE_WORDS if w)
             + " (全角・半角、大文字・小文字は区別しません)。"]
    return "\n".join(rows)


def sync_fields_markdown() -> str:
    rows = [FIELD_HELP, "", "| 本体項目 | 勤怠項目 | 必須 (※1) |", "|---|---|---|"]
    rows += [f"| {label} | `{field}` | {'※1' if required else ''} |" for label, (field, required) in SYNC_FIELDS.items()]
    return "\n".join(rows)


def ledger_headers_markdown() -> str:
    rows = ["| 見出し (`ledger export` が書く名前) | 別名 (取込時に認識) | 必須 |", "|---|---|---|"]
    rows += [f"| {c.label} | {' · '.join(c.aliases) or '—'} | {'必須' if c.required else ''} |" for c in LEDGER_COLUMNS]
    return "\n".join(rows)


BLOCKS: dict[str, Callable[[], str]] = {
    "commands": commands_markdown,
    "command-options": command_options_markdown,
    "exit-codes": exit_codes_markdown,
    "problem-codes": problem_codes_markdown,
    "attendance-items": attendance_items_markdown,
    "settings": settings_markdown,
    "workbook-sheets": workbook_sheets_markdown,
    "workbook-settings": workbook_settings_markdown,
    "sync-fields": sync_fields_markdown,
    "ledger-headers": ledger_headers_markdown,
}


# --- the files --------------------------------------------------------------------------------


def doc_files(root: Path = ROOT) -> list[Path]:
    """The files that may hold generated blocks: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def render(text: str, blocks: dict[str, str] | None = None, where: str = "") -> str:
    """``text`` with every generated block replaced by its current content.

    An unknown block name, or a BEGIN without its END, is a ValueError naming ``where``."""
    made: dict[str, str] = {} if blocks is None else blocks
    for match in _MARKER.finditer(text):
        if match.group(2) not in BLOCKS:
            raise ValueError(f"{where}: 生成ブロック「{match.group(2)}」はありません (使えるもの: {', '.join(BLOCKS)})")
    markers = len(_MARKER.findall(text))
    if markers != 2 * len(_BLOCK.findall(text)):
        raise ValueError(f"{where}: 生成ブロックの BEGIN と END の行が対になっていません")

    def fill(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in made:
            made[name] = BLOCKS[name]().rstrip("\n")
        return f"{m.group('begin')}{made[name]}\n{m.group('end')}"

    return _BLOCK.sub(fill, text)


def stale_files(root: Path = ROOT, *, write: bool = False) -> list[Path]:
    """The doc files whose generated blocks are out of date (rewritten when ``write``).

    Every file is rendered before any is written, so a bad marker anywhere changes nothing."""
    made: dict[str, str] = {}
    fresh: dict[Path, str] = {}
    for path in doc_files(root):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            new = render(text, made, where=path.relative_to(root).as_posix())
            if new != text:
                fresh[path] = new
    if write:
        for path, text in fresh.items():
            path.write_text(text, encoding="utf-8", newline="\n")
    return list(fresh)


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.docs", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true", help="書き換えずに、古いファイルがあれば一覧を出して終了コード 1")
    args = parser.parse_args(argv)
    try:
        stale = stale_files(root, write=not args.check)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    names = [p.relative_to(root).as_posix() for p in stale]
    if args.check:
        for name in names:
            print(f"{name}: 生成ブロックが古くなっています。`python -m etl.docs` で更新してください。", file=sys.stderr)
        return 1 if stale else 0
    print("更新しました: " + ", ".join(names) if names else "すべて最新です")
    return 0


if __name__ == "__main__":
    sys.exit(main())

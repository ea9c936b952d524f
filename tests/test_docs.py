"""The README and docs/: generated blocks are current, placed where readers look, links resolve."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from etl import docs
from etl.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# where each generated block must appear (a new block has to be placed somewhere)
PLACES = {
    "commands": "README.md",
    "exit-codes": "README.md",
    "command-options": "docs/commands.md",
    "problem-codes": "docs/problem-codes.md",
    "attendance-items": "docs/attendance.md",
    "settings": "docs/configuration.md",
    "workbook-sheets": "docs/workbook.md",
    "workbook-settings": "docs/workbook.md",
    "sync-fields": "docs/workbook.md",
    "ledger-headers": "docs/workbook.md",
}


def test_every_generated_block_is_current():
    stale = [p.relative_to(ROOT).as_posix() for p in docs.stale_files(ROOT)]
    assert stale == [], f"生成ブロックが古い: {stale} — `python -m etl.docs` で更新してください"


@pytest.mark.parametrize("name", sorted(docs.BLOCKS))
def test_each_block_sits_where_its_readers_look(name):
    assert name in PLACES, f"新しい生成ブロック {name}: どのファイルに置くか PLACES に書いてください"
    text = (ROOT / PLACES[name]).read_text(encoding="utf-8")
    assert f"<!-- BEGIN generated:{name} -->\n" in text


def test_readme_is_at_most_200_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    pytest_lines = [ln.strip() for ln in ci if ln.strip().startswith("python -m pytest")]
    assert pytest_lines == ["python -m pytest"]
    readme = README.read_text(encoding="utf-8")
    assert "pip install -r requirements.txt -r requirements-dev.txt && python -m pytest\n" in readme


def test_readme_names_every_command_of_the_parser():
    readme = README.read_text(encoding="utf-8")
    names = [c.words for c in docs.commands(build_parser())]
    assert "ledger load" in names and "sync-employees" in names
    for name in names:
        assert f"| `{name}" in readme, name


def test_the_problem_code_table_holds_every_code():
    from etl.errors import CATALOGUE
    text = (ROOT / "docs" / "problem-codes.md").read_text(encoding="utf-8")
    for code in CATALOGUE:
        assert f"| `{code}` |" in text


def test_links_between_the_manuals_resolve():
    for path in docs.doc_files(ROOT):
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "#")):
                continue
            assert (path.parent / target.split("#")[0]).exists(), f"{path.relative_to(ROOT)}: {target}"


def _toy_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toy")
    p.add_argument("--config", metavar="FILE")
    p.add_argument("--verbose", "-v", action="store_true")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    c = sub.add_parser("pick", help="選ぶ")
    c.add_argument("--month", required=True)
    g = c.add_mutually_exclusive_group()
    g.add_argument("--employees", metavar="CODES")
    g.add_argument("--employees-file", metavar="F")
    c.add_argument("--mode", choices=("all", "new"), default="all")
    c.add_argument("--hidden", help=argparse.SUPPRESS)
    c.add_argument("dir", nargs="?")
    n = sub.add_parser("book", help="台帳")
    nsub = n.add_subparsers(dest="action", metavar="ACTION")
    nsub.add_parser("load", help="取り込む").add_argument("file")
    return p


@pytest.mark.parametrize("words, expected", [
    ("", "[--config FILE] [--verbose] COMMAND …"),
    ("pick", "--month MONTH [--employees CODES | --employees-file F] [--mode all|new] [dir]"),
    ("book load", "file"),
], ids=["top", "required-exclusive-choices-hidden", "nested"])
def test_usage_is_read_from_the_parser(words, expected):
    parser = _toy_parser()
    if not words:
        assert docs.usage(parser) == expected
        return
    found = {c.words: c for c in docs.commands(parser)}
    assert set(found) == {"pick", "book load"}
    assert docs.usage(found[words].parser) == expected


def test_a_pipe_in_a_usage_line_is_escaped_in_the_table():
    table = docs.commands_markdown()
    assert "[--employees CODES \\| --employees-file F]" in table


def test_render_rewrites_only_the_blocks():
    text = ("intro `<!-- BEGIN generated:exit-codes -->` in a sentence stays\n"
            "<!-- BEGIN generated:exit-codes -->\nold\n<!-- END generated:exit-codes -->\nafter\n")
    out = docs.render(text)
    assert out.startswith("intro `<!-- BEGIN generated:exit-codes -->` in a sentence stays\n")
    assert "old" not in out and "| 3 | ブックまたは入力ファイルが不正" in out and out.endswith("-->\nafter\n")
    assert docs.render(out) == out


@pytest.mark.parametrize("text, says", [
    ("<!-- BEGIN generated:nope -->\n<!-- END generated:nope -->\n", "「nope」はありません"),
    ("<!-- BEGIN generated:exit-codes -->\nno end\n", "対になっていません"),
    ("<!-- BEGIN generated:exit-codes -->\n<!-- END generated:commands -->\n", "対になっていません"),
], ids=["unknown-name", "missing-end", "mismatched-end"])
def test_a_bad_marker_is_named(text, says):
    with pytest.raises(ValueError, match=says):
        docs.render(text, where="README.md")


def test_check_reports_stale_files_and_write_fixes_them(tmp_path, capsys):
    stale = "# t\n<!-- BEGIN generated:exit-codes -->\nold\n<!-- END generated:exit-codes -->\n"
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("no blocks\n", encoding="utf-8")
    assert docs.main(["--check"], root=tmp_path) == 1
    assert "README.md: 生成ブロックが古くなっています" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == stale
    assert docs.main([], root=tmp_path) == 0
    assert "更新しました: README.md" in capsys.readouterr().out
    assert docs.main(["--check"], root=tmp_path) == 0


def test_a_bad_marker_anywhere_writes_nothing(tmp_path, capsys):
    stale = "<!-- BEGIN generated:exit-codes -->\nold\n<!-- END generated:exit-codes -->\n"
    (tmp_path / "README.md").write_text(stale, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "z.md").write_text("<!-- BEGIN generated:typo -->\n<!-- END generated:typo -->\n",
                                            encoding="utf-8")
    assert docs.main([], root=tmp_path) == 2
    assert "docs/z.md: 生成ブロック「typo」はありません" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == stale

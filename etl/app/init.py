"""`init [DIR]`: a commented etl.toml with every setting, and a copy of the workbook template in
DIR/data/ (the workbook HR edits holds employee codes and names: an owner-only folder, and never the
tracked templates/mapping.xlsx of the repository)."""
from __future__ import annotations

import shutil
from pathlib import Path

from etl.app.context import Context
from etl.app.options import InitOptions
from etl.config import render_default_toml
from etl.errors import ExitCode, UsageError
from etl.fileio import private_dir, write_text

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "mapping.xlsx"


def init_project(target: Path, *, force: bool = False) -> list[Path]:
    """Write target/etl.toml and target/data/mapping.xlsx; returns what was written."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    cfg = target / "etl.toml"
    if cfg.exists() and not force:
        raise UsageError(f"{cfg} は既にあります。上書きするには --force を付けてください")
    write_text(cfg, render_default_toml(), private=False)
    written.append(cfg)
    for folder in ("data", "reports", "output", "logs"):  # personal data: owner-only folders
        private_dir(target / folder)
    book = target / "data" / "mapping.xlsx"
    if TEMPLATE.is_file() and not book.exists():
        shutil.copyfile(TEMPLATE, book)
        written.append(book)
    return written


def init_command(ctx: Context, opts: InitOptions) -> int:
    target = Path(opts.dir)
    for path in init_project(target, force=opts.force):
        ctx.out(f"作成しました: {path}")
    ctx.out("次に: 環境変数 KOT_TOKEN にアクセストークンを設定し、"
            "`python run_etl.py test-connection` で接続を確認してください。")
    return ExitCode.SUCCESS

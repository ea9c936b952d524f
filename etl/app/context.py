"""One run's context: settings, clock, output streams, and — created lazily, once per process run —
one attendance API client, one ledger and each workbook read once.

Every command receives a ``Context``; the batch passes the same one to its steps, so `run` reads
the workbook once, builds one client (one rate-limit window) and its report counts every request.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from etl.config import Secret, Settings, load_settings, mask
from etl.fileio import from_cwd
from etl.text import one_line

if TYPE_CHECKING:  # pragma: no cover
    from etl.clock import Clock
    from etl.kot.client import KotClient
    from etl.ledger.store import Ledger
    from etl.workbook.model import MappingBook

log = logging.getLogger(__name__)


@dataclass
class Context:
    env: dict[str, str]
    stdout: TextIO
    stderr: TextIO
    config: str | None = None
    reports_dir: str | None = None
    verbose: bool = False
    clock: Clock | None = None  # injected by tests and replays; else the settings' (ETL_NOW or real time)
    settings_override: Settings | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, init=False, repr=False)
    _client: KotClient | None = field(default=None, init=False, repr=False)
    _ledger: Ledger | None = field(default=None, init=False, repr=False)
    _books: dict[Path, MappingBook] = field(default_factory=dict, init=False, repr=False)

    # --- settings -----------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """Loaded on first use, so `sandbox` and `--help` need no configuration."""
        if self._settings is None:
            self._settings = self.settings_override or load_settings(
                self.config, env=self.env, reports_dir=self.reports_dir, clock=self.clock)
        return self._settings

    @property
    def loaded(self) -> bool:
        return self._settings is not None

    def secrets(self) -> tuple[Secret | str | None, ...]:
        """What must never be shown: the token and the SMTP password (or the raw env token before
        the settings are loaded)."""
        if self._settings is not None:
            return (self._settings.token, self._settings.mail_password)
        return (self.env.get("KOT_TOKEN"),)

    def mask(self, text: str) -> str:
        return mask(text, *self.secrets())

    # --- shared resources, once per process run -----------------------------------------------
    def client(self) -> KotClient:
        if self._client is None:
            from etl.kot.client import KotClient
            self._client = KotClient.from_settings(self.settings)
        return self._client

    def ledger(self) -> Ledger:
        if self._ledger is None:
            from etl.ledger.store import open_ledger
            self._ledger = open_ledger(self.settings.ledger_url, self.settings.ledger.busy_timeout_s)
        return self._ledger

    def workbook_path(self, given: str | None) -> Path:
        return from_cwd(given) if given else self.settings.path("workbook")

    def book(self, path: Path) -> MappingBook:
        """The workbook at ``path``, read once per run (a broken one raises WorkbookError, exit 3)."""
        key = path.resolve()
        if key not in self._books:
            from etl.workbook.read import read_workbook
            self._books[key] = read_workbook(path)
        return self._books[key]

    def forget_books(self) -> None:
        """The scheduler re-reads the workbook before each run: HR may have edited it."""
        self._books.clear()

    def close(self) -> None:
        """End of the process run: the client's keep-alive connections end here."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- output -------------------------------------------------------------------------------
    def out(self, text: str = "") -> None:
        """Lines on stdout; a path or name inside them may hold control characters (ESC, CR, NUL…):
        shown escaped, so no file name can drive the terminal or overwrite a line."""
        print("\n".join(map(one_line, text.split("\n"))), file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        """One stderr line: API error text and paths may hold line breaks or control characters
        (shown escaped), and every secret is masked."""
        print(one_line(self.mask(text)), file=self.stderr, flush=True)

    def progress_stream(self) -> TextIO | None:
        """stderr when it is a terminal (progress bars), else None."""
        return self.stderr if getattr(self.stderr, "isatty", lambda: False)() else None

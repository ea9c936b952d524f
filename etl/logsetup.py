"""Logging for the long-running commands: logs/etl.log (rotating, owner-only) and stderr.

Every handler carries a ``SecretFilter`` so the token (and the SMTP password) never reach a log
line, an exception text or a stack, whatever logger the record came from.
"""
from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import quote

from etl.clock import JST
from etl.config import Secret, mask
from etl.fileio import PRIVATE_FILE, private_dir

if TYPE_CHECKING:  # pragma: no cover
    from etl.config import Settings

LOG_NAME = "etl.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 5
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STDERR_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class SecretFilter(logging.Filter):
    """Replaces every secret value in a record's message, exception and stack with ***."""

    def __init__(self, *secrets: Secret | str | None):
        super().__init__()
        values = [s.reveal() if isinstance(s, Secret) else s for s in secrets if s]
        # also as a URL path segment (urllib3's debug lines show /tokens/<token>/available quoted)
        self.secrets = tuple(dict.fromkeys(v for value in values for v in (value, quote(value, safe=""))))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = mask(record.getMessage(), *self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, *self.secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, *self.secrets)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files (the first and each one after a rollover) are 0o600."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
        try:
            os.chmod(self.baseFilename, PRIVATE_FILE)  # an existing file keeps its old mode otherwise
        except OSError:  # pragma: no cover - e.g. a file owned by someone else
            pass
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


@dataclass
class LogSetup:
    """What ``setup_logging`` changed, so ``close`` can put the root logger back as it was."""

    path: Path
    handlers: list[logging.Handler]
    _saved_handlers: list[logging.Handler] = field(default_factory=list)
    _saved_level: int = logging.WARNING

    def close(self) -> None:
        root = logging.getLogger()
        for h in self.handlers:
            root.removeHandler(h)
            h.close()
        for h in self._saved_handlers:
            root.addHandler(h)
        root.setLevel(self._saved_level)
        self.handlers = []

    def __enter__(self) -> LogSetup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jst(formatter: logging.Formatter) -> logging.Formatter:
    """Time stamps in JST, like every time the tool shows, whatever the machine's zone."""
    formatter.converter = lambda secs: dt.datetime.fromtimestamp(secs or 0.0, JST).timetuple()
    return formatter


def setup_logging(settings: Settings, *, stream: TextIO | None = None, verbose: bool = False,
                  stderr_level: int = logging.INFO) -> LogSetup:
    """Send log records to ``<logs>/etl.log`` (INFO, or DEBUG with --verbose) and to ``stream``
    (``stderr_level``); both masked. Replaces the root handlers until ``close()``."""
    folder = private_dir(settings.path("logs"))
    path = folder / LOG_NAME
    secret_filter = SecretFilter(settings.token, settings.mail_password)
    level = logging.DEBUG if verbose else logging.INFO

    file_handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT,
                                              encoding="utf-8")
    file_handler.setFormatter(_jst(logging.Formatter(FILE_FORMAT)))
    file_handler.setLevel(level)
    err_handler = logging.StreamHandler(stream or sys.stderr)
    err_handler.setFormatter(_jst(logging.Formatter(STDERR_FORMAT, datefmt="%H:%M:%S")))
    err_handler.setLevel(min(level, stderr_level) if verbose else stderr_level)
    for handler in (file_handler, err_handler):
        handler.addFilter(secret_filter)

    root = logging.getLogger()
    setup = LogSetup(path=path, handlers=[file_handler, err_handler],
                     _saved_handlers=list(root.handlers), _saved_level=root.level)
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(file_handler)
    root.addHandler(err_handler)
    root.setLevel(level)
    return setup

"""Atomic, owner-only file writes: never a half-written file, personal data kept private."""
from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; a new leaf folder is owner-only."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(path, PRIVATE_DIR)
    return path


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "wb", *, private: bool = True, **kw) -> Iterator[IO]:
    """Write to a temp file beside ``path`` and rename it over ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if private:
            with contextlib.suppress(OSError):
                os.chmod(tmp, PRIVATE_FILE)
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path: Path, data: bytes, *, private: bool = True) -> Path:
    with atomic_open(path, "wb", private=private) as fh:
        fh.write(data)
    return Path(path)


def write_text(path: Path, text: str, *, encoding: str = "utf-8", newline: str | None = None,
               private: bool = True) -> Path:
    with atomic_open(path, "w", private=private, encoding=encoding, newline=newline) as fh:
        fh.write(text)
    return Path(path)


def from_cwd(given: str | Path, cwd: Path | None = None) -> Path:
    """A path the user typed: ~ expanded, relative to the current folder (``cwd`` when given)."""
    p = Path(given).expanduser()
    return p if p.is_absolute() else (cwd or Path.cwd()) / p


def expanded_size(archive: zipfile.ZipFile | Path) -> int:
    """What the parts of a zip (an xlsx) expand to, as its directory declares: checked before any
    part is parsed. zipfile refuses a part that expands beyond its declared size (size/CRC check)."""
    if isinstance(archive, zipfile.ZipFile):
        return sum(info.file_size for info in archive.infolist())
    with zipfile.ZipFile(archive) as zf:
        return sum(info.file_size for info in zf.infolist())

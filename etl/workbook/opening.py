"""Open a workbook file with openpyxl, or fail with one line that names the file.

Not found, not a zip, truncated, an Excel 97-2003 file, a password-protected (encrypted OLE)
file, a zip without a workbook inside: each becomes a ``WorkbookError`` (exit 3) whose message
says what to do. Formulas are never evaluated; openpyxl's warnings are not shown to the user.
Bounded: a folder, FIFO or device is refused before it is opened (a FIFO would block forever),
and a workbook whose parts would expand beyond MAX_EXPANDED_BYTES is refused before parsing.
"""
from __future__ import annotations

import os
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from etl.errors import Problem, WorkbookError
from etl.fileio import expanded_size

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# the parts of a mapping workbook expand to a few MB (a 100,000-row 個別設定 sheet to ~30 MB)
MAX_EXPANDED_BYTES = 256 * 1024 * 1024


class open_workbook:  # noqa: N801 - used as a context manager
    """Open ``path`` with openpyxl (formulas not evaluated) or raise a one-line WorkbookError."""

    def __init__(self, path: Path, *, read_only: bool, max_expanded: int = MAX_EXPANDED_BYTES):
        self.path = Path(path)
        self.read_only = read_only
        self.max_expanded = max_expanded
        self.fh: BinaryIO | None = None
        self.wb: Any = None

    def __enter__(self):
        import openpyxl

        path = self.path
        if not path.exists():
            raise WorkbookError(Problem.of("workbook-not-found", path=path).message,
                                [Problem.of("workbook-not-found", path=path)])
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise unreadable(path, "フォルダーです")
        if not stat.S_ISREG(mode):
            raise unreadable(path, "通常のファイルではありません (FIFO・デバイスなど)")
        try:
            fh = self.fh = open(path, "rb")  # noqa: SIM115 - closed in __exit__ (read-only keeps it open)
            head = fh.read(8)
            fh.seek(0)
            if head == OLE_MAGIC:
                raise encrypted(path) if is_encrypted(path) else unreadable(
                    path, "Excel 97-2003 形式 (.xls) のファイルです")
            if head[:2] != b"PK":
                raise unreadable(path, "Excel ブックではありません")
            size = expanded_size(path)
            if size > self.max_expanded:
                p = Problem.of("workbook-too-large", path=path, size=f"展開後 {size / 2**20:,.1f} MB",
                               limit=f"{self.max_expanded / 2**20:,.0f} MB")
                raise WorkbookError(p.message, [p])
            with warnings.catch_warnings():  # "extension not supported" and the like: not the user's concern
                warnings.simplefilter("ignore")
                self.wb = openpyxl.load_workbook(self.fh, read_only=self.read_only, data_only=False,
                                                 keep_links=False)
        except WorkbookError:
            self._close()
            raise
        except PermissionError:
            self._close()
            raise unreadable(path, "読み取りの権限がないか、他のプログラムが使用中です") from None
        except IsADirectoryError:
            self._close()
            raise unreadable(path, "フォルダーです") from None
        except Exception as e:  # zip/XML damage surfaces as many types inside openpyxl
            self._close()
            reason = "ファイルが途中で切れているか壊れています" if isinstance(e, zipfile.BadZipFile) else (
                f"xlsx の構造がありません: {type(e).__name__}")
            raise unreadable(path, reason) from None
        return self.wb

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self.wb is not None and self.read_only:
            self.wb.close()
        if self.fh is not None:
            self.fh.close()


def is_encrypted(path: Path) -> bool:
    data = path.read_bytes()
    return "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data


def unreadable(path: Path, reason: str) -> WorkbookError:
    p = Problem.of("workbook-unreadable", path=path, reason=reason)
    return WorkbookError(p.message, [p])


def encrypted(path: Path) -> WorkbookError:
    p = Problem.of("workbook-encrypted", path=path)
    return WorkbookError(p.message, [p])

"""reports/index.html read back as its rows of cell texts (tags stripped), for assertions."""
from __future__ import annotations

import re
from pathlib import Path


def index_rows(html: str) -> list[list[str]]:
    body = re.search(r'<table id="runs-table".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def index_of(report: Path) -> list[list[str]]:
    """The rows of the index beside a run's report.html (reports/<run>/report.html → reports/index.html)."""
    return index_rows((Path(report).parent.parent / "index.html").read_text(encoding="utf-8"))

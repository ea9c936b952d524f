"""Plain data from the attendance side: the masters the workbook is checked against."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Masters:
    """Live masters from the attendance API: code → name."""

    divisions: dict[str, str] = field(default_factory=dict)  # 所属
    working_types: dict[str, str] = field(default_factory=dict)  # 雇用区分

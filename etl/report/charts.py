"""Inline SVG bar charts for the HTML report (pure: data in, markup text out).

Horizontal bars, because the labels are Japanese division and employee names. No external
assets and no xmlns URL (inline SVG in HTML5 needs none). Every label is escaped here; the
caller marks the returned text safe.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

COLOURS = {"": "#3b6ea8", "warning": "#d08a00", "error": "#c62828"}
ROW_H = 22
LABEL_W = 150
VALUE_W = 44
TOP = 8
AXIS_H = 26
MAX_LABEL_CHARS = 11


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    level: str = ""  # "" | "warning" | "error": the bar's colour
    detail: str = ""  # tooltip text (defaults to "label: value unit")


@dataclass(frozen=True)
class RefLine:
    """A vertical reference line, e.g. the 45-hour limit."""

    value: float
    label: str
    level: str = "warning"


def nice_max(value: float) -> float:
    """The axis end: the next 1, 2, 2.5 or 5 × 10^n at or above ``value`` (at least 1)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str = "", lines: Sequence[RefLine] = (),
              width: int = 440, limit: int = 60) -> str:
    """An SVG horizontal bar chart; at most ``limit`` bars (the caller says so when it cuts).

    The drawing is 440 units wide and the page scales it to the column (CSS width 100%, at most
    600 px): on a 390 px phone its 12-unit text stays about 10 px tall, on a desktop about 16 px."""
    bars = list(bars)[:limit]
    if not bars:
        return ""
    top = max([b.value for b in bars] + [ln.value for ln in lines] + [0.0])
    axis_max = nice_max(top)
    plot_w = width - LABEL_W - VALUE_W
    height = TOP + len(bars) * ROW_H + AXIS_H

    def x(v: float) -> float:
        return LABEL_W + max(v, 0.0) / axis_max * plot_w

    t = escape(title)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{t}" preserveAspectRatio="xMinYMin meet">', f"<title>{t}</title>"]
    for i in range(5):  # grid and ticks at 0, 1/4 … 4/4
        v = axis_max * i / 4
        gx = f"{x(v):.1f}"
        out.append(f'<line x1="{gx}" x2="{gx}" y1="{TOP}" y2="{height - AXIS_H}" stroke="#ddd"/>')
        out.append(f'<text x="{gx}" y="{height - AXIS_H + 16}" font-size="11" text-anchor="middle" '
                   f'fill="#555">{escape(_fmt(v))}</text>')
    if unit:
        out.append(f'<text x="{width - 4}" y="{height - 4}" font-size="11" text-anchor="end" '
                   f'fill="#555">({escape(unit)})</text>')
    for i, b in enumerate(bars):
        y = TOP + i * ROW_H
        w = x(b.value) - LABEL_W
        colour = COLOURS.get(b.level, COLOURS[""])
        tip = escape(b.detail or f"{b.label}: {_fmt(b.value)}{unit}")
        out.append(f"<g><title>{tip}</title>")
        out.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                   f"{escape(_short(b.label))}</text>")
        out.append(f'<rect x="{LABEL_W}" y="{y + 4}" width="{w:.1f}" height="{ROW_H - 8}" '
                   f'fill="{colour}" rx="2"/>')
        out.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 15}" font-size="11" fill="#333">'
                   f"{escape(_fmt(b.value))}</text></g>")
    for ln in lines:
        lx = f"{x(ln.value):.1f}"
        colour = COLOURS.get(ln.level, COLOURS["warning"])
        out.append(f'<line x1="{lx}" x2="{lx}" y1="{TOP - 4}" y2="{height - AXIS_H}" stroke="{colour}" '
                   f'stroke-width="1.5" stroke-dasharray="4 3"><title>{escape(ln.label)}</title></line>')
    out.append("</svg>")
    return "".join(out)

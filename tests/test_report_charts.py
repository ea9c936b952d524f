"""The inline SVG bar charts (pure)."""
from __future__ import annotations

import re

import pytest

from etl.report.charts import Bar, RefLine, bar_chart, nice_max


@pytest.mark.parametrize(("value", "expected"), [
    (0, 1), (-3, 1), (0.4, 0.5), (1, 1), (7, 10), (45, 50), (104.5, 200), (610, 1000), (2400, 2500),
], ids=lambda v: str(v))
def test_nice_max(value, expected):
    assert nice_max(value) == pytest.approx(expected)


def test_no_bars_no_chart():
    assert bar_chart([], title="t") == ""


def test_bars_scale_to_the_axis_and_labels_are_escaped():
    svg = bar_chart([Bar("営業部", 50), Bar("<b>&開発</b>", 100, level="error")], title="所属<別>", unit="時間")
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;&amp;開発&lt;/b&gt;" in svg and "所属&lt;別&gt;" in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])  # 50 vs 100 on a 0–100 axis
    assert 'fill="#c62828"' in svg  # the error bar is red
    assert "http" not in svg  # no xmlns URL: inline SVG in HTML needs none


def test_reference_lines_extend_the_axis_and_long_lists_are_cut():
    svg = bar_chart([Bar(f"社員{i}", 10 + i) for i in range(100)], title="t", lines=[RefLine(100, "月100時間", "error")],
                    limit=20)
    assert svg.count("<rect ") == 20
    assert "月100時間" in svg and ">100<" in svg  # axis reaches the line


def test_long_labels_are_shortened_with_the_full_text_in_the_tooltip():
    svg = bar_chart([Bar("カスタマーサポート第二グループ東日本", 5)], title="t")
    assert "カスタマーサポート第…" in svg and "<title>カスタマーサポート第二グループ東日本: 5</title>" in svg

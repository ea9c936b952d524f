"""At phone width (390 px) no message is clipped or needs sideways scrolling: report.html,
index.html and the mail's HTML part, measured in a real headless Chromium.

CI installs Chromium from the OS packages and sets ETL_REQUIRE_BROWSER=1 (.ci/run): there a
missing browser fails this test instead of skipping it (the ``chrome`` fixture: support/browser.py).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tools.render import mail_html, showcase_result, write_showcase

PHONE = 390


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("phone")
    reports = tmp / "reports"
    folder = write_showcase(reports)
    result = showcase_result()
    result.run_id = folder.name
    return {"report": folder / "report.html", "index": reports / "index.html",
            "mail": mail_html(folder, result, tmp)}


@pytest.mark.parametrize("name", ["report", "index", "mail"])
def test_nothing_is_clipped_or_scrolls_sideways_at_390px(chrome, pages, name):
    chrome.open(pages[name], PHONE)
    assert chrome.evaluate("document.documentElement.clientWidth") == PHONE
    assert chrome.layout_problems() == []


def test_tables_turn_into_stacked_cards_and_charts_fit(chrome, pages):
    chrome.open(pages["report"], PHONE)
    assert chrome.evaluate("getComputedStyle(document.querySelector('#failed-table tr')).display") == "block"
    assert chrome.evaluate("getComputedStyle(document.querySelector('#failed-table thead')).display") == "none"
    assert chrome.evaluate("getComputedStyle(document.querySelector('#reconcile-table tr')).display") == "block"
    widths = chrome.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width)")
    assert widths and all(w <= PHONE - 20 for w in widths)
    # the chart text stays readable: a 12-unit label is drawn at least 9 px tall
    scale = chrome.evaluate("(() => { const s = document.querySelector('svg.chart');"
                            " return s.getBoundingClientRect().width / s.viewBox.baseVal.width; })()")
    assert 12 * scale >= 9
    chrome.open(pages["report"], 1280)  # a desktop keeps the tables
    assert chrome.evaluate("getComputedStyle(document.querySelector('#failed-table tr')).display") == "table-row"


def test_the_check_sees_a_page_that_does_not_fit(chrome, tmp_path):
    """The measurement itself: a wide table without the stacked layout is caught."""
    page = tmp_path / "wide.html"
    cells = "".join(f"<td style='white-space:nowrap'>とても長いメッセージの列その{i}</td>" for i in range(6))
    page.write_text("<!doctype html><html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
                    f"</head><body><table><tr>{cells}</tr></table>"
                    "<div style='overflow:hidden;width:100px;white-space:nowrap'>切れてしまう長い文章がここにあります</div>"
                    "</body></html>", encoding="utf-8")
    chrome.open(page, PHONE)
    found = chrome.layout_problems()
    assert any("page is" in f for f in found)
    assert any("clips or scrolls" in f for f in found)


def test_the_mail_place_column_keeps_a_sheet_name_on_one_line(chrome, pages):
    """「所属マッピング A7」 may break at the space, never one character a line (a narrow column)."""
    chrome.open(pages["mail"], PHONE)
    lines = chrome.evaluate("""(() => {
      const td = [...document.querySelectorAll('td')].find(c => c.textContent.trim().startsWith('所属マッピング'));
      const range = document.createRange();
      range.setStart(td.firstChild, td.firstChild.textContent.indexOf('所'));
      range.setEnd(td.firstChild, td.firstChild.textContent.indexOf('所') + '所属マッピング'.length);
      return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    })()""")
    assert lines == 1


def test_the_render_script_rebuilds_the_mail_of_a_run_with_its_names(tmp_path):
    """render.py --reports builds the mail again from result.json (no names there) and the page."""
    from tools.render import result_from_json

    folder = write_showcase(tmp_path / "reports")
    result = result_from_json(folder)
    failed = {r.employee_code: r.name for r in result.failed_rows()}
    assert failed == {"000006": "山田 太郎", "000007": "ジョンソン・アレクサンダー・クリストファー"}
    html = mail_html(folder, result, tmp_path).read_text(encoding="utf-8")
    assert "000006<br>山田 太郎" in html.replace('<span style="white-space:nowrap">000006</span>', "000006")

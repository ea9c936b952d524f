"""report.html for one run and reports/index.html for all runs (jinja2, autoescape on).

The pages are self-contained: inline CSS, inline SVG charts and one small inline script (its
hash is pinned by a Content-Security-Policy, so nothing else runs and nothing is fetched).
``page_context`` is pure (RunResult → plain data); the write functions are the thin I/O shell.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from etl.errors import CATALOGUE, ERROR, Problem, cap_problems, is_labour_law
from etl.fileio import write_text
from etl.ledger.rows import COLUMNS as LEDGER_COLUMNS
from etl.report import charts
from etl.report.labels import gender_label, job_label, run_label
from etl.report.reconcile import CSV_NAME, page_section
from etl.report.result import ACTION_WORDS, STATUS_LABELS, RunResult, is_failed
from etl.workbook.model import HEADERS, SHEET_MASTER, SYNC_FIELDS

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
EXAMPLE_LIMIT = 500  # unchanged / skip rows shown as examples; the rest are counted
CHART_LIMIT = 60
OPEN_LIMIT = 20  # rows of a long list shown before the rest is folded into <details>
FAILED_LIMIT = 500  # failed employees listed in the page; the rest are counted (result.json keeps 100 per code)
WORKBOOK_SHEETS = frozenset(HEADERS) | {SHEET_MASTER}
INDEX_CACHE = ".index-cache.json"
INDEX_VERSION = 6  # bump when run_summary changes shape: older cache entries are read again

ACTION_LABELS = {"create": "新規登録", "update": "更新", "retire": "退職", "unchanged": "変更なし",
                 "skip": "対象外", "error": "エラー"}
RESULT_LABELS = {"ok": "成功", "failed": "失敗", "planned": "予定"}
SEVERITY_LABELS = {"error": "エラー", "warning": "警告"}
# a change's field in HR's words: the ledger's columns (a ledger load, a pull) and the attendance side's
FIELD_LABELS = {c.field: c.label for c in LEDGER_COLUMNS} | {
    api: label for label, (api, _req) in SYNC_FIELDS.items()} | {
    "divisionCode": "所属", "typeCode": "雇用区分", "updateDate": "異動日"}
# what the rows of a job are: the sync's by default
ROWS_TITLES = {"ledger-load": "台帳の変更", "pull-employees": "台帳への取込"}
COUNT_LABELS = (("succeeded", "成功件数"), ("failed", "失敗件数"), ("created", "作成"), ("updated", "更新"),
                ("retired", "退職"), ("unchanged", "変更なし"), ("skipped", "対象外"))
# a dry run sent nothing: its counts are what would be done
PLAN_COUNT_LABELS = (("planned", "予定件数"), ("failed", "エラー件数"), ("created", "作成予定"),
                     ("updated", "更新予定"), ("retired", "退職予定"), ("unchanged", "変更なし"), ("skipped", "対象外"))
# an import counts employee-months, not employee changes
IMPORT_COUNT_LABELS = (("succeeded", "書き込んだ件数"), ("failed", "書き込めなかった件数"), ("skipped", "対象外"))
# what 実行情報 shows, in HR's words; any other key stays in result.json only
META_LABELS = {"workbook": "ワークブック", "annotated_workbook": "検証結果ブック", "month": "対象月",
               "base_url": "勤怠API", "error": "停止理由", "file": "入力ファイル", "format": "形式",
               "employees": "従業員数", "links_saved": "連携情報を保存した従業員 (名)",
               "waited_s": "利用制限時間帯の待機 (秒)", "inserted": "台帳に追加した従業員 (名)",
               "updated": "台帳を更新した従業員 (名)", "chunks": "取得の回数", "limit": "1回に取得する上限 (名)",
               "api_requests": "勤怠APIへのリクエスト (回)", "api_retries": "再試行 (回)",
               "api_throttled": "混雑による待機 (回)"}
SHOWN_ELSEWHERE = {"workbook", "annotated_workbook", "month", "base_url", "error"}
DEFAULT_LINES = (("overtime_month_hours", 45.0, "月45時間 (限度時間)", "warning"),
                 ("overtime_single_month_limit_hours", 100.0, "月100時間 (単月上限)", "error"))

# Sorting (click a column heading) and filtering (a search box above each table). Without
# JavaScript the tables are complete and the search boxes stay hidden.
TABLE_JS = r"""
(function(){
var d=document;d.documentElement.className+=' js';
function key(r,i){var c=r.cells[i];if(!c)return'';var v=c.getAttribute('data-sort');return v===null?c.textContent.trim():v;}
var num=/^-?[\d,]*\.?\d+$/;
function cmp(a,b){if(num.test(a)&&num.test(b))return parseFloat(a.replace(/,/g,''))-parseFloat(b.replace(/,/g,''));
return a.localeCompare(b,'ja',{numeric:true});}
function sort(t,i,h){var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
var dir=h.getAttribute('aria-sort')==='ascending'?-1:1;
rows.sort(function(p,q){return cmp(key(p,i),key(q,i))*dir;});
Array.prototype.forEach.call(h.parentNode.cells,function(c){c.removeAttribute('aria-sort');});
h.setAttribute('aria-sort',dir>0?'ascending':'descending');
var f=d.createDocumentFragment();rows.forEach(function(r){f.appendChild(r);});b.appendChild(f);}
Array.prototype.forEach.call(d.querySelectorAll('table.sortable'),function(t){
if(!t.tHead||!t.tBodies[0])return;
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(h,i){h.tabIndex=0;h.title='クリックで並べ替え';
h.addEventListener('click',function(){sort(t,i,h);});
h.addEventListener('keydown',function(e){if(e.key==='Enter'){sort(t,i,h);}});});});
Array.prototype.forEach.call(d.querySelectorAll('.filter'),function(box){
var t=d.getElementById(box.getAttribute('data-table')),inp=box.querySelector('input'),n=box.querySelector('.shown'),timer;
box.hidden=false;if(!t||!t.tBodies[0])return;
inp.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(function(){
var q=inp.value.trim().toLowerCase(),k=0;
Array.prototype.forEach.call(t.tBodies[0].rows,function(r){var on=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.hidden=!on;if(on)k++;});
n.textContent=q?k+' 件を表示':'';},120);});});
})();
"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(TABLE_JS.encode()).digest()).decode()
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
       f"script-src '{SCRIPT_HASH}'; form-action 'none'; base-uri 'none'")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["hours"] = _hours
    env.filters["field_label"] = field_label
    env.filters["plain"] = _plain
    env.globals.update(script=Markup(TABLE_JS), csp=Markup(CSP))
    return env


# --- pure helpers ------------------------------------------------------------------------------


def field_label(name: Any) -> str:
    return FIELD_LABELS.get(str(name), str(name))


def _plain(value: Any) -> str:
    """A value as the user reads it: None → (空), lists joined, bools in Japanese."""
    if value is None or value == "":
        return "(空)"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "(空)"
    return str(value)


def _hours(value: Any) -> str:
    try:
        return f"{float(value):,.1f}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else ""


def workbook_link(annotated: str, sheet: str, cell: str) -> str:
    """A relative link to the annotated workbook beside report.html (the fragment names the cell)."""
    href = quote(annotated)
    if sheet and cell:
        href += "#" + quote(f"'{sheet}'!{cell}")
    return href


def named(field: str, value: Any, names: dict[str, dict[str, str]]) -> Any:
    """A value as HR reads it: 男性/女性 for a gender, 「1000 本社」 for a code with a known name."""
    if field == "gender":
        return gender_label(value)
    known = names.get(field) or {}
    if value not in (None, "") and str(value) in known:
        return f"{value} {known[str(value)]}"
    return value


def _pair(change: Any) -> tuple[Any, Any]:
    """A change as (old, new); a bare value is taken as the new one."""
    if isinstance(change, list | tuple):
        return (change[0] if change else None, change[1] if len(change) > 1 else None)
    return None, change


def _row(r, names: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    names = names or {}
    return {"employee_code": r.employee_code, "name": getattr(r, "name", ""), "action": r.action,
            "action_label": ACTION_LABELS.get(r.action, r.action), "result": r.result,
            "result_label": RESULT_LABELS.get(r.result, r.result),
            "failed": is_failed(r),
            "changes": [(field_label(k), *(_plain(named(k, x, names)) for x in _pair(v)))
                        for k, v in r.changes.items()],
            "effective_date": r.effective_date, "message": r.message}


def split_rows(rows: list, names: dict[str, dict[str, str]] | None = None
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """(every error/create/update/retire row, up to EXAMPLE_LIMIT unchanged/skip examples,
    the count of unchanged/skip rows left out per action label)."""
    shown: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    hidden: dict[str, int] = {}
    for r in rows:
        if r.action in ("unchanged", "skip") and r.result != "failed":
            if len(examples) < EXAMPLE_LIMIT:
                examples.append(_row(r, names))
            else:
                label = ACTION_LABELS[r.action]
                hidden[label] = hidden.get(label, 0) + 1
        else:
            shown.append(_row(r, names))
    return shown, examples, hidden


def queue_of(result: RunResult) -> list[dict[str, Any]]:
    """sections["queue"], or else the rows whose effective date is after the run's day."""
    if "queue" in result.sections:
        items = [dict(q) for q in result.sections.get("queue") or []]
    else:
        today = result.started_at.date().isoformat()
        items = [{"employee_code": r.employee_code, "field": k, "old": _pair(v)[0], "new": _pair(v)[1],
                  "effective_date": r.effective_date}
                 for r in result.rows if r.effective_date and r.effective_date > today
                 for k, v in r.changes.items()]
    names = code_names(result)
    items = [{"effective_date": str(q.get("effective_date") or ""), "employee_code": str(q.get("employee_code") or ""),
              "name": str(q.get("name") or ""), "field": field_label(q.get("field", "")),
              "old": _plain(named(str(q.get("field", "")), q.get("old"), names)),
              "new": _plain(named(str(q.get("field", "")), q.get("new"), names))} for q in items]
    return sorted(items, key=lambda q: (q["effective_date"], q["employee_code"]))


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _attendance(att: dict[str, Any]) -> dict[str, Any]:
    """The attendance section, defaults filled in, plus its two charts (overtime by division;
    employees over the limits)."""
    att = dict(att)
    lines = [charts.RefLine(_num(att.get(key, default)), label, level)
             for key, default, label, level in DEFAULT_LINES]
    by_div: list[dict[str, Any]] = [
              {"division": str(d.get("division") or "(所属なし)"), "overtime_hours": _num(d.get("overtime_hours")),
               "employees": int(_num(d.get("employees")))} for d in att.get("by_division") or []]
    by_div.sort(key=lambda d: -d["overtime_hours"])
    over = [{"employee_code": e.get("employee_code", ""), "name": e.get("name", ""),
             "division": e.get("division", ""), "overtime_hours": _num(e.get("overtime_hours")),
             "overtime_plus_holiday_hours": _num(e.get("overtime_plus_holiday_hours")),
             "level": "error" if e.get("level") == "error" else "warning",
             "findings": "、".join(str(t) for t in e.get("findings") or [])}
            for e in att.get("over_threshold") or []]
    over.sort(key=lambda e: (e["level"] != "error", -max(e["overtime_plus_holiday_hours"], e["overtime_hours"])))
    att.update(
        month=att.get("month", ""), is_closed=bool(att.get("is_closed")), employees=att.get("employees"),
        by_division=by_div, over_threshold=over, lines=lines,
        divisions_cut=max(0, len(by_div) - CHART_LIMIT), over_cut=max(0, len(over) - CHART_LIMIT),
        division_chart=Markup(charts.bar_chart(
            [charts.Bar(d["division"], d["overtime_hours"]) for d in by_div],
            title="所属別の時間外労働 (合計)", unit="時間", limit=CHART_LIMIT)),
        over_chart=Markup(charts.bar_chart(
            [charts.Bar(e["name"] or e["employee_code"],  # the name reads at a glance; the code is in the tooltip
                        max(e["overtime_plus_holiday_hours"], e["overtime_hours"]), level=e["level"],
                        detail=f"{e['employee_code']} {e['name']}: "
                               f"{max(e['overtime_plus_holiday_hours'], e['overtime_hours']):.1f}時間"
                               + (f" ({e['findings']})" if e["findings"] else ""))
             for e in over],
            title="上限を超えた従業員 (時間外+休日労働)", unit="時間", lines=lines, limit=CHART_LIMIT)),
        corrections=[{"employee_code": c.get("employee_code", ""), "field": field_label(c.get("field", "")),
                      "old": _plain(c.get("old")), "new": _plain(c.get("new"))}
                     for c in att.get("corrections") or []],
    )
    return att


TODO = {
    "api-row-failed": "台帳の値 (氏名・所属・雇用区分など) と勤怠の設定を確認して直し、再実行してください。"
                      "ほかの従業員は処理済みで、再実行ではこの従業員だけが送られます。",
    "employee-required-missing": "台帳に入力して再実行してください。",
    "employee-code-invalid": "台帳の従業員番号を半角英数字3〜10文字に直してください。",
    "employee-division-unresolved": "シート「所属マッピング」に部署の行を追加し、勤怠所属コードを選んでください。",
    "employee-type-unresolved": "シート「雇用区分マッピング」に社員区分の行を追加し、勤怠雇用区分コードを選んでください。",
    "selection-unknown-employee": "指定した従業員番号を確認してください。",
}
DEFAULT_TODO = "内容を確認して直し、再実行してください。"


def code_names(result: RunResult) -> dict[str, dict[str, str]]:
    """sections["names"]: field → {code: name} (所属 and 雇用区分 from the live masters)."""
    raw = result.sections.get("names") or {}
    return {str(k): {str(c): str(n) for c, n in v.items()} for k, v in raw.items() if isinstance(v, dict)}


def is_law(p: Problem) -> bool:
    """A labour-law finding (36協定, 5-day paid leave): shown in its own section, one row per employee."""
    return _law_code(p.code)


def has_marks(result: RunResult) -> bool:
    """Whether the annotated copy marks any cell (the sentence pointing at it appears only then)."""
    if not result.meta.get("annotated_workbook"):
        return False
    if "annotated_marks" in result.meta:
        return bool(result.meta["annotated_marks"])
    return any(p.sheet in WORKBOOK_SHEETS and p.cell for p in result.problems)


def failed_items(result: RunResult) -> list[dict[str, Any]]:
    """Each failed row as HR acts on it: code, name, what failed, what to do, its catalogue code."""
    by_employee = {p.employee_code: p for p in result.problems if p.severity == ERROR and p.employee_code}
    out = []
    for r in result.failed_rows():
        p = by_employee.get(r.employee_code)
        code = p.code if p is not None else "api-row-failed"
        what = r.message or (p.message if p is not None else "理由不明")
        if r.result == "failed" and r.action in ACTION_WORDS and r.action != "error":
            what = f"{ACTION_WORDS[r.action]}: {what}"
        out.append({"employee_code": r.employee_code, "name": r.name, "code": code,
                    "title": CATALOGUE[code].title if code in CATALOGUE else code,
                    "what": what, "todo": TODO.get(code, DEFAULT_TODO)})
    return out


def where_of(p: Problem) -> str:
    if p.sheet and p.cell:
        return f"{p.sheet} {p.cell}"
    return p.sheet


def problem_item(p: Problem, annotated: str) -> dict[str, Any]:
    linked = bool(annotated) and p.sheet in WORKBOOK_SHEETS
    return {"severity": p.severity, "severity_label": SEVERITY_LABELS.get(p.severity, p.severity),
            "code": p.code, "title": CATALOGUE[p.code].title if p.code in CATALOGUE else p.code,
            "sheet": p.sheet, "cell": p.cell, "where": where_of(p), "employee_code": p.employee_code,
            "message": p.message, "href": workbook_link(annotated, p.sheet, p.cell) if linked else ""}


def finding_text(p: Problem) -> str:
    """The finding without the employee prefix and the advice: 「2026-10 の時間外労働が 50.0時間 で、
    月45時間 (限度時間) を超えています。」 (the advice is once per section; the full text is the tooltip)."""
    text = p.message
    if text.startswith("従業員 ") and ": " in text:  # 「従業員 00012 (山田 太郎): …」: the row says who
        text = text.split(": ", 1)[1]
    head, sep, _rest = text.partition("。")
    return head + sep


def law_rows(result: RunResult, attendance: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per employee with every labour-law finding (month or period, limit, figure)."""
    people: dict[str, dict[str, Any]] = {}
    att = attendance or {}
    known = {str(e.get("employee_code")): e
             for e in [*((att.get("paid_leave") or {}).get("rows") or []), *(att.get("over_threshold") or [])]}
    for p in result.problems:
        if not is_law(p):
            continue
        who = people.get(p.employee_code)
        if who is None:
            info = known.get(p.employee_code, {})
            who = people[p.employee_code] = {
                "employee_code": p.employee_code, "name": str(info.get("name") or ""),
                "division": str(info.get("division") or ""), "level": "warning", "findings": []}
        if p.severity == ERROR:
            who["level"] = "error"
        title = CATALOGUE[p.code].title if p.code in CATALOGUE else p.code
        who["findings"].append({"code": p.code, "title": title, "when": p.value, "message": p.message,
                                "level": p.severity,
                                "figure": finding_text(p)})
    rows = list(people.values())
    rows.sort(key=lambda w: (w["level"] != "error", -len(w["findings"]), w["employee_code"]))
    return rows


def summary_context(result: RunResult) -> dict[str, Any]:
    """What both the page and the mail show: status, counts, what needs action, labour-law
    findings, sections, metadata (pure)."""
    meta = dict(result.meta)
    annotated = str(meta.get("annotated_workbook") or "")
    counts = result.counts()
    counts["planned"] = sum(1 for r in result.rows if r.result == "planned")
    failed = failed_items(result)
    failed_codes = {f["employee_code"] for f in failed}
    others = [p for p in result.problems if not is_law(p)
              and not (p.severity == ERROR and p.employee_code in failed_codes)]
    shown = cap_problems(others)  # the first 100 of a code, then a count
    errors = [problem_item(p, annotated) for p in shown if p.severity == ERROR]
    warnings = [problem_item(p, annotated) for p in shown if p.severity != ERROR]
    n_other_errors = sum(p.severity == ERROR for p in others)
    attendance = _attendance(result.sections["attendance"]) if result.sections.get("attendance") else None
    law = law_rows(result, attendance)
    # labelled keys, and keys a job already wrote in Japanese (出力先, 文字コード); never an internal key
    extra_meta = [(META_LABELS.get(k, k), _plain(v)) for k, v in meta.items()
                  if (k in META_LABELS or not k.isascii()) and k not in SHOWN_ELSEWHERE
                  and isinstance(v, str | int | float | bool)]
    finished = result.finished_at or result.started_at
    is_import = result.job == "import-attendance" or "succeeded" in result.tallies
    # the reconcile job writes the differences CSV beside the page; the nightly summary has none
    reconcile = page_section(result.sections.get("reconcile"), CSV_NAME if result.job == "reconcile" else "")
    if reconcile is not None:  # 「1000 本社」, 男性 / 女性 — as the sync's rows show them
        names = code_names(result)
        reconcile["differences"] = [d | {side: named(d.get("field", ""), d[side], names)
                                         for side in ("ledger", "attendance") if d.get(side) is not None}
                                    for d in reconcile["differences"]]
    # the reconcile job: its rows are findings (one kind each), shown in the 照合 section, not as sync counts
    findings_only = reconcile is not None and result.job == "reconcile"
    # a job that counts nothing (validate, a run stopped before any row) shows no 「成功 0件 / 失敗 0件」,
    # as its terminal line does not: the banner says what happened and the stop reason (the index:
    # counts_something, read from result.json)
    counted = not findings_only and bool(result.rows or result.tallies)
    return {
        "findings_only": findings_only, "counted": counted,
        "r": result, "job_label": job_label(result.job), "status": result.status,
        "status_label": result.status_label,
        "summary": (reconcile["summary"] if findings_only and reconcile is not None
                    else result.headline() if counted else ""),
        "error_line": str(meta.get("error") or ""),
        "counts": counts,
        "count_labels": PLAN_COUNT_LABELS if result.dry_run else (
            IMPORT_COUNT_LABELS if is_import and not result.rows else COUNT_LABELS),
        "failed": failed, "errors": errors, "warnings": warnings,
        "failed_shown": failed[:FAILED_LIMIT],
        "n_failed": len(failed), "n_errors": len(failed) + n_other_errors,
        "n_warnings": len(others) - n_other_errors,
        "law": law, "n_law": len(law), "open_limit": OPEN_LIMIT,
        "n_law_findings": sum(len(w["findings"]) for w in law),
        "annotated": annotated, "annotated_href": quote(annotated) if annotated else "",
        "has_marks": has_marks(result),
        # the reconcile job's pending changes are [ledger, attendance]: told in its 照合 section only
        "queue": [] if findings_only else queue_of(result),
        "attendance": attendance,
        "batch": _batch(result.sections.get("sections") or [], str(meta.get("error") or "")),
        "reconcile": reconcile,
        "mail": result.sections.get("mail"),
        "meta": meta, "extra_meta": extra_meta,
        "started": _when(result.started_at), "finished": _when(finished),
        "duration": _duration(finished - result.started_at),
    }


STOPPED_HERE = "停止 (停止理由のとおり)"


def _batch(parts: list[dict[str, Any]], error_line: str) -> list[dict[str, Any]]:
    """The batch's steps in HR's words; the step that stopped the run points at the banner's
    停止理由 instead of repeating it."""
    return [dict(s, job_label=job_label(s.get("job", "")),
                 summary=STOPPED_HERE if error_line and s.get("summary") == error_line else s.get("summary", ""))
            for s in parts]


def page_context(result: RunResult) -> dict[str, Any]:
    """Everything report.html.j2 shows, as plain data (pure)."""
    rows, examples, hidden = split_rows(result.rows, code_names(result))
    plan = result.dry_run or (bool(result.rows) and all(r.result == "planned" for r in result.rows))
    what = ROWS_TITLES.get(result.job, "同期")
    return summary_context(result) | {
        "rows": rows, "examples": examples, "hidden_rows": hidden, "example_limit": EXAMPLE_LIMIT,
        "has_effective": any(r["effective_date"] for r in rows + examples),
        "plan": plan, "rows_title": f"{what}の計画 (ドライラン)" if plan else f"{what}の結果",
        "rows_link": f"{what}の計画" if plan else f"{what}の結果",
    }


def _duration(delta: dt.timedelta) -> str:
    s = max(0, int(delta.total_seconds()))
    return f"{s // 3600}時間{s % 3600 // 60}分{s % 60}秒" if s >= 3600 else (
        f"{s // 60}分{s % 60}秒" if s >= 60 else f"{s}秒")


def render_report(result: RunResult) -> str:
    return environment().get_template("report.html.j2").render(page_context(result))


def write_report(result: RunResult, path: Path) -> Path:
    """report.html, written atomically and owner-only."""
    return write_text(Path(path), render_report(result))


# --- the index of runs -------------------------------------------------------------------------


def run_summary(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    """One index line from a result.json (pure). An older result.json without ``succeeded``
    counts its ok rows the way the run did."""
    counts = dict(data.get("counts") or {})
    problems = [p for p in data.get("problems") or [] if isinstance(p, dict)]
    status = data.get("status", "")
    if "succeeded" not in counts:
        counts["succeeded"] = sum(int(counts.get(k, 0) or 0) for k in ("created", "updated", "retired", "unchanged"))
    job = str(data.get("job", ""))
    return {"run_id": data.get("run_id") or folder.name, "folder": folder.name, "job": job,
            "job_label": run_label(job, data.get("import")),
            "status": status, "status_label": data.get("status_label") or STATUS_LABELS.get(status, status),
            "started_at": str(data.get("started_at", "")), "finished_at": str(data.get("finished_at", "")),
            "sequence": _sequence(folder.name), "dry_run": bool(data.get("dry_run")),
            "plan_label": plan_label(counts, data.get("import")) if data.get("dry_run") else "",
            "counts": counts, "counted": counts_something(job, data.get("rows"), counts),
            # an import counts employee-months written / not written (report.html: IMPORT_COUNT_LABELS):
            # no 作成 / 更新 / 退職
            "months_only": isinstance(data.get("import"), dict) and not data.get("rows"),
            "n_errors": sum(p.get("severity") == ERROR for p in problems if not _law_code(p.get("code"))),
            "n_warnings": sum(p.get("severity") != ERROR for p in problems if not _law_code(p.get("code"))),
            "n_law": len({p.get("employee_code") for p in problems if _law_code(p.get("code"))}),
            # the reconcile job: its rows are differences (findings), not writes: said beside its name
            # (差異なし only when it ran to the end: a reconcile stopped before comparing found nothing to say)
            "differences": _differences(job, status, data.get("rows"))}


def counts_something(job: str, rows: Any, counts: dict[str, Any]) -> bool:
    """Whether the index shows a run's 成功 / 失敗 / 作成 / 更新 / 退職, as report.html shows its 件数
    (``counted`` in summary_context): a job with rows or counts of its own does; a job that counts
    nothing (validate, a run stopped before any row) and reconcile (its rows are findings) do not:
    their line shows エラー / 警告 (and 差異) only, never 「成功 0 失敗 0 …」."""
    if job == "reconcile":
        return False
    if isinstance(rows, list) and rows:
        return True
    values = counts.values() if isinstance(counts, dict) else ()
    return any(isinstance(v, int | float) and v for v in values)


PLAN_PARTS = (("created", "作成"), ("updated", "更新"), ("retired", "退職"))


def plan_label(counts: dict[str, Any], imported: Any) -> str:
    """A dry run in the index, as report.html shows it: what would be done, never 「成功 0」.
    「予定 作成 3 / 更新 5 (書き込みなし)」, an import's 「予定 300件 (書き込みなし)」, or
    「試行 (書き込みなし)」 when it stopped before planning anything."""
    def n(key: str) -> int:
        try:
            return int(counts.get(key, 0) or 0)
        except (TypeError, ValueError):
            return 0
    parts = [f"{word} {n(key):,}" for key, word in PLAN_PARTS if n(key)]
    if parts:
        what = "予定 " + " / ".join(parts)
    elif isinstance(imported, dict) and n("total"):  # an import: employee-months it would write
        what = f"予定 {n('total'):,}件"
    elif n("total") - n("failed") > 0:
        what = "予定 変更なし"
    else:
        what = "試行"
    return f"{what} (書き込みなし)"


def _differences(job: str, status: str, rows: Any) -> int | None:
    if job != "reconcile":
        return None
    n = len(rows) if isinstance(rows, list) else 0
    return n if n or status == "success" else None


def _law_code(code: Any) -> bool:
    return is_labour_law(code)


def _sequence(folder: str) -> int:
    """2 for 「…-run-2」, the second run of a job in the same second; 1 otherwise."""
    head, _, tail = folder.rpartition("-")
    return int(tail) if head and tail.isdigit() and len(tail) < 4 else 1


def run_order(summary: dict[str, Any]) -> tuple:
    """Runs in the order they happened: start time, then finish time, then the order their
    result.json was written (runs of different jobs in the same second), then a job's same-second
    sequence (…-2, …-3)."""
    return (summary["started_at"], summary.get("finished_at", ""), summary.get("written", 0),
            summary.get("sequence", 1))


def collect_runs(reports_dir: Path) -> list[dict[str, Any]]:
    """Every run folder with a readable result.json, newest first.

    A small cache (reports/.index-cache.json, keyed by folder and result.json's mtime and size)
    keeps this fast when there are years of nightly runs with large result files."""
    cache_path = reports_dir / INDEX_CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        cache = {}
    if not isinstance(cache, dict):  # a cache someone overwrote: rebuilt
        cache = {}
    fresh: dict[str, Any] = {}
    runs = []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir()) if reports_dir.is_dir() else []:
        rj = folder / "result.json"
        try:
            st = rj.stat()
        except OSError:
            continue
        stamp = [st.st_mtime_ns, st.st_size, INDEX_VERSION]
        hit = cache.get(folder.name)
        if isinstance(hit, dict) and hit.get("stamp") == stamp:
            summary = hit["summary"]
        else:
            try:
                summary = run_summary(folder, json.loads(rj.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, AttributeError, RecursionError) as e:
                # skipped; not a WARNING: that would be a second line on the stderr of every later run
                log.info("%s is not readable: %s", rj, e)
                continue
        summary["has_report"] = (folder / "report.html").is_file()
        summary["written"] = st.st_mtime_ns
        fresh[folder.name] = {"stamp": stamp, "summary": summary}
        runs.append(summary)
    if fresh != cache:
        try:
            write_text(cache_path, json.dumps(fresh, ensure_ascii=False))
        except OSError as e:  # the cache only saves time
            log.info("index cache not written: %s", e)
    runs.sort(key=run_order, reverse=True)
    return runs


def write_index(reports_dir: Path) -> Path:
    """reports/index.html: every run, newest first, with status, counts and a link; owner-only."""
    reports_dir = Path(reports_dir)
    runs = collect_runs(reports_dir)
    html = environment().get_template("index.html.j2").render(runs=runs)
    return write_text(reports_dir / "index.html", html)

"""The columns of a ledger file and the pure core of `ledger load`: header + rows → Employees.

Headers are matched NFKC, case- and space-insensitively against each column's label and its
common aliases. Every bad cell becomes a Problem (ledger-* codes) at its line or cell; a row
with any problem is left out, and the caller writes nothing when there is any error. An Excel
error value (#N/A, #REF!, … : a formula that failed in the source book) is refused in every column.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from etl.errors import ERROR, PROBLEMS_PER_CODE, Problem
from etl.ledger.normalize import (
    clean_text,
    nfkc,
    normalize_code,
    normalize_emails,
    parse_date,
    parse_gender,
    to_katakana,
)
from etl.records import EMPLOYEE_FIELDS, Employee
from etl.text import is_excel_error, unneutralise


@dataclass(frozen=True)
class Column:
    field: str  # Employee field
    label: str  # the header written by `ledger export`
    aliases: tuple[str, ...] = ()
    required: bool = False  # header and value required


COLUMNS: tuple[Column, ...] = (
    Column("code", "従業員番号", ("社員番号", "従業員コード", "社員コード"), required=True),
    Column("last_name", "姓", ("氏",), required=True),
    Column("first_name", "名", (), required=True),
    Column("last_name_kana", "姓(カナ)", ("セイ", "姓カナ", "姓(フリガナ)", "姓フリガナ", "姓(かな)")),
    Column("first_name_kana", "名(カナ)", ("メイ", "名カナ", "名(フリガナ)", "名フリガナ", "名(かな)")),
    Column("business_last_name", "ビジネスネーム(姓)", ()),
    Column("business_first_name", "ビジネスネーム(名)", ()),
    Column("department_code", "部署コード", ("所属部署コード",)),
    Column("department_name", "部署名", ("部署", "所属部署", "所属部署名")),
    Column("employee_class", "社員区分", ()),
    Column("gender", "性別", ()),
    Column("birth_date", "生年月日", ()),
    Column("hired_date", "入社年月日", ("入社日",)),
    Column("resignation_date", "退職年月日", ("退職日",)),
    Column("email", "メールアドレス", ("メール", "email", "e-mail", "mail")),
    Column("business_last_name_kana", "ビジネスネーム(セイ)",
           ("ビジネスネーム(姓カナ)", "ビジネスネーム姓(カナ)", "ビジネスネームセイ", "ビジネスネーム(姓フリガナ)")),
    Column("business_first_name_kana", "ビジネスネーム(メイ)",
           ("ビジネスネーム(名カナ)", "ビジネスネーム名(カナ)", "ビジネスネームメイ", "ビジネスネーム(名フリガナ)")),
)
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
DATE_FIELDS = ("birth_date", "hired_date", "resignation_date")
_SPACE = re.compile(r"\s+")


def header_key(text) -> str:
    """How headers are compared: NFKC, case-insensitive, spaces ignored (「姓（カナ）」 = 「姓 (カナ)」)."""
    return _SPACE.sub("", nfkc("" if text is None else str(text))).casefold()


HEADER_FIELDS: dict[str, str] = {header_key(name): c.field for c in COLUMNS for name in (c.label, *c.aliases)}

_BAD_CODE_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")
_EXPONENT = re.compile(r"\d(?:\.\d+)?E\+?\d+", re.IGNORECASE)
MAX_CODE_LENGTH = 64


def code_problem(code: str) -> str | None:
    """Why ``code`` cannot be an employee code (a hint for the user), or None."""
    if _EXPONENT.fullmatch(code):
        return "Excel の指数表記 (例 1.23E+05) になっています。元のファイルで従業員番号の列を「文字列」にして出力し直してください。"
    if _BAD_CODE_CHARS.search(code):
        return "空白・改行・制御文字を含めないでください。"
    if len(code) > MAX_CODE_LENGTH:
        return f"{MAX_CODE_LENGTH} 文字以内にしてください。"
    return None


@dataclass
class Rows:
    """A parsed ledger file: employees in file order, the fields it has, and its problems."""

    employees: list = field(default_factory=list)
    fields: tuple[str, ...] = ()
    problems: list = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)  # employee code → where its code is (C5, line 12)


MAX_ROWS = 200_000  # data rows a ledger file may have (a company of 50,000 fits four times)
BLANK_RUN = 1_000  # rows in a row that are blank in every used column: reading stops there


def zero_key(code: str) -> str:
    """A code without its leading zeros: 00123 and 123 are one person to Excel."""
    return code.lstrip("0") or "0"


def leading_zero_clashes(rows: Rows, existing: Iterable[str], *, sheet: str, where: str = "台帳",
                         accepted: bool | Collection[str] = False) -> list[Problem]:
    """A code of ``rows`` equal to an ``existing`` code up to leading zeros (either way), as
    errors naming both: loading 123 after 00123 must not make one person two. A code the load
    declares a new person (``accepted``: True for all, or those codes) is a warning instead: the
    ledger does not keep that declaration, and the sync registers neither code until 個別設定
    says 「なし」 (etl.sync.twins)."""
    index: dict[str, str] = {}
    for code in existing:
        index.setdefault(zero_key(code), code)
    out = []
    for e in rows.employees:
        other = index.get(zero_key(e.code))
        if other is not None and other != e.code:
            kind = ("ledger-code-leading-zeros-accepted" if accepted is True or (accepted and e.code in accepted)
                    else "ledger-code-leading-zeros")
            out.append(Problem.of(kind, sheet=sheet, cell=rows.cells.get(e.code, ""),
                                  employee_code=e.code, value=e.code, existing=other, other=where))
    return out


class _Collector:
    """Problems kept up to PROBLEMS_PER_CODE per code, the rest counted (memory stays bounded)."""

    def __init__(self, out: list):
        self.out = out
        self.counts: dict[str, int] = {}

    def add(self, problem: Problem) -> None:
        n = self.counts[problem.code] = self.counts.get(problem.code, 0) + 1
        if n <= PROBLEMS_PER_CODE:
            self.out.append(problem)

    def close(self) -> None:
        for code, n in self.counts.items():
            if n > PROBLEMS_PER_CODE:
                self.out.append(Problem.of("more-problems", value=code, count=f"{n - PROBLEMS_PER_CODE:,}",
                                           shown=f"{PROBLEMS_PER_CODE:,}", severity=ERROR))


def _show(value, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


_EXCEL_TEXT = re.compile(r'="(.*)"', re.DOTALL)


def unescape_csv(value):
    """Undo what CSV writers do to keep Excel off a cell: ="0012" and '=SUM (our own neutralising)."""
    if isinstance(value, str):
        if value[:1] == "'":
            return unneutralise(value)
        if m := _EXCEL_TEXT.fullmatch(value):
            return m[1]
    return value


def is_blank(value) -> bool:
    """None or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


class _CellProblem(Exception):
    def __init__(self, kind: str, shown, **fmt):
        super().__init__(kind)
        self.kind, self.shown, self.fmt = kind, shown, fmt


def _required(convert: Callable) -> Callable:
    def checked(raw):
        if is_blank(raw):
            raise _CellProblem("ledger-missing-value", raw)
        return convert(raw)
    return checked


def _as_code(raw) -> str:
    try:
        return normalize_code(raw)
    except ValueError:  # a TRUE/FALSE cell
        raise _CellProblem("ledger-invalid-code", raw, hint="TRUE / FALSE はコードになりません。") from None


def _department_code(raw) -> str:
    return _text(raw, _as_code)


def _code(raw) -> str:
    value = _as_code(raw)
    hint = code_problem(value)
    if hint:
        raise _CellProblem("ledger-invalid-code", raw, hint=hint)
    return value


# control characters no name holds (tab and line breaks aside): an XLSX cannot hold them, a
# terminal obeys them, the attendance screens show garbage
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(raw, clean: Callable = clean_text) -> str:
    value = clean(raw)
    if _CONTROL.search(value):
        chars = " ".join(dict.fromkeys(f"\\x{ord(c):02x}" for c in _CONTROL.findall(value)))
        raise _CellProblem("ledger-control-character", _CONTROL.sub("", value), chars=chars)
    return value


def _kana(raw) -> str:
    return to_katakana(_text(raw))


def _gender(raw) -> str:
    try:
        return parse_gender(raw)
    except ValueError:
        raise _CellProblem("ledger-invalid-gender", raw) from None


def _email(raw) -> str:
    value, bad = normalize_emails(raw)
    if bad:
        raise _CellProblem("ledger-invalid-email", " / ".join(bad))
    return value


def _date_parser() -> Callable:
    memo: dict = {}  # the same few thousand dates repeat across a big file

    def convert(raw):
        key = (type(raw), raw) if isinstance(raw, str | int | float | dt.date) else None
        value = memo.get(key, memo) if key is not None else memo
        if value is memo:
            try:
                value = parse_date(raw)
            except (ValueError, OverflowError, TypeError):
                value = ValueError
            if key is not None:
                memo[key] = value
        if value is ValueError:
            raise _CellProblem("ledger-invalid-date", raw)
        return value
    return convert


def _converters() -> dict[str, Callable]:
    """Field → cell converter; a converter raises _CellProblem for a bad cell."""
    dates = _date_parser()
    out: dict[str, Callable] = {f: _text for f in EMPLOYEE_FIELDS}
    out.update(code=_code, department_code=_department_code, last_name_kana=_kana, first_name_kana=_kana,
               business_last_name_kana=_kana, business_first_name_kana=_kana,
               gender=_gender, email=_email, **dict.fromkeys(DATE_FIELDS, dates))
    for c in COLUMNS:
        if c.required:
            out[c.field] = _required(out[c.field])
    return out


def parse_rows(header: list, rows: Iterable[tuple[int, list]], *, sheet: str,
               cell: Callable[[int, int], str], header_row: int = 1, unescape: bool = False,
               max_rows: int = MAX_ROWS, blank_run: int = BLANK_RUN) -> Rows:
    """Header + numbered non-blank rows → Rows (employees, fields present, every problem). Pure.

    ``cell(row_no, col_index)`` names a position as the user sees it ("行 12" or "C5").
    Header problems stop before the rows are read. ``unescape`` undoes CSV-for-Excel quoting.
    Bounded: more than ``max_rows`` rows is an error; ``blank_run`` rows in a row blank in every
    used column end the reading (a warning says where); problems are kept up to 100 per code.
    Two codes equal up to leading zeros (00123, 123) are an error naming both.
    """
    out = Rows()
    col_of: dict[str, int] = {}
    for idx, name in enumerate(header):
        key = header_key(name)
        if not key:
            continue
        f = HEADER_FIELDS.get(key)
        shown = _show(str(name).strip())
        if f is None:
            out.problems.append(Problem.of("ledger-unknown-header", sheet=sheet, cell=cell(header_row, idx),
                                           value=shown))
        elif f in col_of:
            first = _show(str(header[col_of[f]]).strip())
            out.problems.append(Problem.of("ledger-duplicate-header", sheet=sheet, cell=cell(header_row, idx),
                                           value=shown if first == shown else f"{first}」と「{shown}"))
        else:
            col_of[f] = idx
    for c in COLUMNS:
        if c.required and c.field not in col_of:
            out.problems.append(Problem.of("ledger-missing-header", sheet=sheet, cell=cell(header_row, 0),
                                           value=c.label))
    if any(p.severity == ERROR for p in out.problems):
        return out
    out.fields = tuple(f for f in EMPLOYEE_FIELDS if f in col_of)
    converters = _converters()
    plan = [(f, idx, converters[f]) for f, idx in col_of.items()]
    width = len(header)
    code_col = col_of["code"]
    seen: dict[str, int] = {}
    zeros: dict[str, tuple[str, int]] = {}
    used = sorted(set(col_of.values()))
    collect = _Collector(out.problems)
    count = run = 0
    for row_no, values in rows:
        count += 1
        if count > max_rows:
            collect.add(Problem.of("ledger-too-many-rows", sheet=sheet, cell=cell(row_no, 0), limit=f"{max_rows:,}"))
            break
        if all(i >= len(values) or is_blank(values[i]) for i in used):
            run += 1
            if run >= blank_run:
                collect.add(Problem.of("ledger-blank-run", sheet=sheet, cell=cell(row_no - run + 1, 0),
                                       run=f"{blank_run:,}"))
                break
        else:
            run = 0
        if unescape:
            values = [unescape_csv(v) if v[:1] in ("'", "=") else v for v in values]
        if len(values) < width:
            values = list(values) + [None] * (width - len(values))
        try:
            code = normalize_code(values[code_col])
        except ValueError:
            code = ""
        problems: list[Problem] = []
        if len(values) > width:
            extra = next((i for i in range(width, len(values)) if not is_blank(values[i])), None)
            if extra is not None:
                problems.append(Problem.of(
                    "ledger-bad-row", sheet=sheet, cell=cell(row_no, extra), employee_code=code,
                    value=_show(values[extra]), reason=f"見出しのない {extra + 1} 列目に値があります"))
        kw: dict = {}
        for f, idx, convert in plan:
            if is_excel_error(values[idx]):  # a formula that failed in the source book: never a value
                problems.append(Problem.of("ledger-excel-error-value", sheet=sheet, cell=cell(row_no, idx),
                                           employee_code=code, value=_show(values[idx].strip()),
                                           column=COLUMN_BY_FIELD[f].label))
                continue
            try:
                kw[f] = convert(values[idx])
            except _CellProblem as e:
                problems.append(Problem.of(e.kind, sheet=sheet, cell=cell(row_no, idx), employee_code=code,
                                           value=_show(e.shown), column=COLUMN_BY_FIELD[f].label, **e.fmt))
        if code:
            first_row = seen.setdefault(code, row_no)
            if first_row != row_no:
                problems.append(Problem.of("ledger-duplicate-code", sheet=sheet, cell=cell(row_no, code_col),
                                           employee_code=code, value=code, other=f"{first_row}行目"))
            other, at = zeros.setdefault(zero_key(code), (code, row_no))
            if other != code:
                problems.append(Problem.of("ledger-code-leading-zeros", sheet=sheet, cell=cell(row_no, code_col),
                                           employee_code=code, value=code, existing=other, other=f"{at}行目"))
        if problems:
            for p in problems:
                collect.add(p)
        else:
            out.employees.append(Employee(**kw))
            out.cells[code] = cell(row_no, code_col)
    collect.close()
    return out

"""Pure value normalisers of the ledger: codes, kana, dates (和暦 too), gender, e-mail."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from etl.ledger.normalize import (
    clean_text,
    normalize_code,
    normalize_emails,
    parse_date,
    parse_gender,
    to_katakana,
)

D = dt.date


@pytest.mark.parametrize(("value", "expected"), [
    ("00123", "00123"),
    ("００１２３", "00123"),
    ("  A001\u3000", "A001"),
    ("Ａ－００１", "A-001"),
    (123, "123"),
    (123.0, "123"),
    (Decimal("123"), "123"),
    (12.5, "12.5"),
    (None, ""),
    ("", ""),
], ids=["leading-zeros", "full-width", "trimmed-incl-ideographic-space", "full-width-alnum-dash",
        "int", "float-is-not-123.0", "decimal", "non-integer-float", "none", "blank"])
def test_normalize_code(value, expected):
    assert normalize_code(value) == expected
    assert normalize_code(normalize_code(value)) == expected  # idempotent


def test_normalize_code_refuses_booleans():
    with pytest.raises(ValueError):
        normalize_code(True)


@pytest.mark.parametrize(("text", "expected"), [
    ("やまだ", "ヤマダ"),
    ("ﾔﾏﾀﾞ", "ヤマダ"),
    ("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "パピプペポ"),
    ("ヤマダ", "ヤマダ"),
    ("ゔぁ", "ヴァ"),
    ("さゝき", "サヽキ"),
    (" たろう ", "タロウ"),
    ("", ""),
], ids=["hiragana", "half-width", "half-width-handakuten", "already-katakana", "vu-small-a",
        "iteration-mark", "trimmed", "blank"])
def test_to_katakana(text, expected):
    assert to_katakana(text) == expected
    assert to_katakana(expected) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-04-01", D(2024, 4, 1)),
    ("2024/4/1", D(2024, 4, 1)),
    ("2024.04.01", D(2024, 4, 1)),
    ("2024-04-01 00:00:00", D(2024, 4, 1)),
    ("2024-04-01T09:30:00", D(2024, 4, 1)),
    ("20240401", D(2024, 4, 1)),
    ("2024年4月1日", D(2024, 4, 1)),
    ("２０２４年４月１日", D(2024, 4, 1)),
    ("令和6年4月1日", D(2024, 4, 1)),
    ("R6.4.1", D(2024, 4, 1)),
    ("r06/04/01", D(2024, 4, 1)),
    ("Ｒ６．４．１", D(2024, 4, 1)),
    ("令和元年5月1日", D(2019, 5, 1)),
    ("平成31年4月30日", D(2019, 4, 30)),
    ("H2.2.28", D(1990, 2, 28)),
    ("昭和64年1月7日", D(1989, 1, 7)),
    ("S60.4.1", D(1985, 4, 1)),
    ("大正15年12月24日", D(1926, 12, 24)),
    ("45383", D(2024, 4, 1)),
    (45383, D(2024, 4, 1)),
    (45383.75, D(2024, 4, 1)),
    (1, D(1900, 1, 1)),
    (61, D(1900, 3, 1)),
    (dt.datetime(2024, 4, 1, 12, 0), D(2024, 4, 1)),
    (D(2024, 4, 1), D(2024, 4, 1)),
    ("", None),
    ("  ", None),
    (None, None),
], ids=lambda v: repr(v) if not isinstance(v, D) else None)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", [
    "2023-02-29", "2024-13-01", "2024-04-31", "平成31年5月1日", "令和元年4月30日", "令和0年5月1日",
    "昭和64年1月8日", "2024年2月30日", "R6.2.30", "abc", "12", "4/1", "0024-04-01", 0, 60, -5,
    10**9, True, "2024-04-01 foo",
], ids=str)
def test_parse_date_rejects(value):
    with pytest.raises(ValueError):
        parse_date(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("男性", "male"), ("女性", "female"), ("男", "male"), ("女", "female"), ("male", "male"),
    ("Female", "female"), ("M", "male"), ("ｆ", "female"), (" 男性 ", "male"), ("", ""), (None, ""),
], ids=str)
def test_parse_gender(value, expected):
    assert parse_gender(value) == expected


@pytest.mark.parametrize("value", ["不明", "x", "1", "男女"])
def test_parse_gender_rejects(value):
    with pytest.raises(ValueError):
        parse_gender(value)


@pytest.mark.parametrize(("value", "expected", "bad"), [
    ("taro@example.co.jp", "taro@example.co.jp", []),
    ("a@x.jp; b@y.jp", "a@x.jp;b@y.jp", []),
    ("a@x.jp,b@y.jp\nc@z.jp", "a@x.jp;b@y.jp;c@z.jp", []),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp", []),
    ("", "", []),
    ("not-an-address", "not-an-address", ["not-an-address"]),
    ("a@b", "a@b", ["a@b"]),
], ids=["one", "semicolon", "comma-newline", "full-width", "blank", "no-at", "no-dot"])
def test_normalize_emails(value, expected, bad):
    assert normalize_emails(value) == (expected, bad)


@pytest.mark.parametrize(("value", "expected"), [
    ("  山田 ", "山田"), ("﨑田", "﨑田"), ("①子", "①子"), (7, "7"), (7.0, "7"), (None, ""),
], ids=["trimmed", "compat-ideograph-kept", "circled-digit-kept", "int", "float", "none"])
def test_clean_text_keeps_names_as_written(value, expected):
    assert clean_text(value) == expected

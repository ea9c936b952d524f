"""Leading-zero twins inside the ledger: 123 and 00123 both held, neither in 勤怠 yet (pure).

``ledger load`` refuses such a pair (unless ``--new-people``), but a ledger may hold one already:
loaded before that check, with ``--new-people`` by mistake, or written by another program into
the SQL ledger. The ledger does not record the ``--new-people`` declaration, so the sync cannot
tell a pair of people from one person twice (Excel dropped the zeros): it registers neither code
in 勤怠 until HR says which. The one declaration the sync reads is 個別設定's 旧従業員番号
「なし」 (another person): a group of twins is settled when every code but one carries it.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable

from etl.errors import Problem
from etl.ledger.rows import zero_key
from etl.workbook.model import NEW_PERSON_WORDS, MappingBook


def declared_new_people(book: MappingBook) -> set[str]:
    """Codes whose 個別設定 row says 旧従業員番号 「なし」: HR declared another person."""
    return {o.employee_code for o in book.overrides if o.previous_code in NEW_PERSON_WORDS}


def ledger_twins(codes: Iterable[str], new_people: Collection[str]) -> dict[str, tuple[str, ...]]:
    """Ledger code → the other ledger codes equal to it up to leading zeros, for every group HR has
    not settled (settled: all of its codes but at most one are declared new people)."""
    every = set(codes)
    if len(set(map(zero_key, every))) == len(every):  # the usual ledger: no two codes share a key
        return {}
    groups: dict[str, list[str]] = {}
    for code in every:
        groups.setdefault(zero_key(code), []).append(code)
    out: dict[str, tuple[str, ...]] = {}
    for group in groups.values():
        if len(group) < 2 or sum(c not in new_people for c in group) <= 1:
            continue
        for code in group:
            out[code] = tuple(sorted(c for c in group if c != code))
    return out


def attendance_index(ledger_codes: Collection[str], attendance_codes: Iterable[str]) -> dict[str, str]:
    """Leading-zero key → an attendance code that no ledger employee has (the other half of a twin
    whose ledger half would be created: 00123 in the ledger, 123 typed on the attendance side)."""
    index: dict[str, str] = {}
    for other in attendance_codes:
        if other not in ledger_codes:
            index.setdefault(zero_key(other), other)
    return index


def attendance_twin(index: dict[str, str], code: str, new_people: Collection[str]) -> str | None:
    """The attendance code ``code`` would twin (``sync-code-leading-zeros``), unless HR declared
    ``code`` another person (旧従業員番号 「なし」)."""
    if not index or code in new_people:
        return None
    other = index.get(zero_key(code))
    return other if other is not None and other != code else None


def twin_problem(code: str, others: Iterable[str], severity: str | None = None) -> Problem:
    """The error row of the sync (or, with ``severity``, validate's warning) for one twin."""
    return Problem.of("sync-ledger-code-leading-zeros", employee_code=code, value=code,
                      existing="、".join(f"「{c}」" for c in others), severity=severity)


def twin_problems(codes: Iterable[str], book: MappingBook, registered: Collection[str],
                  severity: str | None = None) -> list[Problem]:
    """One problem per unsettled twin the sync would create (not in ``registered``: 勤怠's codes)."""
    twins = ledger_twins(codes, declared_new_people(book))
    return [twin_problem(code, others, severity) for code, others in sorted(twins.items())
            if code not in registered]

"""The bad-input corpus (tests/corpus/, see its README.md): one case per file, found by listing
the folders, so adding a file (and its ``.expect``) adds a case.

Each case runs ``etl.cli.main`` in a temporary folder — workbooks through ``validate
--workbook``, ledger files through ``ledger load``, configuration files through ``--config FILE
validate`` — and asserts: exit 2 or 3 as expected, exactly one stderr line that names the place,
no traceback or internal error, and nothing written (the input file byte-identical, the ledger's
employees unchanged, no CSV output).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import cli_env, make_config
from make_corpus import CONFIGS, CORPUS, LEDGERS, WORKBOOKS, expect_text, materialize

from etl.cli import main
from etl.ledger.store import close_ledger, open_ledger
from etl.records import Employee

KINDS = ("workbook", "ledger", "config")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Case:
    kind: str
    path: Path  # the committed file, or its .recipe
    exit_code: int
    says: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".recipe")


def read_expect(path: Path) -> tuple[int, tuple[str, ...]]:
    code, says = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition(":")
        if key.strip() == "exit":
            code = int(value)
        elif key.strip() == "stderr":
            says.append(value.strip())
        else:
            raise ValueError(f"{path.name}: unknown line {line!r} (exit: N / stderr: TEXT)")
    if code is None or not says:
        raise ValueError(f"{path.name}: needs an 'exit:' line and at least one 'stderr:' line")
    return code, tuple(says)


def collect() -> list:
    cases = []
    for kind in KINDS:
        for path in sorted((CORPUS / kind).iterdir()):
            if path.suffix == ".expect" or path.name.startswith("."):
                continue
            expect = path.parent / (path.name.removesuffix(".recipe") + ".expect")
            code, says = read_expect(expect) if expect.exists() else (None, ())
            case = Case(kind, path, code, says)
            slow = [pytest.mark.slow] if path.suffix == ".recipe" else []
            cases.append(pytest.param(case, id=f"{kind}/{case.name}", marks=slow))
    return cases


CASES = collect()

# departments and classes that resolve by the same code, so a valid workbook validates clean
LEDGER_EMPLOYEES = [
    Employee(code="00012", last_name="山田", first_name="太郎", department_code="1100", department_name="総務課",
             employee_class="1", gender="male", hired_date=dt.date(2015, 4, 1)),
    Employee(code="00013", last_name="鈴木", first_name="花子", department_code="2100", department_name="東京営業課",
             employee_class="3", gender="female", hired_date=dt.date(2020, 4, 1)),
]


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_the_corpus_is_big_enough_and_every_case_has_an_expectation():
    cases = [p.values[0] for p in CASES]
    assert len(cases) >= 30
    assert {c.kind for c in cases} == set(KINDS)
    missing = [f"{c.kind}/{c.name}.expect" for c in cases if c.exit_code is None]
    assert not missing, f"write these files (see tests/corpus/README.md): {missing}"
    assert {c.exit_code for c in cases} <= {2, 3}
    big = [c.path.name for c in cases if c.path.stat().st_size > 200_000]
    assert not big, f"committed corpus files must stay under 200 KB (use a .recipe): {big}"


def test_the_committed_corpus_is_what_make_corpus_builds():
    """The files are committed, the script says how each was made: the two must not drift apart
    (a template change once left 20 workbook cases built from an older template)."""
    stale = []
    for kind, table in (("workbook", WORKBOOKS), ("ledger", LEDGERS), ("config", CONFIGS)):
        for name, (make, code, says) in table.items():
            if (CORPUS / kind / name).read_bytes() != make():
                stale.append(f"{kind}/{name}")
            if (CORPUS / kind / f"{name}.expect").read_text(encoding="utf-8") != expect_text(code, says):
                stale.append(f"{kind}/{name}.expect")
    assert not stale, f"run `python tests/make_corpus.py` and commit: {stale}"


@pytest.mark.parametrize("case", CASES)
def test_broken_input_stops_with_one_line_and_writes_nothing(case: Case, tmp_path, monkeypatch, make_sandbox):
    assert case.exit_code is not None, f"{case.name}: no .expect file"
    work = tmp_path / "work"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    work.mkdir()
    monkeypatch.chdir(work)
    if case.path.suffix == ".recipe":
        target = materialize(case.path, inputs)
    else:
        target = inputs / case.name
        shutil.copyfile(case.path, target)
    before = digest(target)

    sandbox = make_sandbox()
    config = make_config(work, sandbox)
    url = f"sqlite:///{(work / 'ledger.db').as_posix()}"
    open_ledger(url).upsert_employees(LEDGER_EMPLOYEES)
    employees_before = open_ledger(url).employees()
    sandbox.reset_counts()

    if case.kind == "workbook":
        argv = ["--config", str(config), "validate", "--workbook", str(target)]
    elif case.kind == "ledger":
        argv = ["--config", str(config), "ledger", "load", str(target)]
    else:
        argv = ["--config", str(target), "validate"]
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=cli_env(sandbox), stdout=out, stderr=err)

    stderr = err.getvalue()
    lines = stderr.splitlines()
    assert code == case.exit_code, f"exit {code}, expected {case.exit_code}; stderr: {stderr}"
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{stderr[:2000]}"
    line = lines[0]
    assert "Traceback" not in stderr and "内部エラー" not in line, line
    assert not CONTROL.search(line), f"control characters in the stderr line: {line!r}"
    for text in case.says:
        assert text in line, f"{text!r} not in the stderr line: {line}"
    assert len(line) < 1000, f"the stderr line is {len(line)} characters long"

    # nothing written: the input as it was, the ledger's employees as they were, no output
    assert digest(target) == before, "the input file was modified"
    assert sorted(p.name for p in inputs.iterdir()) == [target.name]
    assert open_ledger(url).employees() == employees_before
    assert not (work / "output").exists() or not any((work / "output").iterdir())
    assert sandbox.writes() == 0
    close_ledger(url)

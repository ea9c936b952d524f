"""Deterministic demo company for `run_etl.py demo` and the benchmarks: a ledger of employees with
Japanese names, departments, classes, a few resignations, business names, and a couple of
deliberate data problems (so validation has something to show)."""
from __future__ import annotations

import datetime as dt
import random

from etl.records import Employee

LAST_NAMES = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
              ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
              ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
              ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
              ("髙橋", "タカハシ"), ("山﨑", "ヤマサキ")]
FIRST_NAMES = [("太郎", "タロウ", "male"), ("一郎", "イチロウ", "male"), ("翔太", "ショウタ", "male"),
               ("大輔", "ダイスケ", "male"), ("健", "ケン", "male"), ("蓮", "レン", "male"),
               ("花子", "ハナコ", "female"), ("陽菜", "ヒナ", "female"), ("美咲", "ミサキ", "female"),
               ("さくら", "サクラ", "female"), ("結衣", "ユイ", "female"), ("愛", "アイ", "female")]
# (department code, name, attendance division code it maps to; the sandbox's divisions)
DEPARTMENTS = [("D100", "総務部", "1100"), ("D200", "人事部", "1200"), ("D250", "経理部", "1300"),
               ("D300", "営業一部", "2100"), ("D310", "営業二部", "2200"), ("D400", "開発部", "3000"),
               ("D410", "品質管理部", "3100"), ("D500", "製造部", "4000"), ("D600", "物流センター", "5000")]
# (社員区分, 雇用区分 code)
CLASSES = [("正社員", "1"), ("契約社員", "2"), ("パート", "3"), ("アルバイト", "4")]
UNMAPPED_DEPARTMENT = ("D900", "新規事業準備室")  # deliberately missing from the mapping


def demo_employees(n: int, seed: int, today: dt.date, *, problems: bool = True) -> list[Employee]:
    rng = random.Random(seed)
    out: list[Employee] = []
    width = max(5, len(str(n)) + 1)
    for i in range(1, n + 1):
        last, last_kana = rng.choice(LAST_NAMES)
        first, first_kana, gender = rng.choice(FIRST_NAMES)
        dept_code, dept_name, _ = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
        cls = rng.choices([c for c, _ in CLASSES], weights=[70, 15, 10, 5])[0]
        hired = today - dt.timedelta(days=rng.randrange(30, 365 * 25))
        birth = hired - dt.timedelta(days=rng.randrange(365 * 18, 365 * 40))
        resigned = None
        if rng.random() < 0.03:
            resigned = today + dt.timedelta(days=rng.randrange(-200, 60))
        business = rng.random() < 0.05
        code = f"{i:0{width}d}"
        out.append(Employee(
            code=code, last_name=last, first_name=first, last_name_kana=last_kana, first_name_kana=first_kana,
            business_last_name=("旧姓" + last[:1]) if business else "", business_first_name=first if business else "",
            department_code=dept_code, department_name=dept_name, employee_class=cls, gender=gender,
            birth_date=birth, hired_date=hired, resignation_date=resigned,
            email=f"user{code}@example.co.jp",
        ))
    if problems and n >= 10:
        # a department nobody mapped (resolved by the default division), a code the attendance side
        # refuses (a hyphen), and an employee without a hired date (skipped by the setting)
        e = out[3]
        out[3] = Employee(**{**e.__dict__, "department_code": UNMAPPED_DEPARTMENT[0],
                             "department_name": UNMAPPED_DEPARTMENT[1]})
        e = out[5]
        out[5] = Employee(**{**e.__dict__, "code": "EMP-" + e.code})
        e = out[7]
        out[7] = Employee(**{**e.__dict__, "hired_date": None})
    return out

#!/usr/bin/env python3
"""kintai-etl: 従業員台帳 ⇄ 勤怠 (KING OF TIME Web API) のバッチ連携。`python run_etl.py --help`"""
import sys

from etl.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

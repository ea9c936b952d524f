"""'Did you mean' hints for unknown division / working-type codes (difflib, cached).

Only the few distinct unknown codes are searched, and at most MAX_SUGGESTIONS of them, so the
validator stays linear however many rows carry the same wrong code.
"""
from __future__ import annotations

import difflib

MAX_SUGGESTIONS = 200  # distinct unknown codes that get a difflib search; the rest get the plain hint


class Suggest:
    """The 'did you mean' hint for an unknown division / working-type code (cached)."""

    def __init__(self, master: dict[str, str], what: str):
        self.master = master
        self.what = what
        self.by_name = {name.strip(): c for c, name in master.items() if name}
        self.cache: dict[str, str] = {}

    def hint(self, value: str) -> str:
        found = self.cache.get(value)
        if found is None:
            found = self.cache[value] = self._hint(value)
        return found

    def _hint(self, value: str) -> str:
        what = self.what
        tail = f"ドロップダウンから選ぶか、勤怠に{what}を登録してから `run_etl.py template --refresh` を実行してください。"
        if value in self.by_name:
            c = self.by_name[value]
            return f"「{value}」は{what}名です。{what}コード「{c}」を入力してください。"
        if len(self.cache) > MAX_SUGGESTIONS or not self.master:
            return tail
        close = difflib.get_close_matches(value, list(self.master), n=3, cutoff=0.6)
        for name in difflib.get_close_matches(value, list(self.by_name), n=2, cutoff=0.6):
            if self.by_name[name] not in close:
                close.append(self.by_name[name])
        if not close:
            return tail
        guesses = "、".join(f"「{c}」({self.master[c]})" if self.master[c] else f"「{c}」" for c in close[:3])
        return f"もしかして{guesses}ですか? " + tail

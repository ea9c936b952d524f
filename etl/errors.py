"""One exception tree, the exit codes of DESIGN, and problems as data.

The exception tree is sorted by what the caller does:

* ``StopRun`` and its children stop the whole run with a given exit code (the CLI turns each
  one into a single stderr line and that code);
* ``RowFailed`` skips one row (an employee the API refused) while the others go on;
* ``Retryable`` is retried by the HTTP client's policy (throttling, 5xx, a dropped connection).

``Problem`` is a data problem with a position (sheet and cell, or file and line) and a stable
kebab-case code from ``CATALOGUE``; the validator returns lists of them, it does not raise.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from etl.text import one_line


class ExitCode(IntEnum):
    SUCCESS = 0  # 正常終了
    PARTIAL = 1  # 一部エラー: some rows failed, the rest done
    USAGE = 2  # usage or configuration error
    INVALID_INPUT = 3  # the workbook or an input file is invalid (nothing was written)
    API_UNAVAILABLE = 4  # the attendance API refused or could not be reached
    RESTRICTED_HOURS = 5  # restricted hours (nothing more was sent)
    INTERRUPTED = 130  # Ctrl+C (SIGINT): what was done is kept and reported (status 中断)


# --------------------------------------------------------------------------------------------
# Exceptions that stop the run
# --------------------------------------------------------------------------------------------


class StopRun(Exception):
    """The run cannot go on. ``str(err)`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(StopRun):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """Every configuration problem at once; each line names its path (file, section, key)."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        super().__init__("設定エラー: " + " / ".join(self.lines))


class LockHeldError(UsageError):
    def __init__(self, message: str, holder: dict[str, Any] | None = None):
        super().__init__(message)
        self.holder: dict[str, Any] = holder or {}  # who holds the lock, for callers that word it their own way


class InputError(StopRun):
    """The workbook or an input file is invalid; nothing was written.

    ``problems`` (optional) holds every problem found, for the report.
    """

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class WorkbookError(InputError):
    pass


class LedgerFileError(InputError):
    pass


class ApiError(StopRun):
    """The attendance API refused us or could not be reached (auth, IP allow-list, network, TLS)."""

    exit_code = ExitCode.API_UNAVAILABLE


class AuthError(ApiError):
    pass


class IpNotAllowedError(AuthError):
    pass


class ApiUnreachableError(ApiError):
    pass


class ApiAnswerError(ApiError):
    """The API answered something the run cannot use: a redirect, an answer of the wrong shape, a
    Retry-After beyond the cap or unreadable, retries beyond the run's budget."""


class RestrictedHoursError(StopRun):
    """利用制限時間帯: the API refuses everything but the token endpoint until ``reopens_at``."""

    exit_code = ExitCode.RESTRICTED_HOURS

    def __init__(self, reopens_at: dt.datetime | None, message: str | None = None):
        self.reopens_at = reopens_at
        when = reopens_at.strftime("%H:%M") if reopens_at else "制限時間帯の終了後"
        super().__init__(
            message
            or f"勤怠APIの利用制限時間帯です。{when} (JST) 以降に再実行してください"
            "（sync-employees・pull-employees・run・reconcile は --wait を付けると再開まで待機します）。"
        )


# --------------------------------------------------------------------------------------------
# Row-level and retryable failures
# --------------------------------------------------------------------------------------------


class RowFailed(Exception):
    """One row failed at the API (4xx with the API's own message); the run goes on."""

    def __init__(self, message: str, status: int | None = None, api_code: Any = None):
        super().__init__(message)
        self.status = status
        self.api_code = api_code


class Retryable(Exception):
    """A transient failure the client retries (5xx, reset, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(Retryable):
    """HTTP 429 or body ``{"code": "303"}``."""


# --------------------------------------------------------------------------------------------
# Problems as data
# --------------------------------------------------------------------------------------------

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Code:
    severity: str
    title: str  # short Japanese label
    message: str  # str.format template; names refer to the ``fmt`` arguments of Problem.of


# The one catalogue of problem codes. docs/problem-codes.md is generated from it (etl/docs.py; tests check it).
# Sections: workbook, ledger file, sync, attendance, run.
CATALOGUE: dict[str, Code] = {
    # --- workbook -------------------------------------------------------------------------
    "workbook-not-found": Code(ERROR, "ワークブックがない", "ワークブック {path} が見つかりません。パスを確認するか `run_etl.py template` で作成してください。"),
    "workbook-unreadable": Code(ERROR, "ワークブックを開けない", "{path} は Excel ブック (.xlsx) として開けません ({reason})。Excel で開いて .xlsx 形式で保存し直してください。"),
    "workbook-too-large": Code(ERROR, "ブックが大きすぎる", "{path} は展開すると大きすぎます ({size}、上限 {limit})。不要なシートや行を削除して保存し直してください。"),
    "workbook-encrypted": Code(ERROR, "パスワード付きブック", "{path} はパスワードで保護されています。パスワードを解除して保存し直してください。"),
    "missing-sheet": Code(ERROR, "シートがない", "シート「{sheet}」がありません。テンプレートからシートをコピーしてください。"),
    "workbook-not-mapping": Code(ERROR, "マッピングブックではない", "{path} にはマッピングブックのシート (設定・所属マッピング・個別設定 など) が1つもありません。`run_etl.py template` で作ったブックを指定してください。"),
    "missing-header": Code(ERROR, "見出しがない", "シート「{sheet}」の1行目に見出し「{header}」がありません。見出しを元に戻してください。"),
    "template-version": Code(ERROR, "テンプレート版が違う", "テンプレートバージョン {value} には対応していません (対応: {expected})。`run_etl.py template --refresh` で更新してください。"),
    "unknown-division": Code(ERROR, "存在しない所属コード", "勤怠所属コード「{value}」は勤怠の所属マスタにありません。{hint}"),
    "unknown-employment-type": Code(ERROR, "存在しない雇用区分コード", "勤怠雇用区分コード「{value}」は勤怠の雇用区分マスタにありません。{hint}"),
    "unknown-department": Code(WARNING, "台帳にない部署", "本体部署コード「{value}」は従業員台帳にありません。不要な行なら削除してください。"),
    "unknown-employee-class": Code(WARNING, "台帳にない社員区分", "本体社員区分「{value}」は従業員台帳にありません。不要な行なら削除してください。"),
    "duplicate-mapping-conflict": Code(ERROR, "重複 (行き先が違う)", "「{value}」が {other} にもあり、行き先が異なります。どちらか一方にしてください。"),
    "duplicate-mapping": Code(WARNING, "重複", "「{value}」が {other} にもあります (同じ行き先)。片方を削除してください。"),
    "override-unknown-employee": Code(ERROR, "台帳にない従業員", "従業員番号「{value}」は従業員台帳にありません。番号を確認してください。"),
    "previous-code-same": Code(ERROR, "旧従業員番号が同じ", "旧従業員番号「{value}」が従業員番号と同じです。番号を変えていなければ旧従業員番号を空欄にしてください。"),
    "previous-code-in-ledger": Code(ERROR, "旧従業員番号が台帳にある", "旧従業員番号「{value}」の従業員がまだ従業員台帳にあります。同じ人なら台帳から旧番号の行を削除し、別人なら旧従業員番号を空欄にしてください。"),
    "previous-code-duplicate": Code(ERROR, "旧従業員番号の重複", "旧従業員番号「{value}」が {other} にもあります。1つの旧番号は1人にしか引き継げません。"),
    "previous-code-not-in-attendance": Code(WARNING, "旧従業員番号が勤怠にない", "旧従業員番号「{value}」の従業員は勤怠にいないため、従業員 {employee_code} は新規登録します。番号を確認してください。"),
    "previous-code-both-in-attendance": Code(WARNING, "新旧の番号が両方勤怠にある", "勤怠に旧従業員番号「{value}」と従業員番号「{employee_code}」の両方の従業員がいるため、番号を変更しません。勤怠の画面で不要な方を確認してください。"),
    "invalid-date": Code(ERROR, "日付が不正", "「{value}」は日付として読めません。YYYY-MM-DD 形式 (例 2026-04-01) で入力してください。"),
    "invalid-boolean": Code(ERROR, "はい/いいえが不正", "「{value}」は はい/いいえ として読めません。はい・いいえ (する/しない、○/×) を選んでください。"),
    "invalid-code": Code(ERROR, "コードが不正", "「{value}」はコードとして使えません。{hint}"),
    "effective-date-past": Code(WARNING, "異動日が過去", "異動日 {value} は過去の日付です。入力どおりこの日付で勤怠に送信します。勤怠側で締め済みの期間にかかる場合、その期間の集計が変わることがあります。確認してください。"),
    "effective-date-far": Code(ERROR, "異動日が1年より先", "異動日 {value} は1年より先 ({limit} より後) です。勤怠APIが扱えるのは1年先までのため、{limit} 以前の日付にしてください。"),
    "invalid-setting": Code(ERROR, "設定値が不正", "設定「{item}」の値「{value}」が不正です。{hint}"),
    "unknown-setting": Code(WARNING, "不明な設定項目", "設定項目「{value}」は使われません。綴りを確認してください。"),
    "invalid-email": Code(ERROR, "メールアドレスが不正", "メールアドレス「{value}」の形式が不正です。name@example.co.jp の形で入力してください。"),
    "unknown-default-division": Code(ERROR, "既定の所属が存在しない", "既定の勤怠所属コード「{value}」は勤怠の所属マスタにありません。{hint}"),
    "unknown-default-type": Code(ERROR, "既定の雇用区分が存在しない", "既定の勤怠雇用区分コード「{value}」は勤怠の雇用区分マスタにありません。{hint}"),
    "unresolved-division": Code(ERROR, "所属が決まらない", "部署「{value}」の従業員 {count} 名の勤怠所属が決まりません。{hint}"),
    "unresolved-employment-type": Code(ERROR, "雇用区分が決まらない", "社員区分「{value}」の従業員 {count} 名の勤怠雇用区分が決まりません。{hint}"),
    "default-division-used": Code(WARNING, "既定の所属で連携", "部署「{value}」の従業員 {count} 名は、所属マッピングの行も同じコード・名前の所属もないため、既定の勤怠所属コード「{target}」で連携します ({employees})。意図どおりでなければシート「所属マッピング」に行を追加してください。"),
    "default-type-used": Code(WARNING, "既定の雇用区分で連携", "社員区分「{value}」の従業員 {count} 名は、雇用区分マッピングの行も同じコード・名前の雇用区分もないため、既定の勤怠雇用区分コード「{target}」で連携します ({employees})。意図どおりでなければシート「雇用区分マッピング」に行を追加してください。"),
    "required-field-off": Code(WARNING, "必須項目はオフにできない", "「{value}」は必須項目 (※1) のため、新規登録時は連携しないにしても送信されます。"),
    "unknown-output-item": Code(ERROR, "不明な勤怠データ項目", "勤怠データ項目「{value}」はありません。ドロップダウンから選んでください。"),
    "invalid-output-format": Code(ERROR, "不明な形式", "形式「{value}」は使えません。分 / 時間(10進) / HH:MM / 日 / 回 / 文字 から選んでください。"),
    "output-format-mismatch": Code(ERROR, "項目に合わない形式", "形式「{value}」は勤怠データ項目「{item}」には使えません。{allowed} から選んでください。"),
    "unknown-field": Code(ERROR, "不明な連携項目", "本体項目「{value}」は連携できる項目にありません。ドロップダウンから選んでください。"),
    "formula-in-cell": Code(ERROR, "数式は使えない", "「{value}」は数式です。数式ではなく値 (コード・日付・はい/いいえ) を直接入力してください。"),
    "duplicate-setting": Code(ERROR, "設定項目の重複", "設定「{value}」が {other} にもあります。どちらか一方の行を削除してください。"),
    "missing-setting": Code(WARNING, "設定項目がない", "設定「{value}」の行がないため既定値「{default}」を使います。必要なら行を追加してください。"),
    "mapping-key-missing": Code(ERROR, "変換元が空", "「{target}」が入力されていますが「{header}」が空です。{header}を入力するか、行を削除してください。"),
    "duplicate-output-column": Code(WARNING, "出力列名の重複", "出力列名「{value}」が {other} にもあります。CSV の列名が重なるため、どちらかを変えてください。"),
    "sheet-blank-run": Code(WARNING, "空行が続いたので打ち切り", "使う列が空の行が {run} 行続いたため、ここから下は読んでいません。下にも設定があるなら空行を削除してください。"),
    "sheet-too-many-rows": Code(ERROR, "行が多すぎる", "シート「{sheet}」に {limit} 行を超えるデータがあります。マッピングの行は多くても従業員の数ほどです。貼り付けの残りなど不要な行を削除してください。"),
    "auto-sync-restricted-hours": Code(WARNING, "自動連携時刻が利用制限時間帯", "自動連携時刻 {value} は勤怠APIの利用制限時間帯 ({windows}) に入っています。時間帯の外 (例 02:00) にしてください。"),
    # --- ledger file ----------------------------------------------------------------------
    "ledger-file-not-found": Code(ERROR, "ファイルがない", "{path} が見つかりません。パスを確認してください。"),
    "ledger-encoding": Code(ERROR, "文字コードが不明", "{path} は UTF-8 でも Shift_JIS (cp932) でもありません ({where})。Excel で「CSV UTF-8」として保存し直してください。"),
    "ledger-empty": Code(ERROR, "空のファイル", "{path} にデータがありません。見出し行と従業員の行を含むファイルを指定してください。"),
    "ledger-missing-header": Code(ERROR, "必須の見出しがない", "見出し「{value}」の列がありません。1行目に「{value}」を追加してください。"),
    "ledger-duplicate-header": Code(ERROR, "見出しの重複", "見出し「{value}」が複数の列にあります。どちらか一方にしてください。"),
    "ledger-missing-value": Code(ERROR, "必須項目が空", "「{column}」が空です。値を入力してください。"),
    "ledger-invalid-code": Code(ERROR, "従業員番号が不正", "従業員番号「{value}」は使えません。{hint}"),
    "ledger-invalid-date": Code(ERROR, "日付が不正", "「{column}」の「{value}」は日付として読めません。YYYY-MM-DD・YYYY/MM/DD・和暦 (令和6年4月1日) で入力してください。"),
    "ledger-control-character": Code(ERROR, "制御文字", "「{column}」の「{value}」に制御文字 ({chars}) が含まれています。元のファイルで削除してください。"),
    "ledger-excel-error-value": Code(ERROR, "Excel のエラー値", "「{column}」の「{value}」は Excel のエラー値です (元のブックの数式がエラーになっています)。元のブックで数式を直して、値が表示されてから保存し直してください。"),
    "ledger-invalid-gender": Code(ERROR, "性別が不正", "性別「{value}」は読めません。男性 / 女性 で入力してください。"),
    "ledger-invalid-email": Code(ERROR, "メールアドレスが不正", "メールアドレス「{value}」の形式が不正です。"),
    "ledger-duplicate-code": Code(ERROR, "従業員番号の重複", "従業員番号「{value}」が {other} にもあります。1人1行にしてください。"),
    "ledger-line-too-long": Code(ERROR, "行が長すぎる", "1行が長すぎます ({size} バイト)。ファイルが壊れていないか確認してください。"),
    "ledger-bad-row": Code(ERROR, "行が読めない", "この行は読めません ({reason})。"),
    "ledger-unknown-header": Code(WARNING, "取り込まない見出し", "見出し「{value}」の列は取り込みません。台帳の項目なら、見出しを `ledger export` が出力する名前 (例 入社年月日) に直してください。"),
    "ledger-unreadable": Code(ERROR, "ファイルを開けない", "{path} を読めません ({reason})。{hint}"),
    "ledger-unencodable": Code(ERROR, "文字コードにない文字", "従業員 {employee_code} の「{column}」の「{value}」は {encoding} で保存できません。--encoding utf-8-sig で出力してください。"),
    "ledger-code-leading-zeros": Code(ERROR, "先頭の0だけ違う従業員番号", "従業員番号「{value}」は {other} の「{existing}」と先頭の 0 だけが違います (Excel が 0 を落とした可能性があります)。同じ人なら「{existing}」に直してください。別の人なら `ledger load --new-people {value}` で取り込んでください。"),
    "ledger-code-leading-zeros-accepted": Code(WARNING, "先頭の0だけ違う従業員番号 (別の人として取り込み)", "従業員番号「{value}」は {other} の「{existing}」と先頭の 0 だけが違いますが、--new-people の指定により別の人として取り込みます。この指定は台帳に残らないため、勤怠への連携はシート「個別設定」でどちらか一方の旧従業員番号に「なし」を入力するまで、どちらの番号も新規登録しません。"),
    "ledger-too-many-rows": Code(ERROR, "行が多すぎる", "{limit} 行を超えるデータがあります。余分な行 (貼り付けの残りなど) を削除するか、設定 [ledger] max_rows を見直してください。"),
    "ledger-too-large": Code(ERROR, "ファイルが大きすぎる", "{path} は大きすぎます ({size}、上限 {limit})。不要なシートや行を削除して保存し直してください。"),
    "ledger-blank-run": Code(WARNING, "空行が続いたので打ち切り", "使う列が空の行が {run} 行続いたため、ここから下は読んでいません。下にもデータがあるなら空行を削除してください。"),
    # --- sync -----------------------------------------------------------------------------
    "employee-code-invalid": Code(ERROR, "勤怠に使えない従業員番号", "従業員番号「{value}」は勤怠側で使えません (半角英数字3〜10文字)。台帳の番号を確認してください。"),
    "sync-code-leading-zeros": Code(ERROR, "先頭の0だけ違う従業員番号 (勤怠側にあり)", "従業員 {value} は勤怠側の「{existing}」と先頭の 0 だけが違うため、新規登録しませんでした (1人が2人になるのを防ぐため)。同じ人なら個別設定の旧従業員番号に「{existing}」を、別の人なら「なし」を入力してください。"),
    "sync-ledger-code-leading-zeros": Code(ERROR, "先頭の0だけ違う従業員番号 (台帳内)", "従業員 {value} は台帳の{existing}と先頭の 0 だけが違うため、勤怠に新規登録しません (台帳の取り込みで 0 が落ちた同じ人かもしれず、1人が2人になるのを防ぐため)。同じ人なら台帳から不要な方の行を削除してください。別の人ならシート「個別設定」でどちらか一方 (3つ以上なら1つを除くすべて) の行の旧従業員番号に「なし」を入力してください。"),
    "employee-required-missing": Code(ERROR, "必須項目が空", "従業員 {employee_code} の「{value}」が空のため勤怠に登録できません。台帳に入力してください。"),
    "employee-division-unresolved": Code(ERROR, "所属が決まらない", "従業員 {employee_code} (部署「{value}」) の勤怠所属が決まりません。{hint}"),
    "employee-type-unresolved": Code(ERROR, "雇用区分が決まらない", "従業員 {employee_code} (社員区分「{value}」) の勤怠雇用区分が決まりません。{hint}"),
    "employee-required-cleared": Code(ERROR, "必須項目が空になった", "従業員 {employee_code} の「{value}」が台帳で空になっています。勤怠の必須項目は空にできないため、この従業員には何も送信しません。台帳に入力してください。"),
    "business-kana-missing": Code(WARNING, "ビジネスネームのフリガナが空", "従業員 {employee_code} はビジネスネームを姓名として連携しますが、台帳の「{value}」が空のため、勤怠のフリガナ ({field}) は送信しません (勤怠の値はそのまま)。台帳に入力してください。"),
    "attendance-only-value": Code(WARNING, "勤怠にだけある値", "従業員 {employee_code}: 台帳の「{value}」は空ですが、勤怠には値があります。この従業員はまだ一度も連携していないため、勤怠の値は消さずに残しました。消す場合は勤怠の画面で消すか、一度連携した後に台帳で空にしてください。"),
    "pending-change-superseded": Code(WARNING, "予約した異動を取り消し", "従業員 {employee_code}: 異動日 {date} で予約していた{field}「{value}」は台帳の変更により取り消しました (予約の記録を削除)。勤怠側にその日付の変更が登録済みなら勤怠で確認してください。"),
    "pending-change-still-booked": Code(WARNING, "使わなくなった異動が勤怠に予約済み", "従業員 {employee_code}: 以前 異動日 {date} で送った{field}「{value}」は、勤怠にその日付で予約されたままです。今の台帳・ブックでは{field}は「{new}」{when}のため、この予約は使いませんが、勤怠では {date} に{field}が「{value}」に変わります。勤怠の画面で {date} の予約を削除するか直してください。"),
    "pending-dates-differ": Code(ERROR, "異動日が項目で異なる", "従業員 {employee_code}: 所属と雇用区分の変更の異動日が異なります ({value})。1回の送信には1つの異動日しか使えないため送信しません。--effective-date で異動日を指定するか、個別設定に異動日を入力してください。"),
    "probable-code-change": Code(WARNING, "従業員番号の変更の可能性", "従業員 {employee_code} ({name}) は、台帳にない勤怠の従業員 {value} と氏名・生年月日・入社年月日が同じです。番号を変えた同じ人ならシート「個別設定」の旧従業員番号に {value} を、別人なら「なし」を入力してください。それまでどちらの番号も連携しません。"),
    "code-changed-in-attendance": Code(WARNING, "勤怠側で従業員番号が変更", "従業員 {employee_code} として前回連携した勤怠の従業員 (同じ識別キー) の番号が、勤怠側で {value} に変わっています。同じ人ならシート「個別設定」の {employee_code} の行の旧従業員番号に {value} を入力すると、勤怠の番号を {employee_code} に戻します。それまでどちらの番号も連携しません。"),
    "api-row-failed": Code(ERROR, "勤怠APIが拒否", "従業員 {employee_code}{name}: 勤怠APIが{what}を拒否しました: {value}。台帳の値を確認して直し、再実行してください (ほかの従業員は処理済みです)。"),
    "pull-code-leading-zeros": Code(ERROR, "先頭の0だけ違う従業員番号 (勤怠側)", "勤怠の従業員番号「{value}」は台帳の「{existing}」と先頭の 0 だけが違うため、台帳に追加しませんでした (1人が2人になるのを防ぐため)。同じ人なら勤怠側の従業員番号を「{existing}」に直してください。別の人なら台帳に「{value}」を `ledger load --new-people {value}` で取り込んでください。"),
    "pull-unmapped-division": Code(WARNING, "部署に戻せない所属", "勤怠所属「{value}」に対応する本体部署がないため、台帳の部署には書き込みませんでした (従業員 {employee_code})。シート「所属マッピング」に行を追加するか、台帳に部署を入力してください。"),
    "pull-unmapped-type": Code(WARNING, "社員区分に戻せない雇用区分", "勤怠雇用区分「{value}」に対応する本体社員区分がないため、台帳の社員区分には書き込みませんでした (従業員 {employee_code})。シート「雇用区分マッピング」に行を追加するか、台帳に社員区分を入力してください。"),
    "selection-unknown-employee": Code(ERROR, "台帳にない対象従業員", "対象に指定された従業員番号「{value}」は従業員台帳にありません。番号を確認してください。"),
    "selection-file-not-found": Code(ERROR, "対象従業員ファイルがない", "{path} が見つかりません。--employees-file のパスを確認してください。"),
    "selection-file-unreadable": Code(ERROR, "対象従業員ファイルが読めない", "{path} を読めません ({reason})。CSV (UTF-8 / Shift_JIS) か Excel ブック (.xlsx) で保存し直してください。"),
    "selection-missing-column": Code(ERROR, "従業員番号の列がない", "{path} の1行目に見出し「従業員番号」の列がありません。見出しを追加してください。"),
    "selection-empty": Code(ERROR, "対象従業員が空", "対象の従業員番号が1件もありません。従業員番号を指定してください。"),
    # --- attendance -----------------------------------------------------------------------
    "month-not-closed": Code(WARNING, "未締め", "{value} の勤怠はまだ締められていません。締め後に取り込み直すと確定値になります。"),
    "no-attendance": Code(WARNING, "勤怠データなし", "在籍中の従業員 {employee_code}{name} の {value} の勤怠データがありません。勤怠に登録されているか確認してください (未登録なら「従業員の同期」で登録されます)。"),
    "attendance-field-missing": Code(WARNING, "勤怠データの項目がない", "{month} の勤怠データには、どの従業員にも項目 {value} がありません。勤怠データ項目「{item}」はこの項目を 0 として計算しています。勤怠APIの応答 (項目名・アクセストークンの権限) を確認してください。"),
    "unknown-attendance-employee": Code(WARNING, "台帳にない従業員の勤怠", "勤怠の従業員 {employee_code} {name} は台帳にありません。`pull-employees` で台帳に取り込んでください。"),
    "attendance-employee-unidentified": Code(WARNING, "従業員番号の分からない勤怠", "月別勤怠に、勤怠の従業員一覧 (退職者を含む) にない従業員の分があります (識別キー {value})。勤怠の管理画面で削除された従業員でないか確認してください。この分は出力していません。"),
    "overtime-month-45h": Code(WARNING, "月45時間超", "従業員 {employee_code}: {value} の時間外労働が {figure} で、月{limit}時間 (限度時間) を超えています。特別条項の手続きと本人の健康確保措置を確認してください。"),
    "overtime-month-100h": Code(ERROR, "月100時間以上", "従業員 {employee_code}: {value} の時間外+休日労働が {figure} で、月{limit}時間未満の上限に違反しています。労務担当者に報告し、翌月の労働時間を調整してください。"),
    "overtime-average-80h": Code(ERROR, "複数月平均80時間超", "従業員 {employee_code}: {value} の時間外+休日労働の平均が {figure} で、{limit}時間を超えています。翌月以降の労働時間を調整してください。"),
    "overtime-months-over-45h": Code(ERROR, "45時間超が年6回超", "従業員 {employee_code}: 年度内 ({value} まで) に月{limit}時間を超えた月が {figure} 回あり、年{count}回を超えています。労務担当者に報告してください。"),
    "overtime-year-360h": Code(WARNING, "年360時間超", "従業員 {employee_code}: 年度 ({value} まで) の時間外労働が {figure} で、年{limit}時間を超えています。特別条項の範囲か確認してください。"),
    "overtime-year-720h": Code(ERROR, "年720時間超", "従業員 {employee_code}: 年度 ({value} まで) の時間外労働が {figure} で、年{limit}時間の上限を超えています。労務担当者に報告してください。"),
    "history-month-missing": Code(WARNING, "履歴の月が未取込", "{value} が未取込のため{what}を計算できません。`import-attendance --month {value}` (または --backfill) で取り込んでください。"),
    "backfill-out-of-window": Code(WARNING, "遡れない月", "{value} は勤怠APIで取得できる期間 ({limit} 以降) より前のため取り込みませんでした。"),
    "paid-leave-5days-short": Code(WARNING, "年5日の取得が不足", "従業員 {who}: {value} 付与の年次有給休暇 ({granted}日) の取得が {taken}日です。期限 {deadline} までにあと {needed}日取得させてください (年5日の時季指定義務、労基法39条7項)。"),
    "paid-leave-5days-missed": Code(ERROR, "年5日の取得義務違反", "従業員 {who}: {value} 付与の年次有給休暇 ({granted}日) の期限 {deadline} までの取得が {taken}日で、年5日の取得義務 (労基法39条7項) を満たしていません。労務担当者に報告してください。"),
    "paid-leave-check-unavailable": Code(WARNING, "年5日を確認できない", "年次有給休暇の取得状況 ({value}) を勤怠APIから取得できなかったため、年5日の確認をしていません: {reason}"),
    "closed-month-corrected": Code(WARNING, "締め後の修正", "従業員 {employee_code}: 締め済みの {value} の勤怠が前回の取込から変わっています ({figure})。給与計算に反映済みなら差額を確認してください。"),
    "unencodable-character": Code(ERROR, "文字コードにない文字", "従業員 {employee_code} の列「{column}」の「{value}」は {encoding} で保存できません。--replace-unencodable を付けるか、UTF-8 で出力してください。"),
    "unencodable-replaced": Code(WARNING, "文字を「?」に置換", "従業員 {employee_code} の列「{column}」の「{value}」は {encoding} で保存できないため、その文字を「?」に置き換えて出力しました。"),
    # --- run ------------------------------------------------------------------------------
    "interrupted": Code(ERROR, "中断", "実行が中断されました (Ctrl+C)。ここまでに終わった処理は記録されています。再実行すると続きから処理します。"),
    "more-problems": Code(WARNING, "同じ問題がほかにも", "「{value}」の問題はほかに {count} 件あります (最初の {shown} 件だけを示しています)。"),
    "mail-failed": Code(WARNING, "メール送信失敗", "結果通知メールを送れませんでした: {value}"),
    "restricted-hours": Code(ERROR, "利用制限時間帯", "{value}"),
    "api-unavailable": Code(ERROR, "勤怠APIに接続できない", "{value}"),
    "invalid-input": Code(ERROR, "入力ファイルが不正", "{value}"),
    "usage": Code(ERROR, "設定・使い方の誤り", "{value}"),
}


@dataclass(frozen=True)
class Problem:
    severity: str
    code: str
    message: str
    sheet: str = ""
    cell: str = ""
    employee_code: str = ""
    value: str = ""

    @classmethod
    def of(cls, code: str, *, sheet: str = "", cell: str = "", employee_code: str = "",
           value: Any = "", severity: str | None = None, **fmt: Any) -> Problem:
        """Build a problem from the catalogue; ``fmt`` fills the message template."""
        entry = CATALOGUE[code]
        text = "" if value is None else str(value)
        args = _Defaults(value=text, employee_code=employee_code, sheet=sheet, cell=cell, **fmt)
        return cls(severity=severity or entry.severity, code=code,
                   message=entry.message.format_map(args), sheet=sheet, cell=cell,
                   employee_code=employee_code, value=text)

    @property
    def where(self) -> str:
        """Where the problem is, as the user sees it: 「シート!セル」 or the employee."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or (f"従業員 {self.employee_code}" if self.employee_code else "")

    def line(self) -> str:
        """The problem as one line (a value with a line break or a control character stays on it)."""
        where = self.where
        return one_line(f"{where}: {self.message}" if where else self.message)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


LABOUR_LAW_PREFIXES = ("overtime-", "paid-leave-5days-")  # 36協定 and 年5日: the report's labour-law alerts


def is_labour_law(code: str) -> bool:
    """A labour-law finding (36協定 or 年5日): listed apart from the data problems (the report's own
    section, one row per employee; never in the annotated workbook)."""
    return isinstance(code, str) and code.startswith(LABOUR_LAW_PREFIXES)


PROBLEMS_PER_CODE = 100  # the most problems of one code a report lists (the rest are counted)


def cap_problems(problems: list[Problem], per_code: int = PROBLEMS_PER_CODE) -> list[Problem]:
    """The first ``per_code`` problems of each code, in order, then one ``more-problems`` per code
    that had more, with the count left out: a million bad rows make a small report."""
    seen: dict[str, int] = {}
    kept: list[Problem] = []
    for p in problems:
        n = seen[p.code] = seen.get(p.code, 0) + 1
        if n <= per_code:
            kept.append(p)
    kept.extend(Problem.of("more-problems", value=code, count=f"{n - per_code:,}", shown=f"{per_code:,}",
                           severity=CATALOGUE[code].severity if code in CATALOGUE else WARNING)
                for code, n in seen.items() if n > per_code)
    return kept




def catalogue_markdown() -> str:
    """The table of problem codes for docs/problem-codes.md, generated from CATALOGUE."""
    rows = ["| コード | 重要度 | 内容 |", "|---|---|---|"]
    for code, entry in CATALOGUE.items():
        sev = "エラー" if entry.severity == ERROR else "警告"
        rows.append(f"| `{code}` | {sev} | {entry.title} |")
    return "\n".join(rows)

"""(Re)generate the bad-input corpus in tests/corpus/: `python tests/make_corpus.py`.

Every case is one broken input file, named after what it breaks, with a sidecar
``<name>.expect`` (the exit code and substrings of the one stderr line; see corpus/README.md).
The files are committed; this script only documents how each was made and rebuilds them
byte for byte (fixed zip timestamps, seeded random bytes). Cases too big to commit (a 100 MB
line, a million rows) are committed as a tiny ``<name>.recipe`` instead and built at test
time by ``materialize(recipe, folder)``.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
if str(HERE.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE.parent))

ZIP_TIME = (2026, 1, 1, 0, 0, 0)
LEDGER_HEADER = "従業員番号,姓,名,姓(カナ),名(カナ),部署コード,部署名,社員区分,性別,生年月日,入社年月日,メールアドレス"
LEDGER_ROWS = [
    "00012,山田,太郎,ヤマダ,タロウ,D10,総務課,正社員,男性,1985-04-01,2015-04-01,taro@example.co.jp",
    "00013,鈴木,花子,スズキ,ハナコ,D20,東京営業課,パート,女性,1990/02/28,2020/04/01,hanako@example.co.jp",
    "A0100,髙橋,一郎,タカハシ,イチロウ,D10,総務課,正社員,男,平成3年5月6日,令和6年4月1日,",
]


# --------------------------------------------------------------------------------------------
# Low-level writers
# --------------------------------------------------------------------------------------------


def write_zip(entries: dict[str, bytes]) -> bytes:
    """A zip with fixed timestamps (same bytes on every run)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue()


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def cfb(streams: list[str]) -> bytes:
    """A minimal OLE2 / Compound File Binary container (the wrapper Excel uses for an encrypted
    xlsx and for .xls) whose directory lists ``streams`` (all empty). Version 3, 512-byte sectors:
    header, one FAT sector (sector 0), one directory sector (sector 1)."""
    end, free, fat_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)  # number of FAT sectors
    struct.pack_into("<I", header, 48, 1)  # first directory sector
    struct.pack_into("<I", header, 56, 4096)  # mini stream cutoff
    struct.pack_into("<IIII", header, 60, end, 0, end, 0)  # mini FAT: none; DIFAT: none
    struct.pack_into("<I", header, 76, 0)  # DIFAT[0]: the FAT is sector 0
    for i in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * i, free)
    fat = struct.pack("<II", fat_sect, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, child: int = free, right: int = free) -> bytes:
        raw = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        raw[0:len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 64, len(encoded), kind, 1)  # size of name, type, colour black
        struct.pack_into("<III", raw, 68, free, right, child)  # left, right sibling, child
        struct.pack_into("<II", raw, 116, end if kind == 5 else 0, 0)  # start sector, size
        return bytes(raw)

    entries = [entry("Root Entry", 5, child=1 if streams else free)]
    for i, name in enumerate(streams, start=1):
        entries.append(entry(name, 2, right=i + 1 if i < len(streams) else free))
    directory = b"".join(entries).ljust(512, b"\0")
    return bytes(header) + fat + directory


# --------------------------------------------------------------------------------------------
# Workbooks (mapping workbooks for `validate --workbook`)
# --------------------------------------------------------------------------------------------


def template_bytes() -> bytes:
    import tempfile

    from etl.workbook.template import build_template
    with tempfile.TemporaryDirectory() as d:
        return build_template(Path(d) / "mapping.xlsx").read_bytes()


def _hostile(wb) -> frozenset[int]:
    """The corpus writes hostile workbooks on purpose: their formulas stay formulas."""
    from etl.text import formula_cells
    return frozenset(formula_cells(wb))


def edited(edit: Callable) -> bytes:
    """The template after ``edit(workbook)``, saved deterministically."""
    import tempfile

    import openpyxl

    from etl.workbook.layout import FIXED_TIME, save_workbook
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes()))
    edit(wb)
    with tempfile.TemporaryDirectory() as d:
        return save_workbook(wb, Path(d) / "book.xlsx", FIXED_TIME, private=False, keep_formulas=_hostile(wb)).read_bytes()


def rows(sheet: str, *values: list) -> Callable:
    def edit(wb):
        for row in values:
            wb[sheet].append(row)
    return edit


def override_date(text) -> bytes:
    """個別設定 with one row for ledger employee 00012 whose 異動日 is ``text``."""
    return edited(rows("個別設定", ["00012", "山田 太郎", "1100", "1", text, "いいえ", None]))


def setting(label: str, value) -> Callable:
    def edit(wb):
        ws = wb["設定"]
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == label)
        ws.cell(row, 2).value = value
    return edit


def _merged_header(wb):
    wb["所属マッピング"].merge_cells("A1:B1")


def _hidden_bad_row(wb):
    ws = wb["所属マッピング"]
    for row in (["D10", "総務課", "1100", None, None], ["D20", "東京営業課", "2100", None, None],
                ["D30", "人事課", "1200", None, None], ["D40", "倉庫", "9999", None, "非表示の行"]):
        ws.append(row)
    ws.row_dimensions[5].hidden = True


def _only_howto(wb):
    for name in list(wb.sheetnames):
        if name != "使い方":
            del wb[name]


def _drop_sheet(name: str) -> Callable:
    def edit(wb):
        del wb[name]
    return edit


def _rename_header(sheet: str, cell: str, label: str) -> Callable:
    def edit(wb):
        wb[sheet][cell].value = label
    return edit


def _empty_workbook() -> bytes:
    import tempfile

    from openpyxl import Workbook

    from etl.workbook.layout import FIXED_TIME, save_workbook
    wb = Workbook()
    wb.properties.created = FIXED_TIME
    with tempfile.TemporaryDirectory() as d:
        return save_workbook(wb, Path(d) / "book.xlsx", FIXED_TIME, private=False, keep_formulas=_hostile(wb)).read_bytes()


def _broken_sheet_xml() -> bytes:
    entries = zip_entries(template_bytes())
    entries["xl/worksheets/sheet4.xml"] = entries["xl/worksheets/sheet4.xml"][:700]  # cut mid-element
    return write_zip(entries)


def _zip_without_workbook() -> bytes:
    return write_zip({"readme.txt": "これは Excel ブックではなく、ただの zip です。\n".encode()})


WORKBOOKS: dict[str, tuple[Callable[[], bytes], int, list[str]]] = {
    # name: (bytes, exit code, substrings of the stderr line)
    "not_a_zip.xlsx": (lambda: "従業員番号,氏名\n00012,山田\n".encode(), 3, ["not_a_zip.xlsx", "Excel ブックではありません"]),
    "empty_file.xlsx": (lambda: b"", 3, ["empty_file.xlsx"]),
    "truncated_zip.xlsx": (lambda: template_bytes()[:9000], 3, ["truncated_zip.xlsx"]),
    "password_protected.xlsx": (lambda: cfb(["EncryptionInfo", "EncryptedPackage"]), 3,
                                ["password_protected.xlsx", "パスワード"]),
    "excel_97_2003_format.xlsx": (lambda: cfb(["Workbook", "\x05SummaryInformation"]), 3,
                                  ["excel_97_2003_format.xlsx", ".xls"]),
    "zip_without_workbook.xlsx": (_zip_without_workbook, 3, ["zip_without_workbook.xlsx"]),
    "broken_sheet_xml.xlsx": (_broken_sheet_xml, 3, ["broken_sheet_xml.xlsx"]),
    "empty_workbook.xlsx": (_empty_workbook, 3, ["empty_workbook.xlsx", "マッピングブック"]),
    "only_howto_sheet.xlsx": (lambda: edited(_only_howto), 3, ["only_howto_sheet.xlsx", "マッピングブック"]),
    "missing_sheet.xlsx": (lambda: edited(_drop_sheet("所属マッピング")), 3, ["所属マッピング"]),
    "renamed_header.xlsx": (lambda: edited(_rename_header("所属マッピング", "C1", "所属コード")), 3,
                            ["所属マッピング!", "勤怠所属コード"]),
    "merged_header_cells.xlsx": (lambda: edited(_merged_header), 3, ["所属マッピング!B1", "本体部署名"]),
    "formula_in_code_cell.xlsx": (lambda: edited(rows("所属マッピング", ["D10", "総務課", '="1100"', None, None])), 3,
                                  ["所属マッピング!C2", "数式"]),
    "hidden_row_with_unknown_division.xlsx": (lambda: edited(_hidden_bad_row), 3, ["所属マッピング!C5", "9999"]),
    "unknown_employee_in_override.xlsx": (
        lambda: edited(rows("個別設定", ["99999", "誰か", "1100", None, None, None, None])), 3, ["個別設定!A2", "99999"]),
    "date_text_month_13.xlsx": (lambda: override_date("2026/13/01"), 3, ["個別設定!E2", "2026/13/01"]),
    "date_text_february_30.xlsx": (lambda: override_date("2026-02-30"), 3, ["個別設定!E2", "2026-02-30"]),
    "date_text_wareki_bad_day.xlsx": (lambda: override_date("令和8年2月30日"), 3, ["個別設定!E2", "令和8年2月30日"]),
    "date_text_day_month_year.xlsx": (lambda: override_date("01/12/2026"), 3, ["個別設定!E2", "01/12/2026"]),
    "date_text_no_day.xlsx": (lambda: override_date("2026年12月"), 3, ["個別設定!E2", "2026年12月"]),
    "date_text_words.xlsx": (lambda: override_date("来月1日"), 3, ["個別設定!E2", "来月1日"]),
    "date_text_two_lines.xlsx": (lambda: override_date("2026-12-01\n(予定)"), 3, ["個別設定!E2", "2026-12-01 (予定)"]),
    "date_text_year_zero.xlsx": (lambda: override_date("0000-12-01"), 3, ["個別設定!E2", "0000-12-01"]),
    "boolean_not_yes_no.xlsx": (
        lambda: edited(rows("個別設定", ["00012", None, "1100", "1", None, "たぶん", None])), 3, ["個別設定!F2", "たぶん"]),
    "template_version_unsupported.xlsx": (lambda: edited(setting("テンプレートバージョン", 9)), 3, ["設定!B", "9"]),
    "csv_encoding_unknown.xlsx": (lambda: edited(setting("勤怠CSV文字コード", "EUC-JP")), 3, ["設定!B", "EUC-JP"]),
}


# --------------------------------------------------------------------------------------------
# Ledger files (`ledger load FILE`)
# --------------------------------------------------------------------------------------------


def text_file(lines: list[str], encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def _mixed_encodings() -> bytes:
    return (text_file([LEDGER_HEADER, LEDGER_ROWS[0]]) + text_file([LEDGER_ROWS[1]], "cp932")
            + text_file([LEDGER_ROWS[2]]))


def _bom_plus_cp932() -> bytes:
    return b"\xef\xbb\xbf" + text_file([LEDGER_HEADER, *LEDGER_ROWS], "cp932")


def _binary_garbage() -> bytes:
    return random.Random(20261126).randbytes(4096)


def _ledger_xlsx(values: list[list], edit_xml: Callable[[bytes], bytes] | None = None,
                 errors: tuple[str, ...] = ()) -> bytes:
    """``errors``: cells written as Excel error cells (t="e"), as a failed formula leaves them."""
    import tempfile

    from openpyxl import Workbook

    from etl.workbook.layout import FIXED_TIME, save_workbook
    wb = Workbook()
    wb.properties.created = FIXED_TIME
    ws = wb.active
    ws.title = "従業員"
    for row in values:
        ws.append(row)
    for ref in errors:
        ws[ref].data_type = "e"
    with tempfile.TemporaryDirectory() as d:
        data = save_workbook(wb, Path(d) / "ledger.xlsx", FIXED_TIME, private=False, keep_formulas=_hostile(wb)).read_bytes()
    if edit_xml is None:
        return data
    entries = zip_entries(data)
    entries["xl/worksheets/sheet1.xml"] = edit_xml(entries["xl/worksheets/sheet1.xml"])
    return write_zip(entries)


_XLSX_HEADER = ["従業員番号", "姓", "名", "性別", "生年月日", "入社年月日"]


def _xlsx_bad_cells() -> bytes:
    return _ledger_xlsx([_XLSX_HEADER, ["00012", "山田", "太郎", "男性", dt.datetime(1985, 4, 1), "2015-04-01"],
                         ["00013", "鈴木", "花子", "不明", "1990-02-30", "2020-04-01"]])


def _xlsx_cell_beyond_last_column() -> bytes:
    # a cell reference far right of XFD (Excel's last column): must not allocate a huge row
    return _ledger_xlsx([_XLSX_HEADER, ["00012", "山田", "太郎", "男性", None, None]],
                        lambda xml: xml.replace(b'r="B2"', b'r="ZZZZZZZZ2"'))


def _xlsx_truncated() -> bytes:
    data = _ledger_xlsx([_XLSX_HEADER, ["00012", "山田", "太郎", "男性", None, None]])
    return data[: len(data) // 2]


def _xlsx_without_code_column() -> bytes:
    return _ledger_xlsx([["氏名", "部署"], ["山田 太郎", "総務課"]])


def _xlsx_bad_crc() -> bytes:
    """A zip whose sheet entry fails its CRC check (bit rot inside the compressed data)."""
    data = bytearray(_ledger_xlsx([_XLSX_HEADER, *[[f"{i:05d}", "山田", "太郎", "男性", None, None]
                                                    for i in range(1, 40)]]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x01
    return bytes(data)


def _excel_error_values_csv() -> bytes:
    """A CSV saved from a book whose formulas failed: Excel writes the error values as text."""
    row = LEDGER_ROWS[1].split(",")
    return text_file([LEDGER_HEADER, LEDGER_ROWS[0], ",".join([row[0], "#N/A", *row[2:6], "#REF!", *row[7:]]),
                      LEDGER_ROWS[2].replace("タカハシ", "#VALUE!")])


def _excel_error_values_xlsx() -> bytes:
    """Error cells (t="e") as Excel writes them, the old seven and the dynamic-array ones."""
    return _ledger_xlsx([_XLSX_HEADER, ["00012", "山田", "太郎", "男性", None, None],
                         ["00013", "#N/A", "#DIV/0!", "女性", None, None],
                         ["00014", "#SPILL!", "花子", "#CALC!", None, None]], errors=("B3", "C3", "B4", "D4"))


def _stray_values_below() -> bytes:
    """One employee, then 1,500 rows whose only value is in a column without a header."""
    return text_file([LEDGER_HEADER, LEDGER_ROWS[0], *[",,,,,,,,,,,,x"] * 1500])


LEDGERS: dict[str, tuple[Callable[[], bytes], int, list[str]]] = {
    # one person twice because Excel dropped the leading zeros (issue 16, kind 2)
    "leading_zero_twins.csv": (lambda: text_file([LEDGER_HEADER, "00123," + LEDGER_ROWS[0].split(",", 1)[1],
                                                  "123," + LEDGER_ROWS[1].split(",", 1)[1]]), 3,
                               ["leading_zero_twins.csv 3行目", "「00123」", "先頭の 0"]),
    "leading_zero_twins_reversed.csv": (lambda: text_file([LEDGER_HEADER, "77," + LEDGER_ROWS[0].split(",", 1)[1],
                                                           "0077," + LEDGER_ROWS[1].split(",", 1)[1]]), 3,
                                        ["leading_zero_twins_reversed.csv 3行目", "「77」"]),
    "leading_zero_twins.xlsx": (lambda: _ledger_xlsx([_XLSX_HEADER, ["00456", "山田", "太郎", "男性", None, None],
                                                      [456, "鈴木", "花子", "女性", None, None]]), 3,
                                ["leading_zero_twins.xlsx セル A3", "「00456」"]),
    # a formula that failed in the source book: its error value is refused, never loaded as a name
    "excel_error_values.csv": (_excel_error_values_csv, 3,
                               ["excel_error_values.csv 3行目", "「#N/A」", "Excel のエラー値", "ほか 2 件"]),
    "excel_error_values.xlsx": (_excel_error_values_xlsx, 3,
                                ["excel_error_values.xlsx セル B3", "「#N/A」", "Excel のエラー値", "ほか 3 件"]),
    # unbounded work: a long tail of rows with values only outside the used columns (kind 3)
    "stray_values_below.csv": (_stray_values_below, 3, ["stray_values_below.csv"]),
    "empty.csv": (lambda: b"", 3, ["empty.csv"]),
    "header_only.csv": (lambda: text_file([LEDGER_HEADER]), 3, ["header_only.csv"]),
    "only_blank_lines.csv": (lambda: b"\r\n   \r\n,,,\r\n\r\n", 3, ["only_blank_lines.csv"]),
    "euc_jp.csv": (lambda: text_file([LEDGER_HEADER, *LEDGER_ROWS[:2]], "euc_jp"), 3, ["euc_jp.csv", "1行目"]),
    "utf16_with_bom.csv": (lambda: text_file([LEDGER_HEADER, *LEDGER_ROWS], "utf-16"), 3,
                           ["utf16_with_bom.csv", "UTF-16"]),
    "utf16_without_bom.csv": (lambda: text_file([LEDGER_HEADER, *LEDGER_ROWS], "utf-16-le"), 3,
                              ["utf16_without_bom.csv"]),
    "mixed_utf8_and_cp932_lines.csv": (_mixed_encodings, 3, ["mixed_utf8_and_cp932_lines.csv", "3行目"]),
    "bom_plus_cp932.csv": (_bom_plus_cp932, 3, ["bom_plus_cp932.csv", "1行目"]),
    "binary_garbage.csv": (_binary_garbage, 3, ["binary_garbage.csv"]),
    "nul_bytes.csv": (lambda: text_file([LEDGER_HEADER, LEDGER_ROWS[0].replace("山田", "山\0田"), "\0\0\0\0"]), 3,
                      ["nul_bytes.csv", "行目"]),
    "duplicate_headers.csv": (lambda: text_file(["従業員番号,姓,名,姓,部署コード", "00012,山田,太郎,山本,D10"]), 3,
                              ["duplicate_headers.csv 1行目", "姓"]),
    "alias_duplicates_header.csv": (lambda: text_file(["従業員番号,姓,名,社員番号", "00012,山田,太郎,00013"]), 3,
                                    ["alias_duplicates_header.csv 1行目", "社員番号"]),
    "missing_code_column.csv": (lambda: text_file(["氏名,姓,名,部署コード", "山田 太郎,山田,太郎,D10"]), 3,
                                ["missing_code_column.csv 1行目", "従業員番号"]),
    "blank_lines_then_bad_date.csv": (lambda: text_file([LEDGER_HEADER, "", LEDGER_ROWS[0], "  ", "",
                                                         LEDGER_ROWS[1].replace("1990/02/28", "1990/02/30")]), 3,
                                      ["blank_lines_then_bad_date.csv 6行目", "1990/02/30"]),
    "unterminated_quote.csv": (lambda: text_file([LEDGER_HEADER, LEDGER_ROWS[0], '00013,"鈴木,花子,スズキ']), 3,
                               ["unterminated_quote.csv 3行目", "引用符"]),
    "duplicate_code.csv": (lambda: text_file([LEDGER_HEADER, *LEDGER_ROWS, LEDGER_ROWS[0].replace("00012", "００012")]), 3,
                           ["duplicate_code.csv 5行目", "00012"]),
    "invalid_gender.csv": (lambda: text_file([LEDGER_HEADER, LEDGER_ROWS[0].replace("男性", "その他")]), 3,
                           ["invalid_gender.csv 2行目", "その他"]),
    "exponent_code.csv": (lambda: text_file(["従業員番号,姓,名", "1.23E+05,山田,太郎"]), 3, ["exponent_code.csv 2行目", "1.23E+05"]),
    "value_beyond_header.csv": (lambda: text_file(["従業員番号,姓,名", "00012,山田,太郎,余分な値"]), 3,
                                ["value_beyond_header.csv 2行目", "4 列目"]),
    "missing_required_value.csv": (lambda: text_file(["従業員番号,姓,名", "00012,,太郎"]), 3,
                                   ["missing_required_value.csv 2行目", "姓"]),
    "legacy_excel.xls": (lambda: cfb(["Workbook"]), 3, ["legacy_excel.xls", ".xls"]),
    "not_a_workbook.xlsx": (lambda: text_file([LEDGER_HEADER, *LEDGER_ROWS]), 3, ["not_a_workbook.xlsx"]),
    "password_protected.xlsx": (lambda: cfb(["EncryptionInfo", "EncryptedPackage"]), 3,
                                ["password_protected.xlsx", "パスワード"]),
    "truncated.xlsx": (_xlsx_truncated, 3, ["truncated.xlsx"]),
    "xlsx_bad_cells.xlsx": (_xlsx_bad_cells, 3, ["xlsx_bad_cells.xlsx セル D3", "不明"]),
    "xlsx_without_code_column.xlsx": (_xlsx_without_code_column, 3, ["xlsx_without_code_column.xlsx", "従業員番号"]),
    "xlsx_cell_beyond_last_column.xlsx": (_xlsx_cell_beyond_last_column, 3, ["xlsx_cell_beyond_last_column.xlsx"]),
    "xlsx_bad_crc.xlsx": (_xlsx_bad_crc, 3, ["xlsx_bad_crc.xlsx"]),
}


# --------------------------------------------------------------------------------------------
# Configuration files (`--config FILE validate`)
# --------------------------------------------------------------------------------------------

CONFIGS: dict[str, tuple[Callable[[], bytes], int, list[str]]] = {
    "broken_toml.toml": (lambda: b'[attendance_api]\nbase_url = "https://api.kingtime.jp/v1.0\ntimeout_s = 30\n', 2,
                         ["broken_toml.toml", "line 2"]),
    "unclosed_section.toml": (lambda: b"[attendance_api\nconcurrency = 4\n", 2, ["unclosed_section.toml", "line 1"]),
    "unknown_key.toml": (lambda: b"[attendance_api]\ntimeout = 30\n", 2, ["unknown_key.toml [attendance_api] timeout"]),
    "unknown_section.toml": (lambda: b"[api]\nbase_url = \"https://api.kingtime.jp/v1.0\"\n", 2,
                             ["unknown_section.toml [api]"]),
    "wrong_type_string_for_number.toml": (lambda: b'[attendance_api]\ntimeout_s = "30"\n', 2,
                                          ["wrong_type_string_for_number.toml [attendance_api] timeout_s"]),
    "wrong_type_bool_for_number.toml": (lambda: b"[mail]\nport = true\n", 2, ["wrong_type_bool_for_number.toml [mail] port"]),
    "section_not_a_table.toml": (lambda: b'ledger = "sqlite:///ledger.db"\n', 2, ["section_not_a_table.toml", "ledger"]),
    "bad_url_scheme.toml": (lambda: b'[attendance_api]\nbase_url = "ftp://api.kingtime.jp/v1.0"\n', 2,
                            ["bad_url_scheme.toml [attendance_api] base_url"]),
    "negative_concurrency.toml": (lambda: b"[attendance_api]\nconcurrency = -1\n", 2,
                                  ["negative_concurrency.toml [attendance_api] concurrency"]),
    "bad_restricted_hours.toml": (lambda: b'[attendance_api]\nrestricted_hours = ["25:00-26:00"]\n', 2,
                                  ["bad_restricted_hours.toml [attendance_api] restricted_hours"]),
    "not_utf8.toml": (lambda: "# 勤怠APIの設定\n[attendance_api]\nconcurrency = 2\n".encode("cp932"), 2,
                      ["not_utf8.toml", "UTF-8"]),
    "binary_garbage.toml": (lambda: random.Random(8).randbytes(512), 2, ["binary_garbage.toml"]),
    # a secret pasted where its variable's name goes: refused, and never echoed (issue 16, kind 8)
    "token_pasted_as_token_env.toml": (lambda: b'[attendance_api]\ntoken_env = "9f86d081884c7d659a2feaa0c55ad015"\n', 2,
                                       ["token_pasted_as_token_env.toml [attendance_api] token_env", "表示しません"]),
    "token_with_dashes_as_token_env.toml": (lambda: b'[attendance_api]\ntoken_env = "kot-3f9a-77ab-e1d0"\n', 2,
                                            ["[attendance_api] token_env", "表示しません"]),
    "token_as_number_token_env.toml": (lambda: b"[attendance_api]\ntoken_env = 904412887310023\n", 2,
                                       ["[attendance_api] token_env", "文字列"]),
    "password_pasted_as_password_env.toml": (lambda: b'[mail]\npassword_env = "Tr0ub4dor&3"\n', 2,
                                             ["[mail] password_env", "表示しません"]),
    # tokens that are valid variable names: a prefix and _ before the secret part, or base64 letters
    "prefixed_token_as_token_env.toml": (lambda: b'[attendance_api]\ntoken_env = "tok_9f86d081884c7d659a2feaa0c55ad015"\n',
                                         2, ["[attendance_api] token_env", "表示しません"]),
    "letters_token_as_token_env.toml": (lambda: b'[attendance_api]\ntoken_env = "qXvTmBfRzLpWkJhYnGdSaEcU"\n', 2,
                                        ["[attendance_api] token_env", "表示しません"]),
    "prefixed_password_as_password_env.toml": (lambda: b'[mail]\npassword_env = "pw_7Hq2Lx9Rt4Zk1Vb8"\n', 2,
                                               ["[mail] password_env", "表示しません"]),
    # numbers that are not numbers of seconds (issue 16, kind 6)
    "timeout_inf.toml": (lambda: b"[attendance_api]\ntimeout_s = inf\n", 2,
                         ["timeout_inf.toml [attendance_api] timeout_s", "inf"]),
    "timeout_nan.toml": (lambda: b"[attendance_api]\ntimeout_s = nan\n", 2, ["[attendance_api] timeout_s"]),
    "per_seconds_huge.toml": (lambda: b"[attendance_api]\nper_seconds = 1e300\n", 2,
                              ["[attendance_api] per_seconds", "86,400 秒以下"]),
    "retry_budget_inf.toml": (lambda: b"[attendance_api]\nretry_budget_s = inf\n", 2,
                              ["[attendance_api] retry_budget_s"]),
    "mail_timeout_inf.toml": (lambda: b"[mail]\ntimeout_s = -inf\n", 2, ["[mail] timeout_s"]),
    # URLs no request can go to: refused at load, not 内部エラー or five retries at the first call
    "base_url_unclosed_ipv6.toml": (lambda: b'[attendance_api]\nbase_url = "http://[::1/v1.0"\n', 2,
                                    ["base_url_unclosed_ipv6.toml [attendance_api] base_url", "URL として読めません"]),
    "base_url_port_out_of_range.toml": (lambda: b'[attendance_api]\nbase_url = "https://api.kingtime.jp:99999/v1.0"\n',
                                        2, ["[attendance_api] base_url", "ポート"]),
    "base_url_with_line_break.toml": (lambda: b'[attendance_api]\nbase_url = "https://api.kingtime.jp/v1.0\\r\\nX: 1"\n',
                                      2, ["[attendance_api] base_url", "改行"]),
    "base_url_without_host.toml": (lambda: b'[attendance_api]\nbase_url = "https:///v1.0"\n', 2,
                                   ["[attendance_api] base_url", "ホスト名"]),
    "proxy_port_out_of_range.toml": (lambda: b'[attendance_api]\nproxy = "http://user:pass@proxy.example.co.jp:80800"\n',
                                     2, ["[attendance_api] proxy", "ポート"]),
    "concurrency_huge.toml": (lambda: b"[attendance_api]\nconcurrency = 1000000\n", 2,
                              ["[attendance_api] concurrency", "64 以下"]),
    "mail_port_huge.toml": (lambda: b"[mail]\nport = 70000\n", 2, ["[mail] port", "65535"]),
}


# --------------------------------------------------------------------------------------------
# Recipes: cases built at test time
# --------------------------------------------------------------------------------------------


def long_line(path: Path, size: int) -> None:
    """A ledger CSV whose line 2 is ``size`` bytes long (no newline until the end)."""
    chunk = ("山田" * 16384).encode("utf-8")
    with open(path, "wb") as fh:
        fh.write(text_file([LEDGER_HEADER]))
        fh.write(b"00012,")
        written = 6
        while written < size:
            piece = chunk[: size - written]
            fh.write(piece)
            written += len(piece)
        fh.write(b"\r\n")


def million_rows(path: Path, rows: int, sheet: str = "xl/worksheets/sheet6.xml") -> None:
    """The template whose 個別設定 sheet has ``rows`` filled rows (written as raw sheet XML: openpyxl
    would take minutes). Every row names an employee that is not in the ledger."""
    with zipfile.ZipFile(io.BytesIO(template_bytes())) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != sheet:
                dst.writestr(info, data)
                continue
            head, tail = data.decode("utf-8").split("</row></sheetData>", 1)
            with dst.open(zipfile.ZipInfo(sheet, date_time=ZIP_TIME), "w") as fh:
                fh.write((head + "</row>").encode("utf-8"))
                batch: list[str] = []
                for r in range(2, rows + 2):
                    batch.append(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="C{r}"><v>1100</v></c>'
                                 f'<c r="F{r}"><v>0</v></c></row>')
                    if len(batch) == 20000:
                        fh.write("".join(batch).encode("ascii"))
                        batch = []
                fh.write("".join(batch).encode("ascii"))
                fh.write(("</sheetData>" + tail).encode("utf-8"))


def _with_padding(base: bytes, path: Path, size: int) -> None:
    """``base`` (an xlsx) plus one extra part that expands to ``size`` zero bytes: a small file
    whose parts expand to far more than any real workbook (a zip bomb)."""
    block = bytes(1 << 20)
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open(zipfile.ZipInfo("xl/media/padding.bin", date_time=ZIP_TIME), "w", force_zip64=True) as fh:
            for _ in range(size // len(block)):
                fh.write(block)


def ledger_bomb(path: Path, size: int) -> None:
    _with_padding(_ledger_xlsx([_XLSX_HEADER, ["00456", "山田", "太郎", "男性", None, None]]), path, size)


def workbook_bomb(path: Path, size: int) -> None:
    _with_padding(template_bytes(), path, size)


def stray_column_rows(path: Path, rows: int) -> None:
    """A ledger xlsx: one employee, then ``rows`` rows holding a value only in column Z."""
    entries = zip_entries(_ledger_xlsx([_XLSX_HEADER, ["00456", "山田", "太郎", "男性", None, None]]))
    sheet = "xl/worksheets/sheet1.xml"
    head, tail = entries.pop(sheet).decode("utf-8").split("</row></sheetData>", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for name, data in entries.items():
            dst.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data)
        with dst.open(zipfile.ZipInfo(sheet, date_time=ZIP_TIME), "w") as fh:
            fh.write((head + "</row>").encode("utf-8"))
            for start in range(3, rows + 3, 20000):
                fh.write("".join(f'<row r="{r}"><c r="Z{r}"><v>1</v></c></row>'
                                 for r in range(start, min(start + 20000, rows + 3))).encode("ascii"))
            fh.write(("</sheetData>" + tail).encode("utf-8"))


def wide_rows(path: Path, rows: int, commas: int) -> None:
    """A ledger CSV whose ``rows`` employees each end with ``commas`` empty fields (each line stays
    under the 1 MB line limit: the work grows with the fields, not the bytes or the rows)."""
    tail = b"," * commas + b"\r\n"
    with open(path, "wb") as fh:
        fh.write(text_file([LEDGER_HEADER]))
        for i in range(rows):
            fh.write(f"{i:05d},山田,太郎,男性".encode() + tail)


GENERATORS: dict[str, Callable[..., None]] = {"long_line": long_line, "million_rows": million_rows,
                                              "ledger_bomb": ledger_bomb, "workbook_bomb": workbook_bomb,
                                              "stray_column_rows": stray_column_rows, "wide_rows": wide_rows}

RECIPES: dict[str, tuple[str, dict, int, list[str]]] = {
    # kind/name: (generator, arguments, exit code, substrings)
    "ledger/100mb_line.csv": ("long_line", {"size": 100_000_000}, 3, ["100mb_line.csv 2行目", "長すぎ"]),
    "workbook/million_rows.xlsx": ("million_rows", {"rows": 1_000_000}, 3, ["個別設定!A100002", "100,000 行"]),
    # unbounded work (issue 16, kind 3): parts that expand to 300 MB; a million rows in an unused column
    "ledger/expanded_bomb.xlsx": ("ledger_bomb", {"size": 300 << 20}, 3, ["expanded_bomb.xlsx", "大きすぎ"]),
    "workbook/expanded_bomb.xlsx": ("workbook_bomb", {"size": 300 << 20}, 3, ["expanded_bomb.xlsx", "大きすぎ"]),
    "ledger/stray_column_million_rows.xlsx": ("stray_column_rows", {"rows": 1_000_000}, 3,
                                              ["stray_column_million_rows.xlsx"]),
    # a million commas a line, 60 lines: 60 MB ran 15 s in 875 MB before the field limits
    "ledger/million_commas_a_line.csv": ("wide_rows", {"rows": 60, "commas": 999_000}, 3,
                                         ["million_commas_a_line.csv 2行目", "16,384 列"]),
    # 16,000 commas a line (within Excel's width), 3,000 lines: 48 million fields in all
    "ledger/wide_rows_many_fields.csv": ("wide_rows", {"rows": 3_000, "commas": 16_000}, 3,
                                         ["wide_rows_many_fields.csv", "大きすぎ", "項目"]),
}


def read_recipe(path: Path) -> tuple[str, dict]:
    """A recipe file: ``generator = NAME`` and ``name = integer`` lines (# comments)."""
    generator, args = "", {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "generator":
            generator = value
        else:
            args[key] = int(value.replace("_", ""))
    if generator not in GENERATORS:
        raise ValueError(f"{path}: unknown generator {generator!r} (one of {', '.join(GENERATORS)})")
    return generator, args


def materialize(recipe: Path, folder: Path) -> Path:
    """Build the case file that ``recipe`` (``<name>.recipe``) describes into ``folder``."""
    generator, args = read_recipe(recipe)
    out = Path(folder) / recipe.name.removesuffix(".recipe")
    GENERATORS[generator](out, **args)
    return out


# --------------------------------------------------------------------------------------------


def expect_text(code: int, says: list[str], note: str = "") -> str:
    lines = [f"# {note}"] if note else []
    lines.append(f"exit: {code}")
    lines.extend(f"stderr: {s}" for s in says)
    return "\n".join(lines) + "\n"


def main() -> None:
    for kind, table in (("workbook", WORKBOOKS), ("ledger", LEDGERS), ("config", CONFIGS)):
        folder = CORPUS / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name, (make, code, says) in table.items():
            (folder / name).write_bytes(make())
            (folder / f"{name}.expect").write_text(expect_text(code, says), encoding="utf-8")
    for case, (generator, args, code, says) in RECIPES.items():
        path = CORPUS / f"{case}.recipe"
        body = [f"# built at test time by tests/make_corpus.py ({generator})", f"generator = {generator}"]
        body += [f"{k} = {v}" for k, v in args.items()]
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        (CORPUS / f"{case}.expect").write_text(expect_text(code, says), encoding="utf-8")


if __name__ == "__main__":
    main()

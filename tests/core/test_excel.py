"""ibms.core.excel — pure pytest, no Django."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from ibms.core.excel import (
    INVALID_FILE,
    Column,
    ImportRejected,
    RowError,
    build_template,
    error_report,
    export_rows,
    format_fen,
    parse_yuan_to_fen,
    read_rows,
)

CATEGORY = (("01", "基本支出"), ("02", "项目支出"))
COLUMNS = [
    Column("code", "项目编码", required=True, max_length=10, help="单位内唯一"),
    Column("name", "项目名称", required=True),
    Column("amount", "金额", required=True, kind="money"),
    Column("qty", "数量", kind="int"),
    Column("start", "开始日期", kind="date"),
    Column("active", "是否启用", kind="bool"),
    Column("category", "支出类别", kind="choice", choices=CATEGORY),
    Column("note", "备注"),
]
HEADERS = [c.header for c in COLUMNS]


def _xlsx(rows: list[list[Any]], *, before: list[list[Any]] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in (before or []) + rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fill_template(data_rows: list[list[Any]]) -> bytes:
    wb = load_workbook(io.BytesIO(build_template(COLUMNS, title="项目导入")))
    ws = wb.worksheets[0]
    for r, values in enumerate(data_rows, start=2):
        for c, value in enumerate(values, start=1):
            ws.cell(row=r, column=c).value = value
    wb.active = 1  # user saved while looking at 填写说明: data sheet must still be found
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _errors(exc: pytest.ExceptionInfo[ImportRejected]) -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in exc.value.errors}


# ------------------------------------------------------------------------------------------ money


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1,234.56", 123456),
        ("1234.5", 123450),
        ("1234", 123400),
        (" 1234. ", 123400),
        ("-0.01", -1),
        ("+12.30", 1230),
        ("1.500", 150),
        ("¥1,234,567.89", 123456789),
        ("0", 0),
    ],
)
def test_parse_yuan_to_fen(text: str, fen: int) -> None:
    assert parse_yuan_to_fen(text) == fen


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.234", "金额最多两位小数"),
        ("abc", "金额格式不正确"),
        ("1,23", "金额格式不正确"),
        ("12,3456.00", "金额格式不正确"),
        ("", "金额不能为空"),
        ("1e5", "金额格式不正确"),
        ("--1", "金额格式不正确"),
        ("1" * 18, "金额超出允许范围"),
    ],
)
def test_parse_yuan_to_fen_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_yuan_to_fen(text)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.booleans())
def test_yuan_text_round_trip(fen: int, grouped: bool) -> None:
    assert parse_yuan_to_fen(format_fen(fen, grouped=grouped)) == fen


# ------------------------------------------------------------------------------------------ template


def test_template_layout() -> None:
    wb = load_workbook(io.BytesIO(build_template(COLUMNS, title="项目导入", example={"amount": 123456})))
    ws = wb.worksheets[0]
    assert ws.title == "项目导入"
    assert [c.value for c in ws[1]] == [
        "项目编码*",
        "项目名称*",
        "金额*",
        "数量",
        "开始日期",
        "是否启用",
        "支出类别",
        "备注",
    ]
    assert ws["A1"].font.b and ws["A1"].font.color.rgb.endswith("C00000")
    assert ws.freeze_panes == "A2"
    assert "单位内唯一" in ws["A1"].comment.text and "示例：1,234.56" in ws["C1"].comment.text
    assert ws.column_dimensions["A"].number_format == "@"  # codes keep leading zeros
    assert ws.column_dimensions["C"].number_format == "@"
    formulas = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert formulas["G2:G10001"] == "'选项'!$G$1:$G$2"
    assert formulas["F2:F10001"] == '"是,否"'
    assert [c.value for c in wb["选项"]["G"]] == ["基本支出", "项目支出"]
    assert wb["选项"].sheet_state == "hidden"
    assert wb["填写说明"]["A2"].value == "项目编码"


def test_template_round_trip() -> None:
    data = _fill_template(
        [
            ["001", "办公设备购置", "1,234.56", 3, dt.datetime(2025, 1, 2), "是", "基本支出", None],
            [7, " 差旅 ", 1234.5, "4", "2025-02-03", "否", "02", "  "],
            [None, None, None, None, None, None, None, None],  # blank row: skipped
            ["0100", "培训", "0.01", 12.0, "2025/3/4", "TRUE", "项目支出", "备注"],
        ]
    )
    rows = read_rows(data, COLUMNS)
    assert rows == [
        {
            "_row": 2, "code": "001", "name": "办公设备购置", "amount": 123456, "qty": 3,
            "start": dt.date(2025, 1, 2), "active": True, "category": "01", "note": None,
        },
        {
            "_row": 3, "code": "7", "name": "差旅", "amount": 123450, "qty": 4,
            "start": dt.date(2025, 2, 3), "active": False, "category": "02", "note": None,
        },
        {
            "_row": 5, "code": "0100", "name": "培训", "amount": 1, "qty": 12,
            "start": dt.date(2025, 3, 4), "active": True, "category": "02", "note": "备注",
        },
    ]  # fmt: skip


def test_header_tolerance_title_row_and_extra_columns() -> None:
    data = _xlsx(
        [[" 项目编码 *", "其他", "项目名称", "＊金额"], ["A01", "x", "名称", "5"]],
        before=[["2025 年项目清单"], []],
    )
    rows = read_rows(data, COLUMNS)
    assert rows == [
        {"_row": 4, "code": "A01", "name": "名称", "amount": 500, "qty": None, "start": None,
         "active": None, "category": None, "note": None}
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ rejection


def test_bad_rows_collect_all_errors() -> None:
    data = _fill_template(
        [
            ["001", "好行", "100", 1, None, None, None, None],
            ["002", "坏金额", "12.345", 1, None, None, None, None],
            ["003", "好行", "100", None, None, None, None, None],
            ["00000000004", None, "abc", 1.5, "2025-13-01", "也许", "其他", None],
        ]
    )
    with pytest.raises(ImportRejected) as exc:
        read_rows(data, COLUMNS)
    assert _errors(exc) == {
        (3, "金额"),
        (5, "项目编码"),
        (5, "项目名称"),
        (5, "金额"),
        (5, "数量"),
        (5, "开始日期"),
        (5, "是否启用"),
        (5, "支出类别"),
    }
    messages = {(e.row, e.column): e.message for e in exc.value.errors}
    assert messages[(3, "金额")] == "金额最多两位小数：12.345"
    assert messages[(5, "项目名称")] == "必填项不能为空"
    assert "长度不能超过 10" in messages[(5, "项目编码")]
    assert "基本支出" in messages[(5, "支出类别")]
    assert "第 3 行「金额」" in str(exc.value)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not an excel file at all",
        "项目编码,项目名称,金额\n001,x,1\n".encode(),  # csv
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,  # legacy .xls (OLE2)
        b"PK\x03\x04 truncated zip",
    ],
)
def test_not_xlsx_refused(payload: bytes) -> None:
    with pytest.raises(ImportRejected) as exc:
        read_rows(payload, COLUMNS)
    assert exc.value.errors == [RowError(0, "", INVALID_FILE)]


def test_zip_that_is_not_xlsx_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ImportRejected) as exc:
        read_rows(buf.getvalue(), COLUMNS)
    assert exc.value.errors == [RowError(0, "", INVALID_FILE)]


class _Upload(io.BytesIO):
    """Stands in for Django's UploadedFile (.size / .name / .read())."""

    def __init__(self, data: bytes, size: int | None = None) -> None:
        super().__init__(data)
        self.name = "upload.xlsx"
        self.size = len(data) if size is None else size


def test_oversized_file_refused(tmp_path: Path) -> None:
    data = _fill_template([["001", "x", "1"]])
    limit = len(data) - 1
    path = tmp_path / "big.xlsx"
    path.write_bytes(data)
    for source in (data, path, str(path), _Upload(data), _Upload(data, size=0)):
        with pytest.raises(ImportRejected) as exc:
            read_rows(source, COLUMNS, max_bytes=limit)
        assert exc.value.errors[0].row == 0 and "文件过大" in exc.value.errors[0].message
    with pytest.raises(ImportRejected):  # declared size alone is enough to refuse without reading
        read_rows(_Upload(b"", size=10**9), COLUMNS)


def test_path_and_file_like_accepted(tmp_path: Path) -> None:
    data = _fill_template([["001", "x", "1"]])
    path = tmp_path / "ok.xlsx"
    path.write_bytes(data)
    upload = _Upload(data)
    upload.read()  # already consumed by someone else: read_rows rewinds
    for source in (path, str(path), upload, memoryview(data)):
        assert [r["code"] for r in read_rows(source, COLUMNS)] == ["001"]


def test_missing_required_headers_refused() -> None:
    data = _xlsx([["项目编码", "数量", "数量"], ["001", 1, 2]])
    with pytest.raises(ImportRejected) as exc:
        read_rows(data, COLUMNS)
    assert exc.value.errors == [
        RowError(1, "项目名称", "缺少必填列"),
        RowError(1, "金额", "缺少必填列"),
        RowError(1, "数量", "表头重复"),
    ]


def test_no_header_row_at_all() -> None:
    with pytest.raises(ImportRejected) as exc:
        read_rows(_xlsx([["a", "b"], [1, 2]]), COLUMNS)
    assert {e.column for e in exc.value.errors} == {"项目编码", "项目名称", "金额"}
    optional = [Column("note", "备注")]
    with pytest.raises(ImportRejected, match="未找到表头"):
        read_rows(_xlsx([["a", "b"]]), optional)


def test_max_rows_and_named_sheet() -> None:
    data = _xlsx([HEADERS[:3]] + [[f"{i:03d}", "x", "1"] for i in range(5)])
    assert len(read_rows(data, COLUMNS, max_rows=5)) == 5
    with pytest.raises(ImportRejected, match="数据行数超过上限"):
        read_rows(data, COLUMNS, max_rows=4)
    with pytest.raises(ImportRejected, match="找不到工作表"):
        read_rows(data, COLUMNS, sheet="不存在")
    assert len(read_rows(data, COLUMNS, sheet="Sheet")) == 5


def test_empty_template_reads_no_rows() -> None:
    assert read_rows(build_template(COLUMNS, title="空"), COLUMNS) == []


# ------------------------------------------------------------------------------------------ export


def test_export_read_back_equals_input() -> None:
    rows = [
        {"code": "001", "name": "办公设备", "amount": 123456, "qty": 3, "start": dt.date(2025, 1, 2),
         "active": True, "category": "01", "note": "=HYPERLINK(\"http://x\")"},
        {"code": "0", "name": "最大", "amount": 10**15, "qty": -1, "start": None,
         "active": False, "category": "02", "note": None},
        {"code": "A-9", "name": "负数", "amount": -(10**15) + 1, "qty": None, "start": dt.date(1999, 12, 31),
         "active": None, "category": None, "note": "含\x07控制符"},
        {"code": "x", "name": "零", "amount": 1, "qty": 0, "start": None,
         "active": None, "category": None, "note": None},
    ]  # fmt: skip
    data = export_rows(COLUMNS, iter(rows), title="项目清单/2025")
    back = read_rows(data, COLUMNS)
    expected = [dict(r, _row=i) for i, r in enumerate(rows, start=2)]
    expected[2]["note"] = "含控制符"  # illegal XML control characters are dropped
    assert back == expected

    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws.title == "项目清单_2025"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:H5"
    assert ws["A1"].font.b
    assert ws["A2"].data_type == "s" and ws["A2"].value == "001"
    assert Decimal(str(ws["C2"].value)) == Decimal("1234.56")
    assert ws["C2"].number_format == "#,##0.00"
    assert ws["H2"].data_type == "s"  # formula injection neutralised
    assert ws["G2"].value == "基本支出"


def test_export_money_must_be_int() -> None:
    with pytest.raises(TypeError):
        export_rows(COLUMNS, [{"amount": 12.5}], title="x")


def test_error_report_lists_errors() -> None:
    errors = [RowError(0, "", INVALID_FILE), RowError(3, "金额", "金额最多两位小数：1.234")]
    ws = load_workbook(io.BytesIO(error_report(errors))).worksheets[0]
    assert ws.title == "导入错误报告"
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["行号", "列", "错误"],
        [None, None, INVALID_FILE],
        [3, "金额", "金额最多两位小数：1.234"],
    ]

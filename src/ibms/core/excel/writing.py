"""Writing .xlsx: import templates (help in comments and a 填写说明 sheet), streaming exports, error reports."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..money import format_fen
from .cells import Column, RowError, _cell_text

_TEMPLATE_ROWS = 10_000  # rows covered by the template's dropdown validations
_MONEY_FORMAT = "#,##0.00"
_DATE_FORMAT = "yyyy-mm-dd"
_BOLD = Font(bold=True)
_RED_BOLD = Font(bold=True, color="C00000")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what Excel (and CSV readers) take as the start of a formula


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", title).strip("'")[:31] or "Sheet1"


def _width(col: Column) -> float:
    if col.width is not None:
        return col.width
    shown = sum(2 if ord(ch) > 0x2E7F else 1 for ch in col.header)
    return min(max(shown + 4, 10 if col.kind != "money" else 16), 60)


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _text_value(ws: Any, value: str) -> Any:
    """A string cell that can never become a formula (formula injection) or carry illegal characters.

    openpyxl writes a leading "=" as a formula, and Excel reads = + - @ (and a leading tab or CR) as the start of
    one when the cell is entered again: such text is written as a string cell with Excel's quote prefix (the "'"
    Excel shows only in the edit bar), so what a person sees is the text unchanged and it stays text."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith(FORMULA_START):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def safe_value(ws: Any, value: Any) -> Any:
    """What to hand `ws.append` (a write-only or an ordinary sheet) for any value: text as `_text_value`,
    everything else unchanged."""
    return _text_value(ws, value) if isinstance(value, str) else value


def set_text(cell: Any, value: str) -> None:
    """Put text into an existing cell of an ordinary sheet: always a string cell, never a formula."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True


def _display(col: Column, value: Any) -> str:
    """Human form of a parsed value (used for the template's example)."""
    if value is None:
        return ""
    if col.kind == "money":
        return format_fen(value)
    if col.kind == "bool":
        return "是" if value else "否"
    if col.kind == "choice":
        return col._labels.get(value, str(value))
    return _cell_text(value)


def _kind_text(col: Column) -> str:
    if col.kind == "text":
        return f"文本，最多 {col.max_length} 个字符" if col.max_length else "文本"
    if col.kind == "choice":
        return "从下拉列表选择：" + "、".join(label for _, label in col.choices or ())
    return {
        "int": "整数",
        "money": "金额（元），最多两位小数，如 1,234.56",
        "date": "日期，格式 YYYY-MM-DD",
        "bool": "是 / 否",
    }[col.kind]


def build_template(
    columns: Sequence[Column], *, title: str, example: Mapping[str, Any] | None = None
) -> bytes:
    """Import template: header row (required = red + trailing "*"), help in comments and a 填写说明 sheet."""
    example = example or {}
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(title)
    wb.properties.title = title
    ws.append([safe_value(ws, c.header + ("*" if c.required else "")) for c in columns])
    lists = None
    for i, col in enumerate(columns, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(row=1, column=i)
        cell.font, cell.fill, cell.alignment = (_RED_BOLD if col.required else _BOLD), _HEADER_FILL, _CENTER
        note = "\n".join(
            filter(
                None,
                [
                    "必填" if col.required else "",
                    _kind_text(col),
                    col.help,
                    f"示例：{_display(col, example[col.key])}" if col.key in example else "",
                ],
            )
        )
        cell.comment = Comment(note, "系统", width=260, height=130)
        dim = ws.column_dimensions[letter]
        dim.width = _width(col)
        if col.kind in ("text", "money"):
            dim.number_format = "@"
        elif col.kind == "date":
            dim.number_format = _DATE_FORMAT
        if col.kind == "choice":
            if lists is None:
                lists = wb.create_sheet("选项")
                lists.sheet_state = "hidden"
            labels = [label for _, label in col.choices or ()]
            for r, label in enumerate(labels, start=1):
                set_text(lists.cell(row=r, column=i), label)
            formula = f"'选项'!${letter}$1:${letter}${len(labels)}"
        elif col.kind == "bool":
            formula = '"是,否"'
        else:
            continue
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="输入无效",
            error="请从下拉列表中选择",
        )
        dv.add(f"{letter}2:{letter}{_TEMPLATE_ROWS + 1}")
        ws.add_data_validation(dv)
    ws.freeze_panes = "A2"

    guide = wb.create_sheet("填写说明", 1)
    guide.append(["列名", "是否必填", "填写要求", "说明", "示例"])
    for cell in guide[1]:
        cell.font, cell.fill = _BOLD, _HEADER_FILL
    for r, col in enumerate(columns, start=2):
        texts = (
            col.header,
            "是" if col.required else "否",
            _kind_text(col),
            col.help,
            _display(col, example.get(col.key)),
        )
        for c, text in enumerate(texts, start=1):
            set_text(guide.cell(row=r, column=c), text)  # never a formula
    for letter, width in zip("ABCDE", (20, 10, 40, 40, 20), strict=True):
        guide.column_dimensions[letter].width = width
    wb.active = 0
    return _save(wb)


def _exporter(col: Column, ws: Any) -> Callable[[Any], Any]:
    if col.kind == "money":
        proto = WriteOnlyCell(ws)
        proto.number_format = _MONEY_FORMAT

        def money(v: Any) -> Any:
            if v is None:
                return None
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"money column {col.key!r} expects int fen, got {type(v).__name__}")
            cell = WriteOnlyCell(ws, Decimal(v).scaleb(-2))
            cell._style = proto._style  # shared immutable style: much faster than number_format per cell
            return cell

        return money
    if col.kind == "date":
        proto = WriteOnlyCell(ws)
        proto.number_format = _DATE_FORMAT

        def date(v: Any) -> Any:
            if v is None:
                return None
            if isinstance(v, str):
                return _text_value(ws, v)
            cell = WriteOnlyCell(ws, v)
            cell._style = proto._style
            return cell

        return date
    if col.kind == "int":
        return lambda v: safe_value(ws, v)
    if col.kind == "bool":
        return lambda v: None if v is None else ("是" if v else "否")
    if col.kind == "choice":
        return lambda v: None if v is None else _text_value(ws, col._labels.get(v, str(v)))
    return lambda v: None if v is None else _text_value(ws, _cell_text(v))


def export_rows(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], *, title: str) -> bytes:
    """Streaming export (write-only workbook). Money → Decimal yuan cells '#,##0.00' (exact while the amount
    has at most 15 significant digits, Excel's own limit); text → string cells, so codes keep leading zeros."""
    wb = Workbook(write_only=True)
    wb.properties.title = title
    ws = wb.create_sheet(_sheet_title(title))
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _width(col)
    ws.freeze_panes = "A2"
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws)
        set_text(cell, col.header)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
        header.append(cell)
    ws.append(header)
    pairs = [(col.key, _exporter(col, ws)) for col in columns]
    count = 0
    try:
        for row in rows:
            ws.append([conv(row.get(key)) for key, conv in pairs])
            count += 1
    except BaseException:  # bad value or failing row source: finish and delete openpyxl's temp file
        with contextlib.suppress(Exception):
            ws.close()
            ws._writer.cleanup()
        raise
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    return _save(wb)


_ERROR_COLUMNS = (
    Column("row", "行号", kind="int", width=10),
    Column("column", "列", width=24),
    Column("message", "错误", width=80),
)


def error_report(errors: Iterable[RowError], *, title: str = "导入错误报告") -> bytes:
    """xlsx listing 行号 / 列 / 错误 (行号 blank for file-level errors)."""
    rows = ({"row": e.row or None, "column": e.column, "message": e.message} for e in errors)
    return export_rows(_ERROR_COLUMNS, rows, title=title)

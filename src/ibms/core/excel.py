"""Excel (.xlsx) layer shared by every list: import templates, validated imports, streaming exports.

Framework-free (openpyxl only). Money is integer fen (分) everywhere; yuan exist only as cell text or
as `Decimal` cells in exports, never as float arithmetic.

Template conventions (and what `read_rows` tolerates):
- the header row is the first row (within the first 20) matching the column headers; whitespace and a
  leading/trailing "*" (required marker, also shown in red) are ignored, unknown columns are ignored;
- help text lives in header cell comments and on a "填写说明" sheet, so there is no help row to skip;
- text and money columns are formatted as text ("@") so codes keep leading zeros.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import IO, Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .money import format_fen
from .money import parse_yuan as parse_yuan_to_fen

Kind = Literal["text", "int", "money", "date", "bool", "choice"]
KINDS: frozenset[str] = frozenset(("text", "int", "money", "date", "bool", "choice"))
FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

INVALID_FILE = "文件不是有效的 Excel（.xlsx）文件"
_HEADER_SCAN_ROWS = 20
_TEMPLATE_ROWS = 10_000  # rows covered by the template's dropdown validations
_MONEY_FORMAT = "#,##0.00"
_DATE_FORMAT = "yyyy-mm-dd"
_TRUE = frozenset(("是", "true", "1"))
_FALSE = frozenset(("否", "false", "0"))
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)"  # plain digits or correctly grouped thousands
_INT_RE = re.compile(rf"[-+]?{_NUM}(?:\.0*)?")
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_SPACE_RE = re.compile(r"\s+")

_BOLD = Font(bold=True)
_RED_BOLD = Font(bold=True, color="C00000")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


# ---------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    kind: Kind = "text"
    choices: Sequence[tuple[str, str]] | None = None  # (value, label); a cell may hold either
    max_length: int | None = None
    help: str = ""
    width: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"choice column {self.key!r} needs choices")

    @cached_property
    def _lookup(self) -> dict[str, str]:
        pairs = list(self.choices or ())
        return {label.strip(): value for value, label in pairs} | {str(v).strip(): v for v, _ in pairs}

    @cached_property
    def _labels(self) -> dict[str, str]:
        return {value: label for value, label in self.choices or ()}


@dataclass(frozen=True)
class RowError:
    row: int  # Excel row number as the user sees it; 0 = the file as a whole
    column: str  # header text; "" = the row/file as a whole
    message: str

    def __str__(self) -> str:
        where = f"第 {self.row} 行" if self.row else ""
        if self.column:
            where += f"「{self.column}」"
        return f"{where}：{self.message}" if where else self.message


class ImportRejected(Exception):
    """The upload was refused; `errors` lists every problem found (show them all, or `error_report`)."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors: list[RowError] = list(errors)
        head = "；".join(str(e) for e in self.errors[:3])
        more = f" 等共 {len(self.errors)} 处错误" if len(self.errors) > 3 else ""
        super().__init__(f"导入失败：{head}{more}")


def _reject(message: str, *, row: int = 0, column: str = "") -> ImportRejected:
    return ImportRejected([RowError(row, column, message)])


# ---------------------------------------------------------------------------------------- parsing


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _echo(s: str) -> str:
    """A cell's text quoted back in a message, kept short."""
    return s if len(s) <= 40 else s[:40] + "…"


def _cell_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1.0 → "1": a numeric cell in a text column
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _parse_cell(col: Column, raw: Any) -> Any:
    """Convert one non-blank cell; raises ValueError with a Chinese message."""
    kind = col.kind
    if kind == "text":
        s = _cell_text(raw)
        if col.max_length is not None and len(s) > col.max_length:
            raise ValueError(f"长度不能超过 {col.max_length} 个字符")
        return s
    if kind == "money":
        if isinstance(raw, bool):
            raise ValueError(f"金额格式不正确：{raw}")
        if isinstance(raw, int | float | Decimal):  # str(float) is the shortest repr: 1234.56 stays 1234.56
            return parse_yuan_to_fen(format(Decimal(str(raw)), "f"))
        return parse_yuan_to_fen(_cell_text(raw))
    if kind == "int":
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        s = _cell_text(raw).replace("，", ",")
        if len(s) > 30 or not _INT_RE.fullmatch(s):
            raise ValueError(f"必须是整数：{_echo(s)}")
        return int(s.partition(".")[0].replace(",", ""))
    if kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        s = _cell_text(raw)
        if m := _DATE_RE.fullmatch(s):
            with contextlib.suppress(ValueError):
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
        raise ValueError(f"日期格式不正确：{_echo(s)}（应为 YYYY-MM-DD）")
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        s = _cell_text(raw).lower()
        if s in _TRUE or s in _FALSE:
            return s in _TRUE
        raise ValueError(f"应填写“是”或“否”：{_echo(s)}")
    # choice
    s = _cell_text(raw)
    if s in col._lookup:
        return col._lookup[s]
    labels = [label for _, label in col.choices or ()]
    hint = "、".join(labels[:10]) + ("等" if len(labels) > 10 else "")
    raise ValueError(f"无效选项：{_echo(s)}（可选：{hint}）")


# ---------------------------------------------------------------------------------------- reading


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.4g} MB"
    return f"{n / 1024:.4g} KB" if n >= 1024 else f"{n} 字节"


def _read_bytes(file: FileInput, max_bytes: int) -> bytes:
    too_large = _reject(f"文件过大，最大允许 {_size_text(max_bytes)}")
    if isinstance(file, bytes | bytearray | memoryview):
        data: Any = bytes(file)
    elif isinstance(file, str | os.PathLike):
        if os.path.getsize(file) > max_bytes:
            raise too_large
        with open(file, "rb") as fh:
            data = fh.read(max_bytes + 1)
    else:  # file-like, e.g. Django UploadedFile (.size/.name/.read())
        size = getattr(file, "size", None)
        if isinstance(size, int) and size > max_bytes:
            raise too_large
        with contextlib.suppress(AttributeError, OSError, ValueError):
            file.seek(0)
        data = file.read(max_bytes + 1)
    if not isinstance(data, bytes):
        raise _reject(INVALID_FILE)
    if len(data) > max_bytes:
        raise too_large
    return data


def _open_workbook(data: bytes, max_bytes: int) -> Any:
    if not data.startswith(b"PK\x03\x04"):  # .xls (OLE2), .csv, garbage
        raise _reject(INVALID_FILE)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _reject(INVALID_FILE)
    if sum(i.file_size for i in infos) > max(50 * max_bytes, 100 * 1024 * 1024):  # zip bomb
        raise _reject("文件解压后过大，请删除无关内容后重试")
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises many types for a zip that is not a workbook
        raise _reject(INVALID_FILE)


def _norm_header(value: Any) -> str:
    return _SPACE_RE.sub("", str(value)).strip("*＊") if value is not None else ""


def _scan_header(ws: Any, columns: Sequence[Column]) -> tuple[int, dict[int, int], list[int]]:
    """Best header row of `ws`: (row number, column position → cell index, duplicated positions)."""
    wanted = {_norm_header(c.header): i for i, c in enumerate(columns)}
    best: tuple[int, dict[int, int], list[int]] = (0, {}, [])
    for row_no, values in enumerate(ws.iter_rows(max_row=_HEADER_SCAN_ROWS, values_only=True), start=1):
        found: dict[int, int] = {}
        dups: list[int] = []
        for idx, value in enumerate(values):
            pos = wanted.get(_norm_header(value))
            if pos is not None and pos in found:
                dups.append(pos)
            elif pos is not None:
                found[pos] = idx
        if len(found) > len(best[1]):
            best = (row_no, found, dups)
    return best


def read_rows(
    file: FileInput,
    columns: Sequence[Column],
    *,
    max_bytes: int = 10 * 1024 * 1024,
    max_rows: int = 50_000,
    sheet: str | None = None,
) -> list[dict[str, Any]]:
    """Parse and validate an uploaded .xlsx; all-or-nothing.

    Returns one dict per non-blank row: every column key (None when blank) plus `_row`, the Excel row
    number. Raises ImportRejected listing every problem found (file, header, or cell level).
    """
    wb = _open_workbook(_read_bytes(file, max_bytes), max_bytes)
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise _reject(f"找不到工作表“{sheet}”")
            candidates = [wb[sheet]]
        else:  # active sheet first, then the other visible ones (the user may have saved on 填写说明)
            visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
            candidates = sorted(visible, key=lambda ws: ws is not wb.active)
        required = {i for i, c in enumerate(columns) if c.required}
        best: tuple[Any, int, dict[int, int], list[int]] = (None, 0, {}, [])
        for ws in candidates:
            row_no, found, dups = _scan_header(ws, columns)
            if len(found) > len(best[2]):
                best = (ws, row_no, found, dups)
            if found and required <= found.keys():
                best = (ws, row_no, found, dups)
                break
        ws, header_row, found, dups = best
        errors = [
            RowError(header_row, columns[i].header, "缺少必填列") for i in sorted(required - found.keys())
        ]
        errors += [RowError(header_row, columns[i].header, "表头重复") for i in dict.fromkeys(dups)]
        if not found and not errors:
            errors.append(RowError(0, "", "未找到表头行，请使用系统提供的导入模板"))
        if errors:
            raise ImportRejected(errors)
        return _read_data(ws, columns, header_row, found, max_rows)
    finally:
        wb.close()


def _read_data(
    ws: Any, columns: Sequence[Column], header_row: int, found: dict[int, int], max_rows: int
) -> list[dict[str, Any]]:
    cells = [(col, found.get(i)) for i, col in enumerate(columns)]
    out: list[dict[str, Any]] = []
    errors: list[RowError] = []
    rows = ws.iter_rows(min_row=header_row + 1, values_only=True)
    for row_no, values in enumerate(rows, start=header_row + 1):
        raw = [values[idx] if idx is not None and idx < len(values) else None for _, idx in cells]
        if all(_is_blank(v) for v in raw):
            continue
        if len(out) >= max_rows:
            raise _reject(f"数据行数超过上限（最多 {max_rows} 行），请分批导入")
        item: dict[str, Any] = {"_row": row_no}
        for (col, _), value in zip(cells, raw, strict=True):
            item[col.key] = None
            if _is_blank(value):
                if col.required:
                    errors.append(RowError(row_no, col.header, "必填项不能为空"))
                continue
            try:
                item[col.key] = _parse_cell(col, value)
            except ValueError as exc:
                errors.append(RowError(row_no, col.header, str(exc)))
        out.append(item)
    if errors:
        raise ImportRejected(errors)
    return out


# ---------------------------------------------------------------------------------------- writing


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
    """A string cell that can never become a formula (formula injection) or carry illegal characters."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    return cell


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
    ws.append([c.header + ("*" if c.required else "") for c in columns])
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
                lists.cell(row=r, column=i).value = label
                lists.cell(row=r, column=i).data_type = "s"
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
            guide.cell(row=r, column=c).value = text
            guide.cell(row=r, column=c).data_type = "s"  # never a formula
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
            cell = WriteOnlyCell(ws, v)
            cell._style = proto._style
            return cell

        return date
    if col.kind == "int":
        return lambda v: v
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
        cell = WriteOnlyCell(ws, col.header)
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

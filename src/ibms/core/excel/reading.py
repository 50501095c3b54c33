"""Reading an uploaded .xlsx: size and zip checks, the header row, every cell validated (all or nothing).

Streaming (openpyxl read-only): the zip directory is checked against `ReadLimits` before any XML is parsed, and
then at most `max_sheet_rows` rows and `max_columns` columns of one sheet are ever materialised.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from .cells import (
    INVALID_FILE,
    Column,
    FileInput,
    ImportRejected,
    RowError,
    _is_blank,
    _parse_cell,
    _reject,
)
from .limits import MiB, ReadLimits

_HEADER_SCAN_ROWS = 20
_SPACE_RE = re.compile(r"\s+")
_DIMENSION_TAG, _SHEET_DATA_TAG = f"{{{SHEET_MAIN_NS}}}dimension", f"{{{SHEET_MAIN_NS}}}sheetData"
_RATIO_FROM = 1 * MiB  # members smaller than this can do no harm, whatever their ratio


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.4g} MB"
    return f"{n / 1024:.4g} KB" if n >= 1024 else f"{n} 字节"


def _read_bytes(file: FileInput, max_bytes: int) -> bytes:
    too_large = _reject(f"文件过大，最大允许 {_size_text(max_bytes)}", code="import_file_too_large")
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


def _check_zip(data: bytes, limits: ReadLimits) -> None:
    """The zip directory alone, before any member is inflated: member count, declared sizes, ratios."""
    if not data.startswith(b"PK\x03\x04"):  # .xls (OLE2), .csv, garbage
        raise _reject(INVALID_FILE)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _reject(INVALID_FILE)
    if len(infos) > limits.max_zip_members:
        raise _reject(f"文件内部结构异常（包含 {len(infos)} 个部件，最多 {limits.max_zip_members} 个），"
                      "请另存为标准的 Excel 文件后重试", code="import_zip_members")
    if sum(i.file_size for i in infos) > limits.max_unzipped_bytes:
        raise _reject(f"文件解压后过大（最多 {_size_text(limits.max_unzipped_bytes)}），请删除无关内容后重试",
                      code="import_unzipped_too_large")
    for i in infos:
        if i.file_size > _RATIO_FROM and i.file_size > limits.max_zip_ratio * max(i.compress_size, 1):
            raise _reject("文件压缩比异常（疑似压缩炸弹），已拒绝导入", code="import_zip_ratio")


class _Sheet(ReadOnlyWorksheet):
    def _get_size(self) -> None:
        """The declared dimension, from the head of the sheet only: openpyxl's own parses the whole sheet when
        there is none (every sheet, at open, before any limit could apply)."""
        with self._get_source() as src:
            for _event, element in iterparse(src, events=("start",)):
                if element.tag == _DIMENSION_TAG:
                    with contextlib.suppress(ValueError, TypeError):
                        bounds = SheetDimension.from_tree(element).boundaries
                        self._min_column, self._min_row, self._max_column, self._max_row = bounds
                    return
                if element.tag == _SHEET_DATA_TAG:
                    return


class _Reader(ExcelReader):
    def read_worksheets(self) -> None:  # read-only only: as openpyxl's, with `_Sheet`
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files:
                continue
            if "chartsheet" in rel.Type:
                self.read_chartsheet(sheet, rel)
                continue
            ws = _Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
            ws.sheet_state = sheet.state
            self.wb._sheets.append(ws)


def _open_workbook(data: bytes, limits: ReadLimits) -> Any:
    _check_zip(data, limits)
    try:
        reader = _Reader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        reader.read()
        return reader.wb
    except Exception:  # openpyxl raises many types for a zip that is not a workbook
        raise _reject(INVALID_FILE)


def _norm_header(value: Any) -> str:
    return _SPACE_RE.sub("", str(value)).strip("*＊") if value is not None else ""


def _scan_header(ws: Any, columns: Sequence[Column], max_columns: int) -> tuple[int, dict[int, int], list[int]]:
    """Best header row of `ws`: (row number, column position → cell index, duplicated positions)."""
    wanted = {_norm_header(c.header): i for i, c in enumerate(columns)}
    best: tuple[int, dict[int, int], list[int]] = (0, {}, [])
    rows = ws.iter_rows(max_row=_HEADER_SCAN_ROWS, max_col=max_columns, values_only=True)
    for row_no, values in enumerate(rows, start=1):
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
    max_bytes: int | None = None,
    max_rows: int | None = None,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
) -> list[dict[str, Any]]:
    """Parse and validate an uploaded .xlsx; all-or-nothing.

    Returns one dict per non-blank row: every column key (None when blank) plus `_row`, the Excel row
    number. Raises ImportRejected (a ValidationFailed) listing every problem found (file, header, or cell
    level). `limits` default to the settings (`ReadLimits.from_settings`); `max_bytes`/`max_rows` override them.
    """
    limits = (limits or ReadLimits.from_settings()).but(max_bytes=max_bytes, max_rows=max_rows)
    wb = _open_workbook(_read_bytes(file, limits.max_bytes), limits)
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise _reject(f"找不到工作表“{sheet}”", code="import_sheet_missing")
            candidates = [wb[sheet]]
        else:  # active sheet first, then the other visible ones (the user may have saved on 填写说明)
            visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
            candidates = sorted(visible, key=lambda ws: ws is not wb.active)
        required = {i for i, c in enumerate(columns) if c.required}
        best: tuple[Any, int, dict[int, int], list[int]] = (None, 0, {}, [])
        for ws in candidates:
            row_no, found, dups = _scan_header(ws, columns, limits.max_columns)
            if len(found) > len(best[2]):
                best = (ws, row_no, found, dups)
            if found and required <= found.keys():
                best = (ws, row_no, found, dups)
                break
        ws, header_row, found, dups = best
        errors = [
            RowError(header_row, columns[i].header, "缺少必填列", "import_header_missing")
            for i in sorted(required - found.keys())
        ]
        errors += [
            RowError(header_row, columns[i].header, "表头重复", "import_header_duplicate") for i in dict.fromkeys(dups)
        ]
        if not found and not errors:
            errors.append(RowError(0, "", "未找到表头行，请使用系统提供的导入模板", "import_header_missing"))
        if errors:
            raise ImportRejected(errors)
        _check_declared_size(ws, limits)
        return _read_data(ws, columns, header_row, found, limits)
    finally:
        wb.close()


def _too_many_rows(limits: ReadLimits) -> ImportRejected:
    return _reject(f"数据行数超过上限（最多 {limits.max_rows} 行），请分批导入", code="import_too_many_rows")


def _check_declared_size(ws: Any, limits: ReadLimits) -> None:
    """A sheet that says (in its dimension) it is larger than the limits is refused before its rows are read."""
    if (ws.max_column or 0) > limits.max_columns:
        raise _reject(f"工作表列数超过上限（最多 {limits.max_columns} 列），请删除多余的列后重试",
                      code="import_too_many_columns")
    if (ws.max_row or 0) > limits.max_sheet_rows:
        raise _too_many_rows(limits)


def _read_data(
    ws: Any, columns: Sequence[Column], header_row: int, found: dict[int, int], limits: ReadLimits
) -> list[dict[str, Any]]:
    cells = [(col, found.get(i)) for i, col in enumerate(columns)]
    width = max(found.values()) + 1
    last_row = limits.max_sheet_rows
    out: list[dict[str, Any]] = []
    errors: list[RowError] = []
    # explicit bounds: nothing past them is materialised, whatever the sheet's (absent or wrong) dimension says
    rows = ws.iter_rows(min_row=header_row + 1, max_row=last_row + 1, max_col=width, values_only=True)
    for row_no, values in enumerate(rows, start=header_row + 1):
        raw = [values[idx] if idx is not None and idx < len(values) else None for _, idx in cells]
        if all(_is_blank(v) for v in raw):
            continue
        if len(out) >= limits.max_rows or row_no > last_row:
            raise _too_many_rows(limits)
        item: dict[str, Any] = {"_row": row_no}
        for (col, _), value in zip(cells, raw, strict=True):
            item[col.key] = None
            if _is_blank(value):
                if col.required:
                    errors.append(RowError(row_no, col.header, "必填项不能为空", "import_cell_required"))
                continue
            if isinstance(value, str) and len(value) > limits.max_cell_chars:
                errors.append(RowError(row_no, col.header, f"单元格内容过长（最多 {limits.max_cell_chars} 个字符）",
                                       "import_cell_too_large"))
                continue
            try:
                item[col.key] = _parse_cell(col, value)
            except ValueError as exc:
                errors.append(RowError(row_no, col.header, str(exc)))
        out.append(item)
    if errors:
        raise ImportRejected(errors)
    return out

"""Reading an uploaded .xlsx: size and zip checks, the header row, every cell validated (all or nothing)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from openpyxl import load_workbook

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

_HEADER_SCAN_ROWS = 20
_SPACE_RE = re.compile(r"\s+")


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

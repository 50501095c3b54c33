"""Excel column types, the refusal of an upload, and the parsing of one cell (no I/O)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import IO, Any, Literal

from ..errors import ValidationFailed, Violation
from ..money import parse_yuan as parse_yuan_to_fen

Kind = Literal["text", "int", "money", "date", "bool", "choice"]
KINDS: frozenset[str] = frozenset(("text", "int", "money", "date", "bool", "choice"))
FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

INVALID_FILE = "文件不是有效的 Excel（.xlsx）文件"
_TRUE = frozenset(("是", "true", "1"))
_FALSE = frozenset(("否", "false", "0"))
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)"  # plain digits or correctly grouped thousands
_INT_RE = re.compile(rf"[-+]?{_NUM}(?:\.0*)?")
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


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
    # stable: import_file_*, import_zip_*, import_too_many_*, import_header_*, import_cell_* (not compared)
    code: str = field(default="import_cell_invalid", compare=False)

    def __str__(self) -> str:
        where = f"第 {self.row} 行" if self.row else ""
        if self.column:
            where += f"「{self.column}」"
        return f"{where}：{self.message}" if where else self.message


class ImportRejected(ValidationFailed):
    """The upload was refused (a ValidationFailed: 422, code `import_rejected`, never a 5xx); `errors` lists every
    problem found (show them all, or `error_report`), each with its own stable `code`."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors: list[RowError] = list(errors)
        head = "；".join(str(e) for e in self.errors[:3])
        more = f" 等共 {len(self.errors)} 处错误" if len(self.errors) > 3 else ""
        super().__init__([Violation(e.code, str(e), e.column) for e in self.errors[:50]])
        self.code = "import_rejected"
        self.message = f"导入失败：{head}{more}"
        self.detail = [{"row": e.row, "column": e.column, "message": e.message, "code": e.code} for e in self.errors]

    def __str__(self) -> str:
        return self.message


def _reject(message: str, *, row: int = 0, column: str = "", code: str = "import_file_invalid") -> ImportRejected:
    return ImportRejected([RowError(row, column, message, code)])


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

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

from ..money import format_fen
from ..money import parse_yuan as parse_yuan_to_fen
from .cells import INVALID_FILE, KINDS, Column, FileInput, ImportRejected, Kind, RowError
from .limits import ReadLimits
from .reading import read_rows
from .writing import FORMULA_START, build_template, error_report, export_rows, safe_value, set_text

__all__ = [
    "FORMULA_START", "INVALID_FILE", "KINDS", "Column", "FileInput", "ImportRejected", "Kind", "ReadLimits",
    "RowError", "build_template", "error_report", "export_rows", "format_fen", "parse_yuan_to_fen", "read_rows", "safe_value",
    "set_text",
]

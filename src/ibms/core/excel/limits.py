"""How much of an upload is read at most: bytes, zip directory, rows, columns, cell size.

The zip directory (member count, declared sizes, compression ratio) is checked before anything is parsed, so a
zip bomb is refused from its directory alone; Python's zipfile never inflates a member beyond its declared size.
Defaults fit a 50,000-row template with room to spare; each is a Django setting (and environment variable) of
the same name, see `from_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

MiB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    max_bytes: int = 10 * MiB  # IBMS_IMPORT_MAX_BYTES: the uploaded file
    max_rows: int = 50_000  # IBMS_IMPORT_MAX_ROWS: non-blank data rows
    max_columns: int = 256  # IBMS_IMPORT_MAX_COLUMNS: columns of the sheet (only these are ever read)
    max_cell_chars: int = 32_767  # IBMS_IMPORT_MAX_CELL_CHARS: Excel's own limit for one cell
    max_unzipped_bytes: int = 100 * MiB  # IBMS_IMPORT_MAX_UNZIPPED_BYTES: all members, as declared, inflated
    max_zip_ratio: int = 100  # IBMS_IMPORT_MAX_ZIP_RATIO: inflated / compressed, per member (over 1 MiB)
    max_zip_members: int = 1_000  # IBMS_IMPORT_MAX_ZIP_MEMBERS: files inside the .xlsx

    @property
    def max_sheet_rows(self) -> int:
        """Rows of a sheet read at most (the header area, the data and some blank rows): rows beyond are never
        parsed, and data found there refuses the file."""
        return self.max_rows + max(1_000, self.max_rows // 10) + 20

    def but(self, **changes: Any) -> ReadLimits:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_settings(cls, **overrides: Any) -> ReadLimits:
        """The limits from Django's settings `IBMS_IMPORT_<FIELD>` (defaults above where unset or when Django is
        not configured), then `overrides` that are not None."""
        values: dict[str, Any] = {}
        try:
            from django.conf import settings

            if settings.configured:
                for f in fields(cls):
                    value = getattr(settings, f"IBMS_IMPORT_{f.name.upper()}", None)
                    if value is not None:
                        values[f.name] = int(value)
        except ImportError:  # pragma: no cover - the app always has Django
            pass
        return cls(**values).but(**overrides)

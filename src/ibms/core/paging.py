"""List paging for every API list: `limit`/`offset` query parameters declared once, with their bounds in the
OpenAPI document. A negative or absurd offset, or a limit below 1, is a 422 (`invalid_request`) before any
query runs; a limit above `MAX_LIMIT` is served as `MAX_LIMIT` rows."""

from __future__ import annotations

from typing import Annotated

from ninja import Query

MAX_LIMIT = 500
MAX_OFFSET = 10**9  # beyond any real list, and inside every database's integer range

Limit = Annotated[int, Query(ge=1, description=f"每页条数（超过 {MAX_LIMIT} 按 {MAX_LIMIT}）")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="跳过的条数")]


def window(rows, limit: int, offset: int, *, max_limit: int = MAX_LIMIT):
    """The page of `rows` (a queryset or a list) that `limit`/`offset` ask for."""
    return rows[offset:offset + min(limit, max_limit)]

"""`ibms verify` checks of the year end (registered in apps.py)."""

from __future__ import annotations

CHECKS: list[tuple[str, object]] = []

"""API token values: shown once at issue, stored only as an SM3 digest."""

from __future__ import annotations

import secrets

from ibms.core.crypto import sm3_hex


def digest(raw: str) -> str:
    return sm3_hex(raw.encode())


def issue_token_value() -> tuple[str, str]:
    """(prefix, full token)."""
    prefix = secrets.token_hex(4)
    return prefix, f"ibms_{prefix}_{secrets.token_urlsafe(32)}"

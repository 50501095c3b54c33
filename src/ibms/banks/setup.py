"""Set-up every deployment needs for this app (called by `ibms setup` / `demo.setup.setup_system`)."""

from __future__ import annotations


def setup_app(years: list[int]) -> None:
    pass

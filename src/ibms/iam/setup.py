"""Set-up every deployment needs for this app (called by `ibms setup` / `demo.setup.setup_system`): each role's
group with exactly the permissions of data/policy/permissions/<app>.csv."""

from __future__ import annotations

from .roles import sync_roles


def setup_app(years: list[int]) -> None:
    sync_roles()

"""Registry of invariant checks run by `ibms verify`. Each check returns the problems it found."""

from __future__ import annotations

from collections.abc import Callable

from . import audit

_checks: dict[str, Callable[[], list[str]]] = {
    "audit.chains": audit.verify_chains,
    "audit.rows": audit.verify_rows,
}


def register(name: str, check: Callable[[], list[str]]) -> None:
    _checks[name] = check


def run_all() -> dict[str, list[str]]:
    return {name: check() for name, check in _checks.items()}

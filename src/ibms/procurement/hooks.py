"""Checks other apps hang on a plan's approval (the asset app's 资产配置标准): `register_plan_check(fn)` with
`fn(plan) -> list[Violation]`. Before a plan whose catalogue item is an asset class (`plan.asset_class`) is
approved, every registered check runs inside the approval's transaction; any violation refuses the approval
(nothing changes) with the violations listed."""

from __future__ import annotations

from collections.abc import Callable

from ibms.core.errors import Violation

PlanCheck = Callable[[object], list[Violation]]
_checks: list[PlanCheck] = []


def register_plan_check(fn: PlanCheck) -> PlanCheck:
    """Register `fn(plan) -> list[Violation]` (idempotent; usable as a decorator)."""
    if fn not in _checks:
        _checks.append(fn)
    return fn


def unregister_plan_check(fn: PlanCheck) -> None:
    if fn in _checks:
        _checks.remove(fn)


def run_plan_checks(plan) -> list[Violation]:
    if not getattr(plan, "asset_class", ""):
        return []
    out: list[Violation] = []
    for fn in list(_checks):
        out += list(fn(plan) or [])
    return out

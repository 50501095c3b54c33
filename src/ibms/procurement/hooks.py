"""Checks other apps hang on a plan's approval (the asset app's 资产配置标准): `register_plan_check(fn)` with
`fn(plan) -> list[Violation]`. Before a plan whose catalogue item is an asset class (`plan.asset_class`) is
approved, every registered check runs inside the approval's transaction; any violation refuses the approval
(nothing changes) with the violations listed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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


# --- the contract port: treasury owns the contract (合同备案); a 合同变更/终止 moves it through these --------------------

class ContractPort(Protocol):
    """What procurement.changes needs of a contract, registered by treasury at start-up."""

    def find(self, actor, pk: int, *, write: bool) -> Any: ...  # in the actor's scope, else NotFound (404)
    def lock(self, pk: int) -> Any: ...  # select_for_update, inside the caller's transaction
    def milestone_use(self, contract) -> dict[int, int]: ...  # seq → open or paid payments on it (分)
    def amend(self, actor, contract, *, amount: int, schedule: list[dict], change_number: str) -> None: ...
    def terminate(self, actor, contract, *, reason: str, change_number: str) -> None: ...


_port: list[ContractPort] = []


def register_contract_port(port: ContractPort) -> ContractPort:
    _port[:] = [port]
    return port


def contract_port() -> ContractPort:
    if not _port:
        raise RuntimeError("treasury has not registered the contract port (procurement.hooks.register_contract_port)")
    return _port[0]

"""The demo's procurement and assets: against a real simulator process, the school has an approved plan whose
contract is filed, the contract's first period paid as a fixed-asset purchase (so an asset card exists, booked
to 1601), a plan waiting for the budget division's approval on its to-do list, and this month's depreciation —
and every invariant `ibms verify` checks still holds."""

from __future__ import annotations

from ibms.assets.models import AssetCard, DepreciationRun
from ibms.core import clock
from ibms.core.models import TodoItem
from ibms.core.verify import run_all
from ibms.demo.bank import connect_demo_banks
from ibms.demo.procurement import CONTRACT_NO, PLAN_NAME, load_demo_procurement
from ibms.procurement.models import ProcurementPlan
from ibms.treasury.models import Contract
from tests.banksim_process import BankSim


def test_demo_has_a_plan_a_contract_and_an_asset_card(committed_db, tmp_path):
    sim = BankSim.start(tmp_path / "sim", pay_delay=0.0)
    try:
        assert connect_demo_banks(sim) >= 1
        out = load_demo_procurement(sim)
        assert out["plans"] == 2 and out["contracts"] == 1 and out["cards"] == 1 and out["depreciation_runs"] >= 1
        assert load_demo_procurement(sim) == {}  # idempotent
    finally:
        sim.stop()
    plan = ProcurementPlan.objects.get(name=PLAN_NAME, unit__code="001001")
    assert plan.status == ProcurementPlan.Status.CONTRACTED
    contract = Contract.objects.get(number=CONTRACT_NO)
    assert (contract.plan_id, contract.status, contract.amount, contract.paid) == (plan.pk, "active", 1_760_000,
                                                                                  1_232_000)
    assert plan.indicator.frozen == 1_760_000 - 1_232_000 and plan.indicator.spent == 1_232_000
    [card] = AssetCard.objects.filter(contract=contract)
    assert (card.original_value, card.asset_class, card.quantity, card.status) == (1_232_000, "2010104", 4, "in_use")
    today = clock.today("990000000")
    run = DepreciationRun.objects.get(unit=card.unit, year=today.year, month=today.month)
    assert run.amount == card.accumulated > 0
    waiting = ProcurementPlan.objects.get(name="多媒体教室空调")
    assert waiting.status == ProcurementPlan.Status.SUBMITTED
    assert TodoItem.objects.filter(object_id=str(waiting.pk), status="open").exists()
    assert {name: problems for name, problems in run_all().items() if problems} == {}

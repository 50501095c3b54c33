"""Demo procurement and assets: for 省第一实验中学 (unit 001001 of 华夏省) a 教学设备购置 indicator with the
procurement flag (a supplementary budget reply of the budget division), a 采购计划 of desktop computers within the
资产配置标准 that the budget division approves (frozen), the contract filed against it with its payment schedule
(the saving released), its first period paid as 购置固定资产 through the running bank simulator — the receipt makes
the 资产卡片 — a second plan (air conditioners) waiting for the budget division's approval (its to-do), and this
month's depreciation run. Everything goes through the services, as the users would."""

from __future__ import annotations

import uuid

from django.db import transaction

from ibms.assets import services as assets
from ibms.assets.models import AssetCard, DepreciationRun
from ibms.banks.simprocess import SimProcess
from ibms.core import clock
from ibms.core.errors import Conflict
from ibms.iam.models import User
from ibms.indicators import services as ins
from ibms.masterdata.models import Payee, Unit
from ibms.procurement import services as ps
from ibms.procurement.domain import PlanIn
from ibms.procurement.models import ProcurementPlan
from ibms.treasury import services as t
from ibms.treasury.models import PaymentVoucher

from .payments import _worker_pass
from .users import DEMO_PIN

PROVINCE = "990000000"
PLAN_NAME = "教学用台式计算机"
CONTRACT_NO = "HT-DEMO-ZC001"


def _indicator(budget: User, school: Unit, year: int):
    with transaction.atomic():
        src = ins.source_document_create(actor=budget, region_code=PROVINCE, year=year, kind="budget_reply",
                                         doc_no=f"华财预〔{year}〕88号", title="关于追加省第一实验中学教学设备购置经费的批复",
                                         doc_date=clock.today(PROVINCE))
        [ind] = ins.indicators_create(actor=budget, source=src, specs=[ins.IndicatorSpec(
            amount=5_000_000, unit_id=school.pk, fund_nature_code="111", exp_func_code="2050204",
            dep_eco_code="31002", gov_eco_code="50601", is_gov_pur=True, summary="教学设备购置（政府采购）")])
    return ind


def load_demo_procurement(sim: SimProcess) -> dict[str, int]:
    """Idempotent: does nothing when the school already has the demo plan."""
    school = Unit.objects.get(region_code=PROVINCE, code="001001")
    if ProcurementPlan.objects.filter(unit=school, name=PLAN_NAME).exists():
        return {}
    users = {u.username: u for u in User.objects.filter(username__in=[
        "school_clerk", "school_reviewer", "fin_budget", "fin_accounting"])}
    clerk, reviewer, budget = users["school_clerk"], users["school_reviewer"], users["fin_budget"]
    today = clock.today(PROVINCE)
    ind = _indicator(budget, school, today.year)

    # 4 computers at 4,500 元 (the standard allows 5,000 元 a unit and one a person): approved and frozen
    plan = ps.plan_create(actor=clerk, data=PlanIn(indicator_id=ind.pk, catalogue_code="A02010104", method="询价",
                                                   name=PLAN_NAME, amount=1_800_000, quantity=4,
                                                   reason="更新计算机教室老旧设备"))
    ps.plan_submit(actor=clerk, pk=plan.pk)
    ps.plan_review(actor=budget, pk=plan.pk, approve=True, comment="符合资产配置标准，同意采购")
    payee = Payee.objects.filter(unit=school, is_active=True).order_by("name").first()
    contract = t.contract_create(actor=clerk, unit_id=school.pk, number=CONTRACT_NO, name="教学用台式计算机采购合同",
                                 amount=1_760_000, sign_date=today, payee_id=payee.pk, plan_id=plan.pk,
                                 milestones=[("到货验收款", 1_232_000), ("质保期满款", 528_000)])
    t.contract_review(actor=budget, pk=contract.pk, approve=True, comment="准予备案")

    # the first period paid as 购置固定资产: the bank's receipt makes the asset card
    req = t.payment_request_create(actor=clerk, data=t.DraftIn(
        indicator_id=ind.pk, amount=1_232_000, purpose="支付台式计算机到货验收款", payee=t.PayeeIn(payee_id=payee.pk),
        contract_id=contract.pk, milestone=1, business_type="fixed_asset"))
    t.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=uuid.uuid4().hex)
    t.payment_request_review(actor=reviewer, pk=req.pk, approve=True, pin=DEMO_PIN)
    for _ in range(10):
        _worker_pass(sim)
        if PaymentVoucher.objects.filter(request=req, state="paid").exists():
            break

    # 2 air conditioners waiting for the budget division (its to-do)
    waiting = ps.plan_create(actor=clerk, data=PlanIn(indicator_id=ind.pk, catalogue_code="A02061800", method="询价",
                                                      name="多媒体教室空调", amount=800_000, quantity=2))
    ps.plan_submit(actor=clerk, pk=waiting.pk)

    try:
        assets.depreciation_run_region(actor=users["fin_accounting"], region_code=PROVINCE, year=today.year,
                                       month=today.month)
    except Conflict:  # a month already depreciated elsewhere: nothing to add
        pass
    return {"plans": 2, "contracts": 1, "cards": AssetCard.objects.filter(contract=contract).count(),
            "depreciation_runs": DepreciationRun.objects.filter(year=today.year, month=today.month).count()}

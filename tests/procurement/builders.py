"""Builders for the procurement tests: a procurement-flagged indicator (through the indicator services), a plan
approved by the budget division, a contract filed against it (through treasury's service)."""

from __future__ import annotations

import itertools

from ibms.core import clock
from ibms.procurement import services as ps
from ibms.procurement.domain import PlanIn
from ibms.treasury import services as ts
from tests.treasury.builders import indicator, payee, school

_n = itertools.count(1)
YUAN = 100


def gov_indicator(budget, amount: int, **kw):
    return indicator(budget, amount, is_gov_pur=True, summary="政府采购测试指标", **kw)


def plan(clerk, ind, amount: int, *, method: str = "公开招标", catalogue_code: str = "C23120000", **kw):
    return ps.plan_create(actor=clerk, data=PlanIn(indicator_id=ind.pk, catalogue_code=catalogue_code, method=method,
                                                   name=kw.pop("name", "校园物业管理服务"), amount=amount, **kw))


def approved_plan(clerk, budget, ind, amount: int, **kw):
    p = plan(clerk, ind, amount, **kw)
    ps.plan_submit(actor=clerk, pk=p.pk)
    return ps.plan_review(actor=budget, pk=p.pk, approve=True, comment="同意")


def contract(clerk, p, amount: int, milestones=None, *, approve: bool = True):
    """Filed by the clerk against plan `p` and, unless `approve` is False, approved by the budget division."""
    from ibms.iam.models import User

    n = next(_n)
    c = ts.contract_create(actor=clerk, unit_id=school().pk, number=f"HT-CG-{p.number}-{n}", name="计算机采购合同",
                           amount=amount, sign_date=clock.today(), payee_id=payee().pk, plan_id=p.pk,
                           milestones=milestones if milestones is not None else [("交货验收", amount)])
    if approve:
        c = ts.contract_review(actor=User.objects.get(username="fin_budget"), pk=c.pk, approve=True, comment="准予备案")
    return c


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def buckets(ind) -> tuple[int, int, int, int]:
    """(available, frozen, reserved, spent) of the indicator as stored now."""
    i = fresh(ind)
    return i.available, i.frozen, i.reserved, i.spent


def codes(exc) -> list[str]:
    return [v.code for v in getattr(exc, "violations", [])] or [exc.code]

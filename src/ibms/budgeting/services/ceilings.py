"""Ceilings (控制数, 一下): finance issues a department's ceiling per fund nature; a department's 二上 must stay
within them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ibms.core import audit
from ibms.core.errors import Conflict, ValidationFailed, Violation
from ibms.core.money import Fen, format_fen
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.masterdata.models import Unit

from .. import domain, selectors
from ..models import BudgetRound, Ceiling, Version
from ._common import Stage, _lock_round, _value_set_codes


@dataclass(kw_only=True)
class CeilingData:
    """A department's ceiling for a fund nature, as finance issues it (what `ceiling_set` takes besides the round)."""

    department_id: int
    fund_nature_code: str = ""  # a code covers its children; '' every fund nature
    amount: Fen  # fen (the API's schema, built from this class, takes a yuan string)
    remark: str = ""


def ceiling_set(*, actor, round_id: int, department_id: int, fund_nature_code: str, amount: Fen,
                remark: str = "") -> Ceiling:
    """Issue (or change) a department's ceiling for a fund nature; a code covers its children, '' all."""
    require_perm(actor, "budgeting.add_ceiling")
    with transaction.atomic(durable=True):
        rnd = _lock_round(actor, round_id, CHANGE)
        if rnd.stage not in (Stage.CEILINGS, Stage.SECOND_UP):
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能下达控制数（一下、二上阶段可以）")
        dept = Unit.objects.filter(pk=department_id, region_code=rnd.region_code, parent__isnull=True).first()
        problems = []
        if dept is None:
            problems.append(Violation("department_unknown", "主管部门不存在或不属于本级", "department_id"))
        code = (fund_nature_code or "").strip()
        if code and code not in _value_set_codes("fund_type", rnd.year):
            problems.append(Violation("fund_nature_unknown", f"资金性质 {code} 不存在", "fund_nature_code"))
        if amount is None or amount < 0:
            problems.append(Violation("amount_negative", "控制数不能为负数", "amount"))
        if problems:
            raise ValidationFailed(problems)
        ceiling = Ceiling.objects.select_for_update().filter(round=rnd, department=dept, fund_nature_code=code).first()
        if ceiling is None:
            ceiling = Ceiling.objects.create(round=rnd, region_code=rnd.region_code, department=dept,
                                             fund_nature_code=code, amount=amount, remark=remark[:200])
            audit.record_change(ceiling, "create")
        else:
            audit.update_fields(ceiling, amount=amount, remark=remark[:200])
        audit.record_event("budgeting.ceiling_issued", obj=ceiling,
                           payload={"department": dept.code, "fund_nature": code, "amount": amount})
        return ceiling


def ceiling_delete(*, actor, ceiling_id: int) -> None:
    require_perm(actor, "budgeting.delete_ceiling")
    with transaction.atomic(durable=True):
        ceiling = get_in_scope(Ceiling.objects.select_for_update(of=("self",)), actor, CHANGE, what="控制数", pk=ceiling_id)
        rnd = _lock_round(actor, ceiling.round_id, CHANGE)
        if rnd.stage not in (Stage.CEILINGS, Stage.SECOND_UP):
            raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能修改控制数")
        before, pk = audit.snapshot(ceiling), ceiling.pk
        ceiling.delete()
        ceiling.pk = pk
        audit.record_change(ceiling, "delete", before)


def _ceiling_problems(rnd: BudgetRound, dept: Unit) -> list[Violation]:
    totals = selectors.fund_totals(rnd, Version.SECOND_UP, dept)
    ceilings = dict(Ceiling.objects.filter(round=rnd, department=dept).values_list("fund_nature_code", "amount"))
    names = selectors.code_names("fund_type", rnd.year)
    label = f"{dept.code} {dept.name}"
    problems = domain.ceiling_violations(label, domain.ceiling_uses(totals, ceilings, names))
    for code in domain.uncovered_fund_natures(totals, list(ceilings)):
        problems.append(Violation("no_ceiling", f"{label}（资金性质 {code} {names.get(code, '')}）二上支出 "
                                                f"{format_fen(totals[code])} 元，但未下达该资金性质的控制数（控制数 0.00 元）",
                                  code))
    return problems

"""Builders for the payroll tests: profiles for a few of the school's people (through the payroll service), a 人员类
indicator (through the indicator services), a run generated, reviewed and approved."""

from __future__ import annotations

from ibms.masterdata.models import Person
from ibms.payroll import services as ps
from tests.treasury.builders import indicator, school

YUAN = 100
PAY = {"JBGZ": 5000 * YUAN, "XJGZ": 1000 * YUAN, "JTBT": 2000 * YUAN}  # 8,000 yuan gross, see test_tax


def people(n: int = 3) -> list[Person]:
    return list(Person.objects.filter(unit=school(), is_active=True).order_by("id")[:n])


def profile(clerk, person: Person, *, items=None, card: str | None = None, **kw):
    n = person.pk
    return ps.pay_profile_save(actor=clerk, data=ps.ProfileIn(
        person_id=person.pk, post=kw.pop("post", "教师"), grade=kw.pop("grade", "专技十级"),
        card_no=f"6217{n:012d}" if card is None else card, card_bank="华夏银行营业部",
        items=dict(PAY if items is None else items), **kw))


def staff(clerk, n: int = 3) -> list[Person]:
    ps_ = people(n)
    for p in ps_:
        profile(clerk, p)
    return ps_


def personnel_indicator(budget, amount: int = 1_000_000 * YUAN):
    return indicator(budget, amount, dep_eco_code="30101", gov_eco_code="50501", summary="人员类工资福利指标")


def approved_run(clerk, reviewer, head, month: int, year: int | None = None):
    from ibms.core import clock

    run = ps.payroll_run_generate(actor=clerk, unit_id=school().pk, year=year or clock.fiscal_year(), month=month)
    ps.payroll_run_submit(actor=clerk, pk=run.pk)
    ps.payroll_run_review(actor=reviewer, pk=run.pk, approve=True, comment="审核无误")
    return ps.payroll_run_review(actor=head, pk=run.pk, approve=True, comment="同意发放")


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def codes(exc) -> list[str]:
    return [v.code for v in getattr(exc, "violations", [])] or [exc.code]

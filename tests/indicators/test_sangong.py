"""三公 follows the department economic class (masterdata.selectors.is_sangong) on every path that creates an
indicator — creation, 分配, 调剂 new targets, 结转, transfer receipt, the generator — whatever the caller says;
and "三公 only decreases" holds for the derived flag."""

from __future__ import annotations

import pytest

from ibms.core.context import Actor, acting
from ibms.core.errors import ValidationFailed
from ibms.demo.generator import SCALES, GenContext
from ibms.indicators import services as s
from ibms.indicators.gen import stage_indicators
from ibms.indicators.models import Indicator
from tests.constants import COUNTY, FUNC, FUND, PROVINCE

from .builders import YEAR, codes, create, doc, fresh, one, unit

pytestmark = pytest.mark.django_db
SANGONG, PLAIN, MEETING = "30217", "30201", "30215"  # 公务接待费 (三公), 办公费, 会议费 (not 三公)


def test_creation_derives_the_flag_and_ignores_the_callers(budget):
    [a, b, c, d] = [one(budget, 100, dep_eco_code=SANGONG), one(budget, 100, dep_eco_code=PLAIN, is_sangong=True),
                    one(budget, 100, dep_eco_code=MEETING), one(budget, 100, dep_eco_code=SANGONG, is_sangong=False)]
    assert [fresh(i).is_sangong for i in (a, b, c, d)] == [True, False, False, True]


def test_the_derived_flag_only_decreases(budget):
    ind = one(budget, 1_000, dep_eco_code=SANGONG)
    with pytest.raises(ValidationFailed) as e:
        s.indicator_increase(actor=budget, indicator_id=ind.pk, amount=1, doc=doc())
    assert codes(e.value) == ["sangong_increase"]
    other = one(budget, 1_000, dep_eco_code=SANGONG)
    with pytest.raises(ValidationFailed) as e:
        s.reallocation_submit(actor=budget, reason="调入三公", outs=[(one(budget, 1_000).pk, 100)],
                              ins=[s.ReallocIn(100, indicator_id=other.pk)])
    assert codes(e.value) == ["sangong_increase"]


def test_distribution_derives_the_childrens_flag(budget):
    pool = one(budget, 1_000, unit_code=None, dep_eco_code=PLAIN)
    kids = s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc("分配"), splits=[
        s.Split(unit_id=unit("001001").pk, amount=100, dep_eco_code=SANGONG),
        s.Split(unit_id=unit("001002").pk, amount=100)])
    assert [k.is_sangong for k in kids] == [True, False]


def test_a_new_reallocation_target_takes_its_class_flag(budget, deputy):
    plain = one(budget, 1_000, dep_eco_code=PLAIN)
    with pytest.raises(ValidationFailed) as e:  # a new 三公 target would receive: 三公 never does
        s.reallocation_submit(actor=budget, reason="调入新三公", outs=[(plain.pk, 100)],
                              ins=[s.ReallocIn(100, unit_id=unit("002001").pk, dep_eco_code=SANGONG)])
    assert codes(e.value) == ["sangong_increase"]
    sangong = one(budget, 1_000, dep_eco_code=SANGONG)
    r = s.reallocation_submit(actor=budget, reason="三公调减", outs=[(sangong.pk, 100)],
                              ins=[s.ReallocIn(100, unit_id=unit("002001").pk, dep_eco_code=MEETING)])
    new = s.reallocation_review(actor=deputy, pk=r.pk, approve=True).lines.get(direction="in").result
    assert (new.dep_eco_code, new.is_sangong) == (MEETING, False)


def test_carry_over_derives_next_years_flag(budget):
    a, b = one(budget, 500, dep_eco_code=SANGONG), one(budget, 500, dep_eco_code=PLAIN)
    news = s.indicator_carry_over(actor=budget, indicator_ids=[a.pk, b.pk], doc=doc("结转"))
    assert {n.dep_eco_code: n.is_sangong for n in news} == {SANGONG: True, PLAIN: False}
    assert {n.year for n in news} == {YEAR + 1}


def test_a_received_transfer_takes_its_class_flag(budget, user):
    upper = one(budget, 10_000, unit_code=None, dep_eco_code=SANGONG)
    notice = s.transfer_allot(actor=budget, indicator_id=upper.pk, rec_region_code=COUNTY, amount=1_000,
                              doc=doc("下达"))
    got = s.transfer_receive(actor=user("county_budget"), notice_id=notice.pk, doc_no="青财〔三公〕1号")
    assert fresh(got).is_sangong and fresh(got).region_code == COUNTY


def test_the_generator_agrees_with_the_services(budget):
    u = unit("001001")
    base = {"region_code": PROVINCE, "year": YEAR, "unit_id": u.pk, "fund_nature_code": FUND,
            "exp_func_code": FUNC, "amount": 100, "doc_no": "生成三公〔1〕号"}
    reply = [{**base, "dep_eco_code": SANGONG}, {**base, "dep_eco_code": PLAIN, "is_sangong": True},
             {**base, "dep_eco_code": MEETING}]
    with acting(Actor(user_id=None, username="ibms-gen")):
        c = GenContext(scale=SCALES["small"], seed=1, prefix="99", year=YEAR, progress=False, batch_size=7)
        c.data["reply"] = reply
        stage_indicators(c)
    made = Indicator.objects.filter(source__doc_no="生成三公〔1〕号").order_by("code")
    assert [(i.dep_eco_code, i.is_sangong) for i in made] == [(SANGONG, True), (PLAIN, False), (MEETING, False)]
    via_services = create(budget, 100, dep_eco_code=SANGONG)[0]
    assert via_services.is_sangong == made[0].is_sangong

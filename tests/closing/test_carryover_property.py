"""Property test (hypothesis): for random ledgers of the county — indicators of two fund natures, some 直达, some
partly spent down (追减), random line changes (recall, partial carry) — carried + recalled = unspent per
indicator and per fund nature, in the lines and in the ledger; the conservation check is clean; and rerunning
the proposal before execution, or the execution after it, changes nothing."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibms.closing import selectors
from ibms.closing.models import CarryLine
from ibms.closing.services import carryover
from ibms.core.models import ChangeLog
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry
from tests.closing.carry_builders import COUNTY, YEAR, closing, county_indicator, rolled_back
from tests.indicators.builders import OTHER_FUND, doc

pytestmark = pytest.mark.django_db
E = IndicatorEntry.Kind

indicator_st = st.tuples(st.integers(1, 50_000), st.booleans(), st.booleans(), st.integers(0, 100),
                         st.sampled_from(["keep", "recall", "partial"]))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(specs=st.lists(indicator_st, min_size=1, max_size=5))
def test_carry_plus_recall_is_unspent(user, specs):
    county = user("county_budget")
    with rolled_back():
        inds = []
        for amount, track, other_fund, spend_pct, _ in specs:
            fields = {"is_track": track, **({"fund_nature_code": OTHER_FUND} if other_fund else {})}
            ind = county_indicator(county, amount, **fields)
            spent = amount * spend_pct // 100
            if spent:
                s.indicator_decrease(actor=county, indicator_id=ind.pk, amount=spent, doc=doc("追减"))
            inds.append(ind)
        closing()
        unspent = dict(Indicator.objects.filter(region_code=COUNTY, year=YEAR, available__gt=0)
                   .values_list("pk", "available"))
        run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
        for ind, (_, _, _, _, change) in zip(inds, specs, strict=True):
            line = CarryLine.objects.filter(run=run, indicator=ind).first()
            if line is None or change == "keep":
                continue
            if change == "recall":
                carryover.carry_line_change(actor=county, line_id=line.pk, decision="recall", reason="测试收回")
            elif line.unspent > 1:
                carryover.carry_line_change(actor=county, line_id=line.pk, decision="carry",
                                            carry_amount=line.unspent // 2, reason="测试部分结转")
        before = ChangeLog.objects.count()
        run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
        assert ChangeLog.objects.count() == before  # a rerun of the proposal is a no-op
        run = carryover.carry_run_execute(actor=county, run_id=run.pk, chunk=2)
        lines = list(run.lines.select_related("indicator", "new_indicator"))
        assert {ln.indicator_id: ln.unspent for ln in lines} == unspent
        natures: dict[str, list[int]] = {}
        for ln in lines:
            assert ln.carry_amount + ln.recall_amount == ln.unspent
            old = Indicator.objects.get(pk=ln.indicator_id)
            assert old.available == 0
            carried = -(old.entries.filter(kind=E.CARRY_OUT).aggregate(x=Sum("d_available"))["x"] or 0)
            recalled = -(old.entries.filter(kind=E.RECALL).aggregate(x=Sum("d_available"))["x"] or 0)
            assert (carried, recalled) == (ln.carry_amount, ln.recall_amount)
            assert (ln.new_indicator.amount if ln.new_indicator_id else 0) == ln.carry_amount
            n = natures.setdefault(ln.indicator.fund_nature_code, [0, 0, 0])
            n[0] += ln.unspent
            n[1] += carried
            n[2] += recalled
        assert all(u == c + r for u, c, r in natures.values())
        assert selectors.carry_problems() == []
        entries, changes = IndicatorEntry.objects.count(), ChangeLog.objects.count()
        carryover.carry_run_execute(actor=county, run_id=run.pk)
        assert (IndicatorEntry.objects.count(), ChangeLog.objects.count()) == (entries, changes)

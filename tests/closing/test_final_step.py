"""The `final_accounts` step on a small clean region-year (next year's books of two units and the finance bureau,
own-funds spending only, so the indicator tie holds): digests per table, a rerun gives the same, and a voucher
line changed behind the books blocks it with the tie that fails."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.accounting import services
from ibms.accounting.models import AccountSet, VoucherLine
from ibms.closing.final.ties import final_accounts_run, region_year_problems
from ibms.closing.models import YearStep
from ibms.closing.services.lifecycle import Blocked, StepContext
from ibms.core import clock
from ibms.masterdata.models import Region, Unit
from tests.accounting.builders import Y, day, post
from tests.closing.final_builders import tamper
from tests.constants import PROVINCE

pytestmark = pytest.mark.django_db


@pytest.fixture
def books():
    year = clock.fiscal_year() + 1
    organ = Unit.objects.get(region_code=PROVINCE, code="001")
    inst = Unit.objects.get(region_code=PROVINCE, code="001001")
    with transaction.atomic():
        services.books_ensure(year=year, units=[organ, inst], regions=[Region.objects.get(code=PROVINCE)])
    sets = {"organ": AccountSet.objects.get(unit=organ, year=year),
            "institution": AccountSet.objects.get(unit=inst, year=year),
            "fiscal": AccountSet.objects.get(region_code=PROVINCE, year=year, kind="fiscal")}
    own = {"fund_nature": "31", "exp_func": "2050203"}
    for i, (key, amount, eco) in enumerate([("institution", 1200, "30201"), ("institution", 800, "30217"),
                                            ("organ", 500, "30201")]):
        post(sets[key], "payment.receipted", amounts={"amount": amount * Y}, dims={**own, "dep_eco": eco},
             attrs={"fiscal": False, "pay_method": "direct"}, event_id=f"own-{i}", date=day(year, 3, 10 + i))
    post(sets["fiscal"], "treasury.revenue", amounts={"amount": 9000 * Y}, dims={"fund_nature": "111"},
         event_id="rev-1", date=day(year, 2, 1))
    post(sets["fiscal"], "treasury.paid", amounts={"amount": 3000 * Y},
         dims={"fund_nature": "111", "exp_func": "2050203"}, event_id="paid-1", date=day(year, 2, 3))
    return year, sets


def _ctx(user, year):
    row = YearStep.objects.create(region_code=PROVINCE, year=year, step="final_accounts", status="running")
    return StepContext(actor=user("fin_budget"), region_code=PROVINCE, year=year, row=row)


def test_the_step_stores_digests_and_a_rerun_gives_the_same(books, user):
    year, sets = books
    problems, digests = region_year_problems(PROVINCE, year)
    assert problems == []
    ctx = _ctx(user, year)
    result = final_accounts_run(ctx)
    assert result["units"] == 2 and result["departments"] == 1
    assert result["digests"] == digests
    assert ctx.row.done == ctx.row.total == 4  # two units, the department, the region
    assert final_accounts_run(ctx)["digests"] == digests
    from ibms.closing.final import final_compute, scope_resolve

    scope = scope_resolve(actor=user("fin_budget"), year=year, token=f"unit-{sets['institution'].unit_id}")
    sangong = final_compute(actor=user("fin_budget"), scope=scope, code="sangong")
    assert sangong.value(6) == 800 * Y and sangong.value(1) == 800 * Y and sangong.value(1, 3) == 800 * Y
    region = scope_resolve(actor=user("fin_budget"), year=year, token=f"region-{PROVINCE}")
    assert final_compute(actor=user("fin_budget"), scope=region, code="region_general_expenditure").value(1) == 3000 * Y


def test_a_line_moved_to_fiscal_spending_blocks_the_step(books, user):
    year, sets = books
    line = VoucherLine.objects.filter(account_set=sets["institution"], account_code="7201.03").first()
    tamper(line.pk, account_code="7201.01")
    with pytest.raises(Blocked) as exc:
        final_accounts_run(_ctx(user, year))
    labels = [i["label"] for i in exc.value.items]
    assert any("指标账已支付" in label for label in labels), labels


def test_year_end_closing_vouchers_do_not_change_the_year_flows(books, user):
    from ibms.accounting.closing import year_end_close
    from ibms.closing.final import final_compute_all, scope_resolve
    from ibms.iam.services import system_user

    year, sets = books
    actor = user("fin_budget")
    scope = scope_resolve(actor=actor, year=year, token=f"unit-{sets['institution'].unit_id}")
    before = {t.definition.code: t for t in final_compute_all(actor=actor, scope=scope)}
    assert year_end_close(actor=system_user(), account_set_id=sets["institution"].pk)
    after = {t.definition.code: t for t in final_compute_all(actor=actor, scope=scope)}
    for code in ("expenditure", "revenue", "income_expense_summary", "sangong"):
        assert [r.values for r in after[code].rows] == [r.values for r in before[code].rows], code
    cb = after["carryover_balance"]
    # after the closing entries the balances sit in 8201/8202: 年末结转 + 年末结余 = 年初 + 收入 − 支出
    assert cb.value(6, 5) == -2000 * Y == cb.value(6, 6) + cb.value(6, 7)
    assert before["carryover_balance"].value(6, 6) == 0
    assert region_year_problems(PROVINCE, year)[0] == []

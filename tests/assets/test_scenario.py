"""Through the API with the real bank simulator, from the need to the write-off: a project with an asset need
(checked against the 资产配置标准; one above it is refused) → its indicator with the procurement flag → a plan
that freezes (an asset above its standard is refused on the plan) → the contract filed (the saving released) →
two milestone payments of business type 购置固定资产 paid by the bank → one asset card (one per contract) →
twelve months of depreciation, across the year end (the bank pays on its own business day, so the card is
acquired this month; December, then the unit's books are closed and carried into next year, then January to
November) → a sale approved by the unit head and the finance bureau. At every step the indicator's buckets, the
contract, every `ibms verify` check, and the balance sheet's fixed assets (1601 − 1602 of the unit's set) against
the register's net value agree.

The budget chain is the indicator builder (`tests.treasury.builders.indicator`, through the indicator services)
linked to the project: budget preparation works on next year's round, payments on this year's indicators."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ibms.accounting import services as acc
from ibms.accounting.closing import year_end_close
from ibms.accounting.models import AccountSet, Period, Voucher
from ibms.accounting.selectors import leaf_balances
from ibms.assets import domain
from ibms.assets.models import AssetCard
from ibms.core import clock
from ibms.core.verify import run_all
from ibms.procurement.models import ProcurementPlan
from ibms.projects.models import Project
from ibms.treasury.models import Contract, PaymentRequest
from tests.constants import DEMO_PIN
from tests.procurement.builders import buckets
from tests.procurement.test_scenario import API, post
from tests.treasury.builders import indicator, payee, school, work
from tests.treasury.conftest import sim  # noqa: F401 - the bank simulator fixture
from tests.treasury.test_scenario import connect

YEAR = clock.fiscal_year()
CHECKS = ("procurement.frozen", "treasury.contract_plans", "treasury.reservations", "treasury.spent",
          "assets.register_books", "accounting.balanced", "indicators.balances")


def _clean() -> None:
    problems = run_all()
    assert {k: v for k, v in problems.items() if v} == {}
    assert set(CHECKS) <= set(problems)


def _unit_set(year: int | None = None) -> AccountSet:
    return AccountSet.objects.get(unit=school(), year=year or clock.fiscal_year(), kind="unit")


def _books_match_register(client) -> int:
    """Fixed assets on the balance sheet (1601 − 1602 of the unit's set) = the register's net value."""
    bal = leaf_balances(_unit_set().pk)
    d1601, c1601 = bal.get("1601", (0, 0))
    d1602, c1602 = bal.get("1602", (0, 0))
    r = client.get(f"{API}/assets/register?unit_id={school().pk}")
    assert r.status_code == 200, r.content
    net = round(float(r.json()["net"]) * 100)
    assert (d1601 - c1601) - (c1602 - d1602) == net
    return net


def _project(clerk, unit_price: str) -> dict:
    return {"unit_id": school().pk, "name": "教学用计算机更新", "category": "3", "start_year": YEAR, "end_year": YEAR,
            "level": 1, "fund_nature_code": "111", "exp_func_code": "2050202", "dep_eco_code": "31002",
            "is_gov_pur": True, "cost_lines": [{"year": YEAR, "item": "台式计算机", "unit_price": unit_price,
                                                "quantity": "8", "measure": "台", "dep_eco_code": "31002"}],
            "targets": [{"kind": "output", "name": "更新计算机台数", "value": "8", "measure": "台",
                         "sub_kind": "数量指标"},
                        {"kind": "satisfaction", "name": "师生满意度", "value": "90", "measure": "%"}],
            "needs": [{"kind": "asset", "item": "台式计算机", "quantity": "8", "unit_price": unit_price,
                       "catalogue_code": "2010104"},
                      {"kind": "procurement", "item": "台式计算机", "quantity": "8", "unit_price": unit_price,
                       "catalogue_code": "A02010104"}]}


def _pay(clerk, reviewer, ind, cid: int, amount: str, milestone: int, key: str, bank=None) -> int:
    r = post(clerk, f"{API}/treasury/requests", {"indicator_id": ind.pk, "amount": amount, "purpose": "购置台式计算机",
                                                "payee": {"payee_id": payee().pk}, "contract_id": cid,
                                                "milestone": milestone, "business_type": "fixed_asset"})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert post(clerk, f"{API}/treasury/requests/{pk}/submit", HTTP_IDEMPOTENCY_KEY=key).status_code == 200
    if bank is not None:
        bank(PaymentRequest.objects.get(pk=pk).agent_bank_code)
    r = post(reviewer, f"{API}/treasury/requests/{pk}/review", {"approve": True, "pin": DEMO_PIN})
    assert r.status_code == 200, r.content
    return pk


def _carry_into_next_year(accountant, reviewer) -> None:
    """The school's books closed for the year (年终结账, the twelve periods, 年结) and carried into next year's
    set: the cards' 1601/1602 balances open the new year. The school's draft vouchers are posted first."""
    prev = _unit_set(YEAR)
    for v in Voucher.objects.filter(account_set=prev, status="draft"):  # the demo's 报销差旅费 draft
        acc.voucher_review(actor=reviewer, pk=v.pk)
        acc.voucher_post(actor=reviewer, pk=v.pk)
    year_end_close(actor=accountant, account_set_id=prev.pk)
    for p in Period.objects.filter(account_set=prev, status="open").order_by("number"):
        acc.period_close(actor=accountant, pk=p.pk)
    acc.account_set_close(actor=accountant, pk=prev.pk)
    with transaction.atomic():
        acc.books_ensure(year=YEAR + 1, units=[school()])
        acc.opening_balances_carry(AccountSet.objects.get(pk=prev.pk),
                                   AccountSet.objects.get(unit=school(), year=YEAR + 1, kind="unit"))


def _depreciate(clerk, expected_card) -> tuple[int, int]:
    """This month's depreciation through the API; returns (this month's amount, the card's accumulated)."""
    today = clock.today()
    r = post(clerk, f"{API}/assets/depreciation", {"account_set_id": _unit_set().pk, "year": today.year,
                                                  "month": today.month})
    assert r.status_code == 201, r.content
    card = AssetCard.objects.get(pk=expected_card.pk)
    return round(float(r.json()["amount"]) * 100), card.accumulated


@pytest.mark.django_db
def test_asset_from_need_to_disposal(client_as, user, sim):  # noqa: F811
    clerk, reviewer, budget = client_as("school_clerk"), client_as("school_reviewer"), client_as("fin_budget")
    head, finance = client_as("school_head"), client_as("fin_accounting")

    # the project's asset need: above the standard (5,000 元/台) refused naming it, within it entered
    r = post(clerk, f"{API}/projects/", _project(clerk, "5600.00"))
    assert r.status_code == 422 and "asset_over_standard" in r.content.decode() and "ZCPZ-2010104" in r.content.decode()
    assert not Project.objects.filter(name="教学用计算机更新").exists()
    r = post(clerk, f"{API}/projects/", _project(clerk, "4500.00"))
    assert r.status_code == 201, r.content
    project = r.json()["id"]
    r = post(clerk, f"{API}/projects/{project}/submit")
    assert r.status_code == 200, r.content
    for who in ("edu_reviewer", "fin_sector", "fin_budget"):
        r = post(client_as(who), f"{API}/projects/{project}/review", {"decision": "approve"})
        assert r.status_code == 200, r.content
    ind = indicator(user("fin_budget"), 5_000_000, is_gov_pur=True, project_id=project, dep_eco_code="31002",
                    summary="教学用计算机更新")
    assert buckets(ind) == (5_000_000, 0, 0, 0)
    _clean()

    # the plan: one computer above its standard is refused at approval, nothing frozen
    r = post(clerk, f"{API}/procurement/plans", {"indicator_id": ind.pk, "catalogue_code": "A02010104",
                                                "method": "询价", "name": "校长办公室计算机", "amount": "6000.00"})
    assert r.status_code == 201, r.content
    over = r.json()["id"]
    assert post(clerk, f"{API}/procurement/plans/{over}/submit").status_code == 200
    r = post(budget, f"{API}/procurement/plans/{over}/review", {"approve": True})
    assert r.status_code == 422 and "asset_over_standard" in r.content.decode(), r.content
    assert ProcurementPlan.objects.get(pk=over).status == ProcurementPlan.Status.SUBMITTED
    assert buckets(ind) == (5_000_000, 0, 0, 0)
    r = post(budget, f"{API}/procurement/plans/{over}/review", {"approve": False, "comment": "超出资产配置标准，退回"})
    assert r.status_code == 200 and r.json()["status"] == "returned", r.content

    # eight computers (the school has 8 people in service) within the standard: approved, 36,000 frozen
    r = post(clerk, f"{API}/procurement/plans", {"indicator_id": ind.pk, "catalogue_code": "A02010104",
                                                "method": "询价", "name": "教学用台式计算机", "quantity": 8,
                                                "amount": "36000.00"})
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert post(clerk, f"{API}/procurement/plans/{pk}/submit").status_code == 200
    r = post(budget, f"{API}/procurement/plans/{pk}/review", {"approve": True})
    assert r.status_code == 200, r.content
    assert buckets(ind) == (1_400_000, 3_600_000, 0, 0)
    _clean()

    # the contract at 33,600: 2,400 saving released
    r = post(clerk, f"{API}/treasury/contracts", {
        "unit_id": school().pk, "number": "HT-ZC-1", "name": "教学用台式计算机采购合同", "amount": "33600.00",
        "payee_id": payee().pk, "plan_id": pk,
        "milestones": [{"name": "到货款", "amount": "9600.00"}, {"name": "验收款", "amount": "24000.00"}]})
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert post(budget, f"{API}/treasury/contracts/{cid}/review", {"approve": True}).status_code == 200
    assert buckets(ind) == (1_640_000, 3_360_000, 0, 0)
    _clean()

    # two milestones paid as 购置固定资产: one card, its value growing with each receipt
    _pay(clerk, reviewer, ind, cid, "9600.00", 1, "zc-1", bank=lambda code: connect(sim, user, code))
    assert buckets(ind) == (1_640_000, 2_400_000, 960_000, 0)
    work(sim)
    assert buckets(ind) == (1_640_000, 2_400_000, 0, 960_000)
    [card] = AssetCard.objects.filter(contract_id=cid)
    assert (card.original_value, card.asset_class, card.quantity, card.status) == (960_000, "2010104", 8, "in_use")
    assert _books_match_register(clerk) == 960_000
    _clean()
    second = _pay(clerk, reviewer, ind, cid, "24000.00", 2, "zc-2")
    work(sim)
    assert PaymentRequest.objects.get(pk=second).status == "paid"
    assert buckets(ind) == (1_640_000, 0, 0, 3_360_000)
    c = Contract.objects.get(pk=cid)
    assert (c.committed, c.paid) == (3_360_000, 3_360_000)
    card = AssetCard.objects.get(pk=card.pk)
    assert AssetCard.objects.filter(contract_id=cid).count() == 1 and card.original_value == 3_360_000
    assert card.changes.filter(kind="acquire").count() == 2
    r = clerk.get(f"{API}/assets/cards/{card.pk}")
    assert r.status_code == 200 and r.json()["contract_id"] == cid and r.json()["net_value"] == "33600.00"
    assert _books_match_register(clerk) == 3_360_000
    _clean()

    # twelve months of depreciation from the month of acquisition (当月增加当月计提), across the year end
    acquired = card.acquired_date
    months = [(acquired.year + (acquired.month - 1 + i) // 12, (acquired.month - 1 + i) % 12 + 1) for i in range(12)]
    accumulated = 0
    for i, (y, m) in enumerate(months):
        with clock.travel(dt.date(y, m, 15)):
            if y > YEAR and not AccountSet.objects.filter(unit=school(), year=y).exists():
                _carry_into_next_year(user("fin_accounting"), user("school_reviewer"))
            expected = domain.month_depreciation(3_360_000, accumulated, card.useful_life_months, i)
            amount, accumulated = _depreciate(clerk, card)
            assert amount == expected > 0
            assert _books_match_register(clerk) == 3_360_000 - accumulated
            _clean()
    card = AssetCard.objects.get(pk=card.pk)
    assert (card.months_done, card.accumulated) == (12, accumulated)
    assert accumulated == 12 * 46_666  # 3,360,000 fen over 72 months, the fen left to the last month

    # sold for 30,000 with the unit head's and the finance bureau's approval
    y, m = months[-1]
    with clock.travel(dt.date(y, m, 20)):
        r = post(clerk, f"{API}/assets/changes", {"card_id": card.pk, "kind": "dispose", "disposal": "sale",
                                                 "proceeds": "30000.00", "reason": "教学设备更新，原设备出售"})
        assert r.status_code == 201, r.content
        ch = r.json()["id"]
        r = post(finance, f"{API}/assets/changes/{ch}/review", {"approve": True})
        assert r.status_code in (403, 409, 422)  # not the finance bureau's step yet
        assert AssetCard.objects.get(pk=card.pk).status == "disposing"
        assert post(head, f"{API}/assets/changes/{ch}/review", {"approve": True, "comment": "同意"}).status_code == 200
        r = post(finance, f"{API}/assets/changes/{ch}/review", {"approve": True, "comment": "同意处置"})
        assert r.status_code == 200 and r.json()["status"] == "approved", r.content
        assert AssetCard.objects.get(pk=card.pk).status == "disposed"
        assert _books_match_register(clerk) == 0
        r = post(clerk, f"{API}/assets/depreciation", {"account_set_id": _unit_set().pk, "year": y, "month": m})
        assert r.status_code == 409 and r.json()["code"] == "already_depreciated"
        _clean()
    assert buckets(ind) == (1_640_000, 0, 0, 3_360_000)

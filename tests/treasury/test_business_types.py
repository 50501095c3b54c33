"""Receipts, refunds and returns booked by what the payment buys (支付业务类型), in both bases of the unit's books
and in the finance bureau's 总预算会计 — exact lines, through the bank-message handlers the feed calls."""

from __future__ import annotations

import pytest

from ibms.accounting.models import Voucher
from ibms.banks.inbound import Quarantine
from ibms.core.context import SYSTEM, acting
from ibms.core.errors import ValidationFailed
from ibms.treasury import selectors
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest
from tests.constants import FUNC, PROVINCE

from .builders import codes, create, fresh, indicator
from .feed import approve, bank, receipt, refund


def lines(event_id: str, kind: str) -> list[tuple]:
    v = Voucher.objects.get(event_id=event_id, account_set__kind=kind)
    return sorted((ln.basis, ln.account_code, ln.debit, ln.credit) for ln in v.lines.all())


def unit_lines(debit: str, credit_fin: str, credit_bud: str, amount: int) -> list[tuple]:
    """The school is an institution (事业单位): budget expenditure is 7201.01."""
    return sorted([("financial", debit, amount, 0), ("financial", credit_fin, 0, amount),
                   ("budget", "7201.01", amount, 0), ("budget", credit_bud, 0, amount)])


FIN = [("financial", "1001", 0, None), ("financial", "5001", None, 0)]

# (business type given, department economic class, extra draft fields, the financial debit account)
CASES = [
    ("", "30201", {}, "5001"),  # derived: goods and services
    ("", "30201", {"expense": "admin"}, "5101"),
    ("", "30305", {}, "5001"),  # derived: grant to individuals
    ("", "31204", {}, "5001"),  # derived: subsidy to enterprises
    ("", "30101", {}, "2201"),  # derived: net salaries against the accrued payable
    ("", "30108", {}, "2201"),  # derived: employer contributions (accrued in 2201)
    ("remit_tax", "30101", {}, "2102"),
    ("remit_withheld", "30101", {}, "2307"),
    ("", "31002", {}, "1601"),  # derived: fixed asset
    ("fixed_asset", "31002", {"installation": True}, "1613"),
    ("", "31022", {}, "1701"),  # derived: intangible asset
    ("prepayment", "30201", {}, "1214"),
    ("remit_upper", "39999", {}, "5401"),
    ("subsidy_affiliate", "39999", {}, "5501"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("btype", "eco", "extra", "debit"), CASES, ids=[f"{c[0] or 'derived'}-{c[1]}-{c[3]}"
                                                                            for c in CASES])
def test_receipt_and_refund_lines_per_business_type(budget, clerk, reviewer, btype, eco, extra, debit):
    ind = indicator(budget, 1_000_000, dep_eco_code=eco, gov_eco_code="")
    req = create(clerk, ind, 100_000, business_type=btype, **extra)
    assert req.business_type == (btype or {"30201": "goods_services", "30305": "grant_individual",
                                           "31204": "grant_enterprise", "30101": "salary",
                                           "30108": "employer_contribution", "31002": "fixed_asset",
                                           "31022": "intangible_asset"}[eco])
    v = approve(clerk, reviewer, req)
    receipt(v)
    paid = f"pay:{PROVINCE}:{v.number}"
    assert lines(paid, "unit") == unit_lines(debit, "4001.01", "6001.01", 100_000)
    fin = lines(f"fin-{paid}", "fiscal")
    assert fin == sorted([("financial", "1001", 0, 100_000), ("financial", "5001", 100_000, 0)])
    fin_voucher = Voucher.objects.get(event_id=f"fin-{paid}")
    assert {ln.exp_func_code for ln in fin_voucher.lines.all() if ln.account_code == "5001"} == {FUNC}

    no = refund(fresh(v), 30_000)
    back = f"refund:{PROVINCE}:{no}"
    assert lines(back, "unit") == sorted([("financial", "4001.01", 30_000, 0), ("financial", debit, 0, 30_000),
                                         ("budget", "6001.01", 30_000, 0), ("budget", "7201.01", 0, 30_000)])
    assert lines(f"fin-{back}", "fiscal") == sorted([("financial", "1001", 30_000, 0), ("financial", "5001", 0, 30_000)])
    assert selectors.spent_problems() == [] and selectors.finance_books_problems() == []
    assert selectors.reservation_problems() == []


@pytest.mark.django_db
def test_government_class_derived_through_the_unit_type_mapping(budget, clerk):
    from ibms.masterdata.models import EcoMapping

    ind = indicator(budget, 1_000_000, dep_eco_code="30201", gov_eco_code="")
    req = create(clerk, ind, 10_000)
    mapped = EcoMapping.objects.get(fiscal_year=ind.year, region_code="", dep_eco_code="302",
                                    unit_type=ind.unit.unit_type).gov_eco_code
    assert mapped and req.gov_eco_code == mapped
    paid = create(clerk, indicator(budget, 1_000_000, dep_eco_code="30201", gov_eco_code="50299"), 10_000)
    assert paid.gov_eco_code == "50299"  # the indicator's own class wins


@pytest.mark.django_db
def test_authorized_payment_books_the_zero_balance_account(budget, clerk, reviewer):
    ind = indicator(budget, 1_000_000, dep_eco_code="30101", pay_type_code="12")
    req = create(clerk, ind, 50_000, business_type="remit_tax")
    assert req.pay_method == "authorized"
    v = approve(clerk, reviewer, req)
    receipt(v)
    paid = f"pay:{PROVINCE}:{v.number}"
    assert lines(paid, "unit") == unit_lines("2102", "1011", "8001.02", 50_000)
    assert lines(f"fin-{paid}", "fiscal") == sorted([("financial", "1001", 0, 50_000), ("financial", "5001", 50_000, 0)])


@pytest.mark.django_db
def test_a_return_books_nothing_and_frees_the_indicator(budget, clerk, reviewer):
    ind = indicator(budget, 1_000_000, dep_eco_code="31002")
    v = approve(clerk, reviewer, create(clerk, ind, 70_000))
    assert fresh(ind).reserved == 70_000
    bank("return", v, Reason="收款账号不存在")
    assert fresh(v).state == "returned" and fresh(ind).available == 1_000_000
    assert not Voucher.objects.filter(event_id__endswith=f":{v.number}").exists()  # neither book
    # a receipt after the return is not booked: it waits for a person
    with pytest.raises(Quarantine) as exc:
        receipt(fresh(v))
    assert exc.value.code == "receipt_not_applicable"
    assert fresh(ind).spent == 0


@pytest.mark.django_db
def test_business_type_must_fit_the_economic_class(budget, clerk):
    ind = indicator(budget, 1_000_000, dep_eco_code="30201")
    with pytest.raises(ValidationFailed) as exc:
        create(clerk, ind, 10_000, business_type="remit_tax")
    assert codes(exc.value) == ["business_type_mismatch"]
    with pytest.raises(ValidationFailed) as exc:
        create(clerk, ind, 10_000, business_type="no_such_type")
    assert codes(exc.value) == ["business_type_unknown"]
    assert not PaymentRequest.objects.filter(indicator=ind).exists()


@pytest.mark.django_db
def test_submit_refuses_a_request_its_receipt_could_not_book(budget, clerk):
    """An indicator without a department economic class: 7201.01 needs one, so the receipt could not be booked —
    refused at submit with the reason, nothing reserved."""
    ind = indicator(budget, 1_000_000, dep_eco_code="", gov_eco_code="")
    req = create(clerk, ind, 10_000)
    with pytest.raises(ValidationFailed) as exc:
        s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="bt-nodim")
    assert "missing_dimension" in codes(exc.value)
    assert any("入账检查" in v.message and "部门经济分类" in v.message for v in exc.value.violations)
    assert fresh(req).status == "draft" and fresh(ind).reserved == 0


@pytest.mark.django_db
def test_api_takes_and_returns_the_business_type(client_as, budget):
    import json

    ind = indicator(budget, 1_000_000, dep_eco_code="30101")
    c = client_as("school_clerk")
    types = c.get("/api/v1/treasury/business-types").json()
    assert {"salary", "remit_tax", "fixed_asset"} <= {t["code"] for t in types}
    r = c.post("/api/v1/treasury/requests", data=json.dumps({
        "indicator_id": ind.pk, "amount": "300.00", "purpose": "代缴个人所得税", "business_type": "remit_tax",
        "payee": {"name": "国家税务总局华夏省税务局", "account_no": "6222000099990001", "bank_name": "国家金库华夏省分库"}}),
        content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["business_type"] == "remit_tax"
    r = c.post("/api/v1/treasury/requests", data=json.dumps({
        "indicator_id": ind.pk, "amount": "300.00", "purpose": "x", "business_type": "fixed_asset",
        "payee": {"name": "某公司", "account_no": "6222000099990001", "bank_name": "某银行"}}),
        content_type="application/json")
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "business_type_mismatch"


@pytest.mark.django_db
def test_request_receipted_in_one_transaction_with_both_books(budget, clerk, reviewer):
    """A receipt that the finance bureau's books refuse leaves nothing behind: indicator, unit book, request."""
    ind = indicator(budget, 1_000_000, dep_eco_code="30201")
    v = approve(clerk, reviewer, create(clerk, ind, 20_000))
    with acting(SYSTEM):
        from ibms.accounting.models import AccountSet

        AccountSet.objects.filter(region_code=PROVINCE, kind="fiscal", year=v.year).update(year=v.year + 50)
    with pytest.raises(Quarantine) as exc:
        receipt(v)
    assert exc.value.code == "no_account_set"
    assert fresh(ind).spent == 0 and fresh(ind).reserved == 20_000
    assert not Voucher.objects.filter(event_id=f"pay:{PROVINCE}:{v.number}").exists()
    assert fresh(v).state != "paid"

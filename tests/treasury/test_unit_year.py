"""A year of a small administrative unit (农业农村厅, 行政单位) paid through treasury: salaries accrued and paid
net, withholdings and employer contributions remitted, office supplies bought and partly refunded, a fixed asset
bought and depreciated, year end. Every payment goes request → submit → approve → the bank's receipt, booked
by its business type; accruals, withholding, depreciation and year end are accounting events.

Figures (yuan), three months of salaries: accrued 120,000 a month (gross 100,000 + employer 20,000); withheld
tax 3,000 and personal social insurance 12,000; net 85,000 paid; remitted 3,000 + 12,000 + 20,000. Supplies
45,000, 5,000 refunded. Asset 36,000, depreciated 1,000 a month for three months. Year end: the indicators'
unspent 1,064,000 as 财政应返还额度.
财政拨款收入 = 360,000 + 40,000 + 36,000 + 1,064,000 = 1,500,000; expenses = 360,000 + 40,000 + 3,000 = 403,000;
本年盈余 = 1,097,000; budget expenditure 436,000; 预算结余 = 1,064,000; the difference 33,000 = the asset
capitalised (36,000) less its depreciation (3,000): the non-cash items."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings

from ibms.accounting import services as acc
from ibms.accounting import statements
from ibms.accounting.books import PeriodRange, trial_balance
from ibms.accounting.closing import year_end_close
from ibms.accounting.models import AccountSet, Period
from ibms.banks import services as banks
from ibms.core import audit, clock
from ibms.iam.models import Organization, Role, User
from ibms.indicators.models import Indicator
from ibms.masterdata.models import Unit
from ibms.treasury import selectors
from ibms.treasury import services as s
from tests.constants import DEMO_PIN, PROVINCE

from .builders import indicator
from .feed import approve, receipt, refund

Y = 100
FUNC = "2130101"  # 农业农村 行政运行
PAYEE = {"tax": ("国家税务总局华夏省税务局", "6222000099990001"), "social": ("华夏省社会保险事业管理局", "6222000099990002"),
         "staff": ("农业农村厅工资统发户", "6222000099990003"), "supplier": ("华夏文具有限公司", "6222000099990004"),
         "asset": ("华夏办公设备公司", "6222000099990005")}


def staff(unit: Unit) -> tuple[User, User]:
    with transaction.atomic():
        org = Organization.objects.create(region_code=PROVINCE, code="unit-004-test", name=unit.name, kind="unit",
                                          unit=unit)
        out = []
        for name, role in (("agri_unit_clerk", "unit_clerk"), ("agri_unit_reviewer", "unit_reviewer")):
            u = User(username=name, real_name=name, organization=org)
            u.set_password("Another#Pass2026")
            u.save()
            u.groups.set([Role.objects.get(code=role).group])
            audit.record_change(u, "create")
            out.append(User.objects.select_related("organization", "organization__unit").get(pk=u.pk))
    with override_settings(IBMS_SIGNER_PIN_ITERATIONS=1000):  # the reviewer signs the vouchers: enrol a (fast) key
        banks.signer_enrol(actor=out[1], pin=DEMO_PIN, pin_confirm=DEMO_PIN)
    return out[0], out[1]


@pytest.mark.django_db
def test_a_year_paid_through_treasury_closes_with_true_books(user):
    unit = Unit.objects.get(region_code=PROVINCE, code="004")
    assert unit.unit_type == "organ"
    year = clock.fiscal_year()
    aset = AccountSet.objects.get(unit=unit, year=year)
    assert not aset.vouchers.exists()
    clerk, reviewer = staff(unit)
    budget, accountant = user("fin_budget"), user("fin_accounting")
    kw = {"unit_id": unit.pk, "exp_func_code": FUNC, "gov_eco_code": ""}
    salary = indicator(budget, 1_000_000 * Y, dep_eco_code="30101", **kw)
    employer = indicator(budget, 200_000 * Y, dep_eco_code="30108", **kw)
    goods = indicator(budget, 200_000 * Y, dep_eco_code="30201", **kw)
    asset = indicator(budget, 100_000 * Y, dep_eco_code="31002", **kw)

    def pay(ind, yuan: int, month: int, payee: str, business_type: str = "", purpose: str = "支付"):
        name, acct = PAYEE[payee]
        req = s.payment_request_create(actor=clerk, data=s.DraftIn(
            indicator_id=ind.pk, amount=yuan * Y, purpose=purpose, business_type=business_type,
            payee=s.PayeeIn(name=name, account_no=acct, bank_name="国家金库华夏省分库")))
        v = approve(clerk, reviewer, req)
        receipt(v, dt.date(year, month, 15))
        return v

    def event(event_id, event_type, month, amounts, dims=None):
        acc.event_post(event_id=event_id, event_type=event_type, date=dt.date(year, month, 10), amounts=amounts,
                       dimensions={"exp_func": FUNC, "fund_nature": "111", **(dims or {})}, account_set=aset)

    for m in (1, 2, 3):
        event(f"agri-accrue-{m}", "payroll.accrued", m, {"amount": 120_000 * Y}, {"dep_eco": "30101"})
        event(f"agri-withhold-{m}", "payroll.withheld", m, {"tax": 3_000 * Y, "social": 12_000 * Y})
        assert pay(salary, 85_000, m, "staff", purpose="发放工资").request.business_type == "salary"
        pay(salary, 3_000, m, "tax", "remit_tax", "代缴个人所得税")
        pay(salary, 12_000, m, "social", "remit_withheld", "代缴个人社会保险费")
        assert pay(employer, 20_000, m, "social", purpose="单位缴费").request.business_type == "employer_contribution"
    supplies = pay(goods, 45_000, 2, "supplier", purpose="办公用品")
    with transaction.atomic():
        refund(supplies, 5_000 * Y, dt.date(year, 4, 2))
    assert pay(asset, 36_000, 3, "asset", purpose="购置服务器").request.business_type == "fixed_asset"
    for m in (4, 5, 6):
        event(f"agri-depr-{m}", "asset.depreciated", m, {"amount": 1_000 * Y})
    unspent = sum(Indicator.objects.filter(pk__in=[salary.pk, employer.pk, goods.pk, asset.pk])
                  .values_list("available", flat=True))
    assert unspent == 1_064_000 * Y
    acc.event_post(event_id="agri-ye-direct", event_type="year_end.direct_unspent", date=dt.date(year, 12, 31),
                   amounts={"amount": unspent}, dimensions={"fund_nature": "111", "exp_func": FUNC},
                   account_set=aset)
    assert selectors.spent_problems() == [] and selectors.finance_books_problems() == []

    tb = trial_balance(actor=accountant, account_set=aset, period=PeriodRange(1, 12))
    assert tb.balanced, tb.problems
    closing = {r.code: r.closing // Y for rows in tb.rows.values() for r in rows if r.closing}
    for liability in ("2102", "2201", "2307"):  # withheld, remitted: nothing left payable
        assert closing.get(liability, 0) == 0, liability
    assert closing["1601"] == 36_000 and closing["1602"] == -3_000

    year_end_close(actor=accountant, account_set_id=aset.pk)
    for p in Period.objects.filter(account_set=aset).order_by("number"):
        acc.period_close(actor=accountant, pk=p.pk)

    def lines(code: str) -> dict:
        st = statements.statement_compute(actor=accountant, account_set=aset, code=code, period=PeriodRange(1, 12))
        assert st.problems == []
        return {r.number: r.values[0] // Y for r in st.rows if r.values[0] is not None}

    bs = lines("balance_sheet")
    assert bs[38] == bs[67] == 1_064_000 + 33_000  # 资产总计 = 负债和净资产总计
    assert bs[59] == 0 and bs[66] == 1_097_000 > 0  # no liabilities; net assets positive
    rec = lines("surplus_reconciliation")
    assert rec[1] == 1_064_000 and rec[23] == 1_097_000  # 本年预算结余, 本年盈余
    assert rec[10] == 36_000 and rec[18] == 3_000  # 资本性支出, 计提折旧
    assert rec[23] - rec[1] == rec[10] - rec[18]  # the difference is the non-cash items
    assert rec[21] == 0  # nothing unexplained

"""资产卡片 from a receipted 购置固定资产 payment (in the receipt's transaction, linked to the request, voucher and
indicator; once) and for existing stock; the register equals the books' 1601/1602 (`ibms verify`)."""

from __future__ import annotations

import pytest

from ibms.accounting.models import Voucher
from ibms.assets import selectors
from ibms.assets.models import AssetCard, AssetChange
from ibms.core.errors import ValidationFailed
from tests.constants import PROVINCE
from tests.treasury.builders import create, fresh, indicator
from tests.treasury.feed import approve, receipt

from .builders import balance, opening, paid_asset


@pytest.mark.django_db
def test_receipt_of_a_fixed_asset_payment_creates_its_card(budget, clerk, reviewer):
    req, v = paid_asset(budget, clerk, reviewer)
    card = AssetCard.objects.get(payment_request=req)
    unit_voucher = Voucher.objects.get(event_id=f"pay:{PROVINCE}:{v.number}", account_set__kind="unit")
    assert (card.original_value, card.accumulated, card.unit_id, card.indicator_id) == (680_000, 0, req.unit_id,
                                                                                      req.indicator_id)
    assert card.voucher_id == unit_voucher.pk and card.status == "in_use" and card.source == "purchase"
    assert card.asset_class == "2" and card.useful_life_months == 72  # 31002 → 通用设备, 6 years
    assert AssetChange.objects.get(payment_request=req).kind == "acquire"
    receipt(fresh(v))  # a second receipt is recorded, never applied: no second card
    assert AssetCard.objects.filter(payment_request=req).count() == 1
    assert balance("1601") == selectors.register_totals(AssetCard.objects.filter(unit=req.unit))["original"]
    assert selectors.register_problems() == []


@pytest.mark.django_db
def test_other_payments_and_installations_make_no_card(budget, clerk, reviewer):
    ind = indicator(budget, 1_000_000, dep_eco_code="30201")
    v = approve(clerk, reviewer, create(clerk, ind, 10_000))
    receipt(v)
    ind2 = indicator(budget, 1_000_000, dep_eco_code="31002")
    v2 = approve(clerk, reviewer, create(clerk, ind2, 20_000, business_type="fixed_asset", installation=True))
    receipt(v2)
    assert not AssetCard.objects.filter(payment_request__in=[v.request_id, v2.request_id]).exists()


@pytest.mark.django_db
def test_opening_stock_is_booked_and_the_register_equals_the_books(clerk):
    before = balance("1601"), balance("1602")
    card = opening(clerk, 1_200_000, 200_000)
    assert card.months_done == 12 and card.useful_life_months == 72
    assert balance("1601") - before[0] == 1_200_000 and balance("1602") - before[1] == -200_000
    v = Voucher.objects.get(pk=card.voucher_id)
    assert sorted((ln.account_code, ln.debit, ln.credit) for ln in v.lines.all()) == sorted(
        [("1601", 1_200_000, 0), ("3001", 0, 1_200_000), ("3001", 200_000, 0), ("1602", 0, 200_000)])
    assert selectors.register_problems() == []


@pytest.mark.django_db
def test_opening_refusals_list_every_reason_and_change_nothing(clerk):
    n = AssetCard.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        opening(clerk, 100, 200, asset_class="9999999", name=" ")
    assert {v.code for v in exc.value.violations} == {"asset_class_unknown", "name_required", "value_out_of_range"}
    assert AssetCard.objects.count() == n

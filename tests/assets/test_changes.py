"""增用修废: a change of user at once; a disposal through its approval chain (unit head, then the finance's
accounting division) booked at the last approval (1602 + 5301 / 1601; proceeds 1002 / 2103); a transfer to another
unit books both units; a repair capitalised or expensed by the rule; refusals change nothing."""

from __future__ import annotations

import pytest

from ibms.accounting.models import Voucher
from ibms.assets import selectors
from ibms.assets import services as a
from ibms.assets.models import AssetCard, AssetChange
from ibms.core.errors import PermissionDenied, ValidationFailed
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

from .builders import YEAR, balance, opening, unit_set


def lines(pk: int) -> list[tuple]:
    return sorted((ln.account_code, ln.debit, ln.credit) for ln in Voucher.objects.get(pk=pk).lines.all())


@pytest.mark.django_db
def test_sale_with_approval_books_the_write_off_and_the_proceeds(clerk, head, accountant):
    card = opening(clerk, 720_000)
    a.depreciation_run(actor=clerk, account_set_id=unit_set().pk, year=YEAR, month=1)
    ch = a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="dispose", disposal="sale",
                                                     proceeds=50_000, reason="设备老旧，公开处置"))
    assert ch.status == "submitted" and AssetCard.objects.get(pk=card.pk).status == "disposing"
    with pytest.raises(PermissionDenied):  # the finance's step is not first
        a.change_review(actor=accountant, pk=ch.pk, approve=True)
    a.change_review(actor=head, pk=ch.pk, approve=True, comment="同意")
    assert AssetChange.objects.get(pk=ch.pk).status == "submitted"  # waits for the finance
    ch = a.change_review(actor=accountant, pk=ch.pk, approve=True, comment="同意处置")
    assert ch.status == "approved" and ch.amount == 710_000
    [v] = ch.vouchers
    assert lines(v) == sorted([("1602", 10_000, 0), ("5301", 710_000, 0), ("1601", 0, 720_000),
                               ("1002", 50_000, 0), ("2103", 0, 50_000)])
    card.refresh_from_db()
    assert card.status == "disposed"
    assert selectors.register_problems() == []


@pytest.mark.django_db
def test_returned_disposal_puts_the_card_back_in_use(clerk, head):
    card = opening(clerk, 300_000)
    ch = a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="dispose", disposal="scrap", reason="损坏"))
    with pytest.raises(ValidationFailed):
        a.change_review(actor=head, pk=ch.pk, approve=False)  # a reason is required
    a.change_review(actor=head, pk=ch.pk, approve=False, comment="尚可维修")
    assert AssetCard.objects.get(pk=card.pk).status == "in_use"
    assert AssetChange.objects.get(pk=ch.pk).status == "returned"


@pytest.mark.django_db
def test_transfer_to_another_unit_books_both_units(clerk, head, accountant):
    card = opening(clerk, 720_000, 72_000)
    other = Unit.objects.filter(region_code=PROVINCE).exclude(pk=card.unit_id).filter(
        pk__in=unit_set().__class__.objects.filter(year=YEAR, kind="unit").values("unit_id")).first()
    before = balance("1601", other)
    ch = a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="dispose", disposal="transfer_out",
                                                     to_unit_id=other.pk, reason="调剂使用"))
    a.change_review(actor=head, pk=ch.pk, approve=True)
    ch = a.change_review(actor=accountant, pk=ch.pk, approve=True)
    out, inc = ch.vouchers
    assert lines(out) == sorted([("1602", 72_000, 0), ("3401", 648_000, 0), ("1601", 0, 720_000)])
    assert lines(inc) == sorted([("1601", 648_000, 0), ("3401", 0, 648_000)])
    new = AssetCard.objects.get(unit=other, source="transfer_in", name=card.name)
    assert (new.original_value, new.useful_life_months) == (648_000, 72 - 7)
    assert balance("1601", other) - before == 648_000
    assert selectors.register_problems() == []


@pytest.mark.django_db
def test_change_of_user_and_repairs_by_the_rule(clerk, head):
    card = opening(clerk, 1_000_000)
    a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="transfer", to_user_name="王老师",
                                                to_location="教学楼 302"))
    card.refresh_from_db()
    assert (card.user_name, card.location) == ("王老师", "教学楼 302")
    small = a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="repair", amount=30_000,
                                                        reason="更换电源"))
    assert not small.capitalise
    small = a.change_review(actor=head, pk=small.pk, approve=True)
    assert small.vouchers == []  # expensed when it was paid
    big = a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="repair", amount=250_000,
                                                      extends_life_months=12, reason="大修"))
    assert big.capitalise
    big = a.change_review(actor=head, pk=big.pk, approve=True)
    assert lines(big.vouchers[0]) == sorted([("1601", 250_000, 0), ("5001", 0, 250_000)])
    card.refresh_from_db()
    assert (card.original_value, card.useful_life_months) == (1_250_000, 84)
    assert selectors.register_problems() == []


@pytest.mark.django_db
def test_change_refusals(clerk, reviewer):
    card = opening(clerk, 100_000)
    with pytest.raises(ValidationFailed) as exc:
        a.change_create(actor=clerk, data=a.ChangeIn(card_id=card.pk, kind="dispose", disposal="scrap",
                                                     proceeds=100))
    assert {v.code for v in exc.value.violations} == {"proceeds_invalid", "reason_required"}
    with pytest.raises(PermissionDenied):
        a.change_create(actor=reviewer, data=a.ChangeIn(card_id=card.pk, kind="dispose", disposal="scrap",
                                                        reason="x"))
    assert not AssetChange.objects.filter(card=card, kind="dispose").exists()

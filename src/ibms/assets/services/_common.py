"""What the asset services share: permissions, numbering, the account set of a unit and booking one change."""

from __future__ import annotations

import datetime as dt

from ibms.accounting import services as acc
from ibms.accounting.models import AccountSet, Voucher
from ibms.core.errors import invalid
from ibms.core.numbering import next_number

from ..models import AssetCard

P_ADD_CARD, P_CHANGE_CARD = "assets.add_assetcard", "assets.change_assetcard"
P_ADD_CHANGE, P_REVIEW = "assets.add_assetchange", "assets.review_assetchange"
P_DEPRECIATE = "assets.depreciate_assetcard"
DOC_DISPOSAL, DOC_REPAIR = "assets.disposal", "assets.repair"


def actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def card_number(region_code: str, year: int) -> str:
    return next_number(f"ZC{region_code[:6]}{year}", key=f"assets-card:{region_code}:{year}", width=6)


def change_number(region_code: str, year: int) -> str:
    return next_number(f"ZB{region_code[:6]}{year}", key=f"assets-change:{region_code}:{year}", width=6)


def unit_set(unit_id: int, year: int) -> AccountSet:
    aset = AccountSet.objects.filter(unit_id=unit_id, year=year, kind=AccountSet.Kind.UNIT).first()
    if aset is None:
        raise invalid("no_account_set", f"单位未建立 {year} 年度账套，资产变动无法入账", "unit")
    return aset


def book(*, actor, card: AssetCard, event_type: str, event_id: str, date: dt.date, amounts: dict[str, int],
         attrs: dict | None = None, summary: str = "") -> Voucher | None:
    """One change through the posting rules (data/accounting/posting_rules.csv) into the unit's account set of the
    change's year; idempotent by the event id."""
    aset = unit_set(card.unit_id, date.year)
    return acc.event_post(actor=actor, event_id=event_id, event_type=event_type, date=date, amounts=amounts,
                          attrs=attrs or {}, account_set=aset, summary=(summary or card.name)[:200])

"""What the asset app hangs on lower apps' hooks: the card of a receipted fixed-asset payment (treasury's receipt,
inside its transaction) and the 资产配置标准 check of a procurement plan (procurement's approval)."""

from __future__ import annotations

import datetime as dt

from ibms.core.errors import Violation

from . import standards
from .services import card_from_payment


def card_from_receipt(voucher, amount: int, date: dt.date) -> None:
    card_from_payment(voucher=voucher, amount=amount, date=date)


def plan_standard_check(plan) -> list[Violation]:
    qty = max(int(plan.quantity or 1), 1)
    return standards.check(unit=plan.unit, asset_class=plan.asset_class, quantity=qty,
                           unit_price=plan.amount // qty, field="amount")

"""The asset services (the only writers): cards, changes (增用修废) with their approval, depreciation runs."""

from .cards import OpeningIn, card_from_payment, card_open
from .changes import ChangeIn, change_create, change_review
from .depreciation import depreciation_run, depreciation_run_region, month_end

__all__ = ["ChangeIn", "OpeningIn", "card_from_payment", "card_open", "change_create", "change_review",
           "depreciation_run", "depreciation_run_region", "month_end"]

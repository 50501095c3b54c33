"""What the indicator services share: permissions, document kinds, approval chains, the movement event."""

from __future__ import annotations

from ibms.core import audit
from ibms.core.money import fen_to_str

from ..models import Indicator, IndicatorEntry, SourceDocument

Kind = SourceDocument.Kind
E = IndicatorEntry.Kind

DOC_REALLOCATION = "indicator_reallocation"
DOC_TRANSFER = "indicator_transfer_notice"
DEFAULT_REALLOCATION_CHAIN = [("预算处审核", "budget_division", "finance")]
DEFAULT_TRANSFER_CHAIN = [("预算处接收", "budget_division", "finance")]

# indicators come from these documents, never from nowhere (ALLOT: 待分 split to units)
CREATING_KINDS = {Kind.BUDGET_REPLY, Kind.TRANSFER_ADVANCE, Kind.TRANSFER_FORMAL, Kind.RESERVE_FUND,
                  Kind.SUPPLEMENT, Kind.TRANSFER_IN, Kind.CARRY_OVER, Kind.ADJUSTMENT, Kind.ALLOT}
INCREASE_KINDS = {Kind.SUPPLEMENT, Kind.RESERVE_FUND, Kind.TRANSFER_ADVANCE, Kind.TRANSFER_FORMAL}

P_ADD, P_CHANGE = "indicators.add_indicator", "indicators.change_indicator"
P_DOC = "indicators.add_sourcedocument"
P_REALLOC_SUBMIT, P_REALLOC_REVIEW = "indicators.add_reallocation", "indicators.change_reallocation"
P_TRANSFER_ALLOT, P_TRANSFER_RECEIVE = "indicators.add_transfernotice", "indicators.change_transfernotice"


def _event(code: str, ind: Indicator, source: SourceDocument | None, amount: int, **payload) -> None:
    audit.record_event(code, obj=ind, region_code=ind.region_code,
                       message=f"{ind.code} {fen_to_str(amount)}",
                       payload={"indicator": ind.code, "amount": fen_to_str(amount),
                                "doc_no": source.doc_no if source else "", **payload})

"""What the year end does to payments still open: a request in review holds a reservation on an indicator of a
year that no longer pays, so it goes back to its unit (退回) with the reservation voided — the unit applies
again in the new year against the carried indicator. A voucher already at the bank is never voided here: the
year-end checklist waits for the bank's answer (`vouchers_in_flight`)."""

from __future__ import annotations

from ibms.core import audit, workflow
from ibms.core.transactions import in_callers_transaction

from ..models import PaymentRequest, PaymentVoucher
from ..setup import DOC_PAYMENT
from ._common import R
from .countersign import countersign_clear
from .requests import _release, todo_returned

YEAR_END_REASON = "年终结账：本年度未审核完成的支付申请退回，请在新年度按结转指标重新申请"


def requests_in_review(region_code: str, year: int):
    return PaymentRequest.objects.filter(region_code=region_code, year=year, status=R.SUBMITTED).order_by("id")


def vouchers_in_flight(region_code: str, year: int):
    """Vouchers (payments and 实拨) of the year sent or about to be sent whose outcome the bank has not given."""
    return PaymentVoucher.objects.filter(region_code=region_code, year=year,
                                         state__in=PaymentVoucher.IN_FLIGHT).order_by("number")


@in_callers_transaction
def request_year_end_return(*, actor, request_id: int) -> PaymentRequest | None:
    """Return one request in review to its unit, voiding its reservation; None when it is no longer in review
    (a rerun, or its reviewer acted first)."""
    req = PaymentRequest.objects.select_for_update(of=("self",)).filter(pk=request_id, status=R.SUBMITTED).first()
    if req is None:
        return None
    _release(actor, req)
    countersign_clear(req)
    audit.update_fields(req, review_comment=YEAR_END_REASON)
    workflow.transition(req, R.REJECTED, transitions=PaymentRequest.TRANSITIONS,
                        event_code="treasury.request_year_end_returned", message=YEAR_END_REASON)
    workflow.todo_close(doc_type=DOC_PAYMENT, obj=req, user=actor)
    todo_returned(req, YEAR_END_REASON)
    return req

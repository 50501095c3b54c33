"""Treasury writers: payment requests (draft → submit with every control → review chain → voucher), contracts,
direct allocations (实拨), the effects of the bank's messages and the daily reconciliation.

Submit runs every control in one transaction (balance under the indicator's row lock, classification match,
contract, blacklist, in-line monitoring) and either lists every reason (nothing reserved, nothing written) or
reserves the amount (`indicators.services.indicator_reserve`, consumer = the request's key) and raises the
monitoring alerts. The last approval generates the payment voucher, seals it (unit key; finance key too for
direct payments where the region says so), signs it with the approver's own key (opened with their PIN) and
hands it to `banks.voucher_dispatch` in the same transaction; 实拨 is signed by the finance person who makes it.
Bank messages come back through the handlers in `handlers.py`, which call the `*_apply` building blocks of
:mod:`.bank_effects` inside the transaction that marks the bank message applied (exactly once). Every other
function is its own durable transaction.
"""

from ..domain import DraftIn, LineIn, PayeeIn
from .allocations import allocation_create, contract_create
from .bank_effects import (
    RefundNotReady,
    clearing_apply,
    refund_apply,
    statement_apply,
    voucher_ack_apply,
    voucher_event_record,
    voucher_receipt_apply,
    voucher_return_apply,
)
from .contract_funds import contract_close, contract_review
from .reconciliation import difference_resolve, message_quarantine, reconciliation_run
from .requests import (
    CheckResult,
    payment_request_check,
    payment_request_create,
    payment_request_review,
    payment_request_submit,
    payment_request_update,
    payment_request_withdraw,
    review_signer_kind,
    review_signs_content,
)
from .vouchers import voucher_query, voucher_query_stuck, voucher_resend
from .year_end import request_year_end_return, requests_in_review, vouchers_in_flight

__all__ = [
    "CheckResult", "DraftIn", "LineIn", "PayeeIn", "RefundNotReady", "allocation_create", "clearing_apply",
    "contract_close", "contract_create", "contract_review", "difference_resolve", "message_quarantine", "payment_request_check", "payment_request_create",
    "payment_request_review", "payment_request_submit", "payment_request_update", "payment_request_withdraw",
    "reconciliation_run", "refund_apply", "review_signer_kind", "review_signs_content", "statement_apply", "voucher_ack_apply",
    "voucher_event_record", "voucher_query", "voucher_query_stuck", "voucher_receipt_apply", "voucher_resend",
    "voucher_return_apply", "request_year_end_return", "requests_in_review", "vouchers_in_flight",
]

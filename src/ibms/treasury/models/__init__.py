"""国库集中支付: payment requests (PAY_VOUCHER), contracts (合同备案), payment vouchers (PAY_VOUCHER_BILL) with
their details (PAY_DETAIL), refunds, direct allocations (实拨, PAY_ALLOCATION_CERT), bank statements and the
daily reconciliation with its differences.

Money is integer fen. Every business row carries `region_code` and its unique keys start with it. Status fields
change only through `core.workflow.transition()` against each model's transition table.
"""

from .policy import UNIT_SCOPE, PayMethod, RegionPolicy, SetMode
from .reconciliation import BankStatement, ReconciliationRun, ReconDifference
from .requests import Contract, PaymentRequest, PaymentRequestLine, SubmitKey
from .vouchers import Allocation, PaymentVoucher, Refund, VoucherDetail, VoucherEvent

__all__ = [
    "UNIT_SCOPE", "Allocation", "BankStatement", "Contract", "PayMethod", "PaymentRequest", "PaymentRequestLine",
    "PaymentVoucher", "ReconDifference", "ReconciliationRun", "Refund", "RegionPolicy", "SetMode", "SubmitKey",
    "VoucherDetail", "VoucherEvent",
]

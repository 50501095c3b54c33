"""What the treasury API answers, as documented schemas: amounts are yuan strings with two decimals, dates ISO
strings. The API's builders (`api._request`, `_voucher`, …) produce exactly these fields; ninja validates every
answer against them, and the API fuzz test checks the documented shape against real answers."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class PaymentRequestOut(Schema):
    id: int
    number: str
    region_code: str
    year: int
    status: str
    status_display: str
    unit_id: int
    indicator_id: int | None
    amount: str
    xpay_amt: str
    purpose: str
    pay_method: str
    pay_type_code: str
    set_mode_code: str
    fund_nature_code: str
    exp_func_code: str
    dep_eco_code: str
    gov_eco_code: str
    payee_id: int | None
    payee_name: str
    payee_account_no: str
    payee_bank_name: str
    business_type: str
    installation: bool
    contract_id: int | None
    is_batch: bool
    is_payroll: bool
    line_count: int
    consumer: str
    current_step: int
    explanation: str
    monitoring: list[dict[str, Any]]
    review_comment: str
    voucher_id: int | None
    voucher_number: str
    voucher_state: str


class PaymentRequestPage(Schema):
    count: int
    items: list[PaymentRequestOut]


class CheckOut(Schema):
    ok: bool
    violations: list[dict[str, Any]]
    hits: list[dict[str, Any]]


class IndicatorChoiceOut(Schema):
    id: int
    code: str
    summary: str
    unit: str
    available: str
    fund_nature_code: str
    exp_func_code: str
    dep_eco_code: str
    pay_type_code: str
    is_gov_pur: bool


class PaymentVoucherOut(Schema):
    id: int
    number: str
    region_code: str
    year: int
    vt_code: str
    state: str
    state_display: str
    external_status: str
    request_id: int | None
    allocation_id: int | None
    consumer: str
    pay_method: str
    vou_date: str
    amount: str
    xpay_amt: str
    xpay_date: str | None
    agent_business_no: str
    refunded_amt: str
    return_reason: str
    agent_bank_code: str
    payee_name: str
    payee_account_no: str
    bank_message_id: int | None
    signers: str
    receipt_count: int


class PaymentVoucherEventOut(Schema):
    at: str
    kind: str
    state: str
    message_id: str
    note: str


class PaymentVoucherLineOut(Schema):
    seq: int
    payee_name: str
    payee_account_no: str
    amount: str
    xpay_amt: str


class PaymentVoucherDetailOut(PaymentVoucherOut):
    timeline: list[PaymentVoucherEventOut]
    details: list[PaymentVoucherLineOut]


class PaymentVoucherPage(Schema):
    count: int
    items: list[PaymentVoucherOut]


class ContractOut(Schema):
    id: int
    number: str
    name: str
    unit_id: int
    region_code: str
    payee_name: str
    amount: str
    committed: str
    paid: str
    status: str
    indicator_id: int | None
    plan_id: int | None = None
    schedule: list[dict] = []


class ContractPage(Schema):
    count: int
    items: list[ContractOut]


class AllocationOut(Schema):
    id: int
    number: str
    region_code: str
    alloc_type: str
    indicator_id: int
    amount: str
    status: str
    payee_name: str
    payee_account_no: str
    purpose: str
    voucher_id: int | None
    voucher_state: str


class AllocationPage(Schema):
    count: int
    items: list[AllocationOut]


class RunDifferenceOut(Schema):
    id: int
    kind: str
    kind_display: str
    voucher_no: str
    voucher_id: int | None
    our_amount: str
    bank_amount: str
    note: str
    status: str


class ReconRunOut(Schema):
    id: int
    region_code: str
    run_date: str
    agent_bank_code: str
    voucher_count: int
    voucher_amount: str
    bank_count: int
    bank_amount: str
    has_statement: bool
    difference_count: int


class ReconRunDetailOut(ReconRunOut):
    differences: list[RunDifferenceOut]


class ReconRunPage(Schema):
    count: int
    items: list[ReconRunOut]


class DifferenceOut(Schema):
    id: int
    run_id: int | None
    region_code: str
    kind: str
    kind_display: str
    voucher_no: str
    voucher_id: int | None
    our_amount: str
    bank_amount: str
    note: str
    reason_code: str
    assignee_role: str
    bank_message_id: int | None
    status: str
    status_display: str
    resolution: str


class DifferencePage(Schema):
    count: int
    items: list[DifferenceOut]


class BusinessTypeOut(Schema):
    code: str
    name: str
    debit_account: str
    derive_eco: list[str]
    allowed_eco: list[str]

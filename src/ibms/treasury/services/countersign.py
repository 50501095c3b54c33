"""The unit's signature when the finance reviews last: in a chain whose last step is held by the finance, the unit's
approver (the step held by the unit) signs with their own key, opened with their PIN, at their step — before the
voucher exists, so over the payment's content the voucher will carry unchanged (`banks.protocol.unit_content`).
The signature is kept on the request (cleared when it is returned or withdrawn) and carried in the voucher's header,
where the bank checks it against the unit's registered signers."""

from __future__ import annotations

from ibms.banks import protocol
from ibms.core import audit, workflow
from ibms.core.errors import invalid

from ..models import PaymentRequest


def countersign_step(steps: list[workflow.Step]) -> int:
    """The order of the unit's step that signs the content (the last unit-held step before a finance-held last
    step); 0 when the chain has none."""
    if len(steps) < 2 or steps[-1].holder != "finance":
        return 0
    return next((st.order for st in reversed(steps[:-1]) if st.holder == "unit"), 0)


def _content_fields(req: PaymentRequest) -> tuple[dict, list[dict]]:
    """The content as `_issue_voucher` will put it in the voucher's header and details."""
    fields = {"AgencyCode": req.unit.code, "PayAppNo": req.number, "PayAmt": req.amount, "PayAcctNo": req.pay_acct_no,
              "PayeeAcctNo": req.payee_account_no, "PayeeAcctName": req.payee_name,
              "ExpFuncCode": req.exp_func_code, "ExpEcoCode": req.dep_eco_code}
    if req.is_batch:
        details = [{"PayeeAcctNo": ln.payee_account_no, "PayeeAcctName": ln.payee_name, "PayAmt": ln.amount}
                   for ln in req.lines.order_by("seq")]
    else:
        details = [{"PayeeAcctNo": req.payee_account_no, "PayeeAcctName": req.payee_name, "PayAmt": req.amount}]
    return fields, details


def payment_content(req: PaymentRequest) -> bytes:
    fields, details = _content_fields(req)
    return protocol.unit_content(req.region_code, req.year, fields, details)


def countersign_store(req: PaymentRequest, personal) -> None:
    """Sign `req`'s content with the unit approver's opened key (`banks.signer_unlock`) and keep it on `req`."""
    sig = protocol.unit_countersign(personal.provider, payment_content(req))
    audit.update_fields(req, unit_signer=personal.signer, unit_signer_fingerprint=sig[protocol.UNIT_SIGNER_FIELD],
                        unit_signature=sig[protocol.UNIT_SIGNATURE_FIELD])


def countersign_clear(req: PaymentRequest) -> None:
    if req.unit_signer_id or req.unit_signature:
        audit.update_fields(req, unit_signer=None, unit_signer_fingerprint="", unit_signature="")


def countersign_header(req: PaymentRequest, steps: list[workflow.Step]) -> dict:
    """The header fields carrying the unit's signature, for the voucher of `req`; {} when the chain needs none.
    Refused (`unit_signature_missing`) when it needs one and the unit's step left none."""
    if not countersign_step(steps):
        return {}
    if not req.unit_signer_id or not req.unit_signature:
        raise invalid("unit_signature_missing", "单位审核环节未留下签名人签名，不能签发支付凭证，请退回后重新提交审核",
                      "pin")
    return {protocol.UNIT_SIGNER_FIELD: req.unit_signer_fingerprint, protocol.UNIT_SIGNATURE_FIELD: req.unit_signature}

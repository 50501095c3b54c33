"""Outbound vouchers: :func:`voucher_dispatch` (inside the caller's transaction) builds, seals, stores and enqueues
outbox topic ``banks.send``; the worker POSTs it and hands the bank's ack to the ``ack`` handler
(:mod:`ibms.banks.inbound`). HTTP 503 or a refused connection (nothing delivered) is retried by the outbox with the
same message; a timeout, a lost connection or an ack that does not verify is an ``unknown`` outcome — resolved only
by a status query (or reconciliation); re-sending the same voucher number is safe (the bank pays a number at most
once)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from ibms.core import audit, outbox
from ibms.core.crypto import sm3_hex
from ibms.core.errors import invalid
from ibms.core.faults import crash_point
from ibms.core.transactions import in_callers_transaction

from .. import inbound, protocol
from ..keys import signer_for
from ..models import BankEndpoint, BankMessage, Signer, SigningKey
from ..selectors import endpoint_find
from .endpoints import _trust_register, _trusted_record
from .feed import _record_rejected
from .signers import PersonalSigner, _signers_register
from .transport import OutcomeUnknown, _http, _trusted, _url

SEND_TOPIC = "banks.send"
M = BankMessage.Status


@in_callers_transaction
def voucher_dispatch(*, actor, region_code: str, year: int, vt_code: str, voucher_no: str, agent_bank_code: str,
                     header: dict, details: list[dict], signers: list[SigningKey],
                     personal: Sequence[PersonalSigner] = (), unit_path: str | None = None,
                     unit_signer: Signer | None = None) -> BankMessage:
    """Build, seal (every seal key in ``signers``, kind = its owner), sign with the approving persons' own keys
    (``personal``, opened with their PINs by :func:`~.signers.signer_unlock`; at least one), store and enqueue a
    payment voucher for sending. The worker sends the stored message: it never signs. ``unit_signer``: the unit's
    signer whose earlier signature of the content (:func:`~ibms.banks.protocol.unit_content`) ``header`` carries.

    Authorization is the caller's. Calling it again for the same (region, year, voucher no) re-sends the stored
    message unchanged — the only retry."""
    with transaction.atomic():
        ep = endpoint_find(region_code, agent_bank_code)
        identity = f"{region_code}/{year}/{voucher_no}"
        existing = (BankMessage.objects.select_for_update()
                    .filter(endpoint=ep, direction=BankMessage.Direction.OUT, kind="voucher", identity=identity).first())
        if existing is not None:
            existing.status = M.PENDING
            existing.save(update_fields=["status", "updated_at"])
            outbox.enqueue(SEND_TOPIC, {"message_id": existing.pk}, key=identity)
            audit.record_event("banks.voucher_resent", region_code=region_code, obj=existing,
                               message=f"支付凭证 {voucher_no} 同号重发")
            return existing
        if not signers:
            raise invalid("signer_required", "支付凭证必须至少有一个签章", "signers")
        persons = {}
        try:
            msg = protocol.build("voucher", region_code=region_code, year=year, vt_code=vt_code, voucher_no=voucher_no,
                                 fields=header, details=details)
            for k in signers:
                protocol.sign(msg, signer_for(k), kind=k.owner)
            for p in personal:
                protocol.sign(msg, p.provider, kind=p.kind)
                persons[msg.stamps[-1].position] = p.signer
            xml = protocol.to_xml(msg)
        except protocol.ProtocolError as exc:
            raise invalid("bank_message_invalid", f"支付凭证报文不合规（{exc.code}）：{exc.detail}", "header") from None
        if not personal:
            raise invalid("personal_signature_required", "支付凭证须由审批人以本人签名证书签名", "pin")
        if unit_path is None:
            unit_path = next((k.unit_path for k in signers if k.owner == SigningKey.Owner.UNIT), "")
        bm = BankMessage.objects.create(
            endpoint=ep, direction=BankMessage.Direction.OUT, kind="voucher", region_code=region_code,
            unit_path=unit_path, year=year, vt_code=vt_code, voucher_no=voucher_no, msg_id=msg.msg_id,
            identity=identity, raw_xml=xml.decode("utf-8"), digest=sm3_hex(xml), amount=header.get("PayAmt", 0),
            verified=True, verify_result={"stamps": [_stamp(s, persons.get(s.position)) for s in msg.stamps] + (
                [{"kind": "unit", "fingerprint": unit_signer.fingerprint, "position": 0, "content": True,
                  "signer_id": unit_signer.pk, "signer": unit_signer.name}] if unit_signer is not None else [])},
            status=M.PENDING)
        outbox.enqueue(SEND_TOPIC, {"message_id": bm.pk}, key=identity)
        names = "、".join(([unit_signer.name] if unit_signer is not None else []) + [p.signer.name for p in personal])
        audit.record_event("banks.voucher_dispatched", region_code=region_code, obj=bm,
                           message=f"支付凭证 {voucher_no}（{vt_code}）已由 {names} 签名、签章并提交发送队列，"
                                   f"{len(details)} 笔明细")
        return bm


def _stamp(st: protocol.Stamp, person: Signer | None) -> dict:
    out = {"kind": st.kind, "fingerprint": st.fingerprint, "position": st.position}
    if person is not None:
        out.update(signer_id=person.pk, signer=person.name)
    return out


@outbox.handler(SEND_TOPIC, outside_transaction=True)
def _send(ob) -> None:
    """Worker: POST the voucher, then record the ack (or the unknown outcome) and hand it to the ``ack`` handler.

    Runs outside any transaction (the outbox has claimed the message for a lease): each bank call — the
    simulator's key registration, the POST — happens with nothing locked, and what it answered is recorded in a
    short transaction of its own. A crash between the POST and the record leaves the message pending; when the
    lease runs out it is sent again and the bank answers ``duplicate``."""
    pk = ob.payload["message_id"]
    bm = BankMessage.objects.select_related("endpoint").filter(pk=pk).first()
    if bm is None or bm.status != M.PENDING:
        return
    ep = bm.endpoint
    fps = {s["fingerprint"] for s in bm.verify_result.get("stamps", [])}
    missing = fps - set(ep.trusted_keys or [])
    persons = [x for x in Signer.objects.filter(fingerprint__in=fps)
               if x.fingerprint in missing or x.status == Signer.Status.REVOKED]  # a revocation the bank may not know
    if ep.admin_token and (missing or persons):
        added = _trust_register(ep, SigningKey.objects.filter(fingerprint__in=missing))
        added += _signers_register(ep, persons)
        with transaction.atomic(durable=True):
            ep = BankEndpoint.objects.select_for_update().get(pk=ep.pk)
            _trusted_record(ep, added)
    try:
        status, body = _http("POST", _url(ep, "/api/vouchers"), data=bm.raw_xml.encode("utf-8"),
                             headers={"Content-Type": "application/xml; charset=utf-8"}, timeout=ep.timeout_seconds)
        unknown = None
    except OutcomeUnknown as exc:
        status, body, unknown = 0, b"", exc
    crash_point("banks.send.after_post")
    with transaction.atomic(durable=True):
        bm = BankMessage.objects.select_for_update(of=("self",)).filter(pk=pk).first()
        if bm is None or bm.status != M.PENDING:
            return  # resolved meanwhile (a status query): the bank has the number, which it pays at most once
        ep = BankEndpoint.objects.get(pk=bm.endpoint_id)
        bm.attempts += 1
        if unknown is not None:
            return _ack_unknown(bm, "timeout" if "timeout" in str(unknown) else "connection_lost", str(unknown))
        if status != 200:
            return _ack_unknown(bm, f"http_{status}", body[:300].decode("utf-8", "replace"))
        _ack_received(bm, ep, body)


def _ack_unknown(bm: BankMessage, code: str, detail: str, inbound_id: int | None = None) -> None:
    bm.status, bm.result_code, bm.error = M.UNKNOWN, code, detail[:2000]
    bm.save(update_fields=["status", "result_code", "error", "attempts", "updated_at"])
    _hand_ack(bm, {"Result": "unknown", "ReasonCode": code, "Reason": detail[:300]}, inbound_id)


def _hand_ack(bm: BankMessage, fields: dict, inbound_id: int | None) -> None:
    fn = inbound.handler_for("ack")
    if fn is not None:
        fn(inbound.InboundMessage(kind="ack", vt_code=bm.vt_code, voucher_no=bm.voucher_no, region_code=bm.region_code,
                                  year=bm.year, fields=fields, details=[], message_id=inbound_id, outbound_id=bm.pk))


def _ack_received(bm: BankMessage, ep: BankEndpoint, body: bytes) -> None:
    raw = body.decode("utf-8", "replace")
    try:
        msg = protocol.parse(body)
        check = protocol.verify(msg, _trusted(ep), required_kinds=("bank",))
        code = check.code if not check.ok else ""
        if check.ok and (msg.kind != "ack" or msg.key != (bm.region_code, bm.year, bm.voucher_no)):
            code = "ack_mismatch"
    except protocol.ProtocolError as exc:
        msg, check, code = None, None, exc.code
    if code:
        rec = _record_rejected(ep, raw, code, msg, check, related=bm)
        return _ack_unknown(bm, f"bad_ack:{code}", "银行应答未通过验签或格式校验，结果未知", rec.pk if rec else None)
    result = msg.fields["Result"]
    rec = BankMessage.objects.create(
        endpoint=ep, direction=BankMessage.Direction.IN, kind="ack", region_code=bm.region_code,
        unit_path=bm.unit_path, year=bm.year, vt_code=bm.vt_code, voucher_no=bm.voucher_no, msg_id=msg.msg_id,
        identity=f"ack/{bm.pk}/{bm.attempts}", raw_xml=raw, digest=sm3_hex(body), verified=True,
        verify_result=check.as_dict(), status=M.APPLIED, result_code=result, related=bm, applied_at=timezone.now(),
        error=str(msg.fields.get("Reason", "")))
    bm.status = {"accepted": M.ACCEPTED, "duplicate": M.DUPLICATE, "rejected": M.REJECTED}[result]
    bm.result_code = msg.fields.get("ReasonCode", "") or result
    bm.error = str(msg.fields.get("Reason", ""))
    bm.save(update_fields=["status", "result_code", "error", "attempts", "updated_at"])
    _hand_ack(bm, dict(msg.fields), rec.pk)

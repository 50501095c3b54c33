"""Bank interface services: endpoints, seal keys, sending vouchers, reading the bank's feed, queries, statements.

Outbound: :func:`voucher_dispatch` (inside the caller's transaction) builds, seals, stores and enqueues outbox topic
``banks.send``; the worker POSTs it and hands the bank's ack to the ``ack`` handler (:mod:`ibms.banks.inbound`).
HTTP 503 or a refused connection (nothing delivered) is retried by the outbox with the same message; a timeout,
a lost connection or an ack that does not verify is an ``unknown`` outcome — resolved only by :func:`voucher_query`
(or reconciliation); re-sending the same voucher number is safe (the bank pays a number at most once).

Inbound: periodic ``banks.poll`` reads ``GET /api/messages?after=<cursor>``, verifies the bank seal (a tampered or
unsigned message is recorded as rejected and never applied) and applies each message once: the unique key is
(direction, kind, identity) — across endpoints — where identity is the voucher / refund / clearing / statement identity, never the feed
seq, so duplicates, replays under a new seq and reordering change nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ibms.core import audit, outbox
from ibms.core.context import acting, actor_of
from ibms.core.crypto import generate_sm2_keypair, public_key_fingerprint, sm3_hex
from ibms.core.errors import Conflict, invalid
from ibms.core.faults import crash_point
from ibms.core.scoping import check_write_scope, require_perm

from . import inbound, protocol
from .keys import encrypt_private, signer_for
from .models import BankEndpoint, BankMessage, FeedCursor, SigningKey

log = logging.getLogger("ibms.banks")
SEND_TOPIC = "banks.send"
M = BankMessage.Status
FEED_KINDS = frozenset({"receipt", "return", "refund", "clearing", "statement", "status"})


class BankUnavailable(Exception):
    """Nothing was delivered (connection refused, HTTP 503): safe to retry with the same message."""


class OutcomeUnknown(Exception):
    """The request may or may not have reached the bank (timeout, connection lost)."""


# --- HTTP -------------------------------------------------------------------------------------------------------

def _http(method: str, url: str, *, data: bytes | None = None, headers: dict | None = None,
          timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 - bank URL
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured bank URL
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read() if exc.fp else b""
        if exc.code == 503:
            raise BankUnavailable(f"HTTP 503 {body[:200]!r}") from None
        return exc.code, body
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            raise BankUnavailable(f"connection refused: {url}") from None
        if isinstance(reason, TimeoutError | socket.timeout):
            raise OutcomeUnknown(f"timeout after {timeout}s") from None
        raise OutcomeUnknown(f"network error: {reason}") from None
    except ConnectionRefusedError:
        raise BankUnavailable(f"connection refused: {url}") from None
    except TimeoutError:
        raise OutcomeUnknown(f"timeout after {timeout}s") from None
    except (ConnectionError, OSError) as exc:  # reset / broken pipe / remote closed mid-answer
        raise OutcomeUnknown(f"connection lost: {exc.__class__.__name__}") from None


def _json(method: str, url: str, payload: dict | None = None, *, token: str = "", timeout: float = 10.0) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Admin-Token"] = token
    status, body = _http(method, url, data=json.dumps(payload).encode() if payload is not None else None,
                         headers=headers, timeout=timeout)
    if status != 200:
        raise OutcomeUnknown(f"HTTP {status}: {body[:200]!r}")
    return json.loads(body)


def _url(ep: BankEndpoint, path: str) -> str:
    return ep.base_url.rstrip("/") + path


def _trusted(ep: BankEndpoint) -> dict[str, str]:
    return {ep.bank_fingerprint: ep.bank_public_pem} if ep.bank_fingerprint else {}


# --- endpoints and keys -----------------------------------------------------------------------------------------

def endpoint_register(*, actor, agent_bank_code: str, region_code: str, base_url: str, name: str = "",
                      timeout_seconds: float = 10.0, admin_token: str = "", public_pem: str = "",
                      poll_limit: int = 200) -> BankEndpoint:
    """Register (or update) an agent bank for a region. Fetches the bank's public key from ``GET /api/public-key``
    unless ``public_pem`` is given. With ``admin_token`` (the simulator only) our active seal keys of the region are
    registered with the bank's trust endpoint; a real bank receives our certificates out of band."""
    require_perm(actor, "banks.add_bankendpoint")
    check_write_scope(actor, region_code=region_code)
    if not public_pem:
        try:
            info = _json("GET", base_url.rstrip("/") + "/api/public-key", timeout=timeout_seconds)
        except (BankUnavailable, OutcomeUnknown, ValueError) as exc:
            raise invalid("bank_unreachable", f"无法从代理银行获取公钥：{exc}", "base_url") from None
        public_pem = info.get("public_pem", "")
    try:
        fingerprint = public_key_fingerprint(public_pem)
    except Exception:  # noqa: BLE001 - any unusable key
        raise invalid("bad_public_key", "代理银行公钥不是有效的 SM2 公钥", "public_pem") from None
    with transaction.atomic(durable=True):
        ep = BankEndpoint.objects.select_for_update().filter(region_code=region_code,
                                                             agent_bank_code=agent_bank_code).first()
        before = audit.snapshot(ep) if ep else None
        if ep is None:
            ep = BankEndpoint(region_code=region_code, agent_bank_code=agent_bank_code)
        ep.name, ep.base_url, ep.timeout_seconds, ep.poll_limit = name or ep.name, base_url, timeout_seconds, poll_limit
        new_bank = bool(ep.bank_fingerprint) and ep.bank_fingerprint != fingerprint
        if admin_token or new_bank:
            ep.trusted_keys = []  # a (possibly reset) simulator or another bank: register our keys again
        ep.bank_public_pem, ep.bank_fingerprint, ep.admin_token = public_pem, fingerprint, admin_token
        ep.save()
        cursor, _ = FeedCursor.objects.get_or_create(endpoint=ep)
        if new_bank and cursor.last_seq:  # its feed starts over; what was applied stays applied (by identity)
            cursor.last_seq = 0
            cursor.save(update_fields=["last_seq", "updated_at"])
        audit.record_change(ep, "update" if before else "create", before)
        audit.record_event("banks.endpoint_registered", region_code=region_code, obj=ep,
                           message=f"代理银行 {agent_bank_code} 接口登记，公钥指纹 {fingerprint[:16]}")
    if admin_token:
        keys = list(SigningKey.objects.filter(region_code=region_code, active=True))
        try:
            with transaction.atomic(durable=True):
                ep = BankEndpoint.objects.select_for_update().get(pk=ep.pk)
                _ensure_trusted(ep, keys)
        except (BankUnavailable, OutcomeUnknown, ValueError) as exc:
            raise invalid("bank_trust_failed", f"未能在银行模拟器登记本方签章公钥：{exc}", "admin_token") from None
    return ep


def _ensure_trusted(ep: BankEndpoint, keys) -> None:
    """Simulator only: register seal keys the bank does not know yet (runs inside a transaction holding ``ep``)."""
    if not ep.admin_token:
        return
    known = set(ep.trusted_keys or [])
    added = []
    for k in keys:
        if k.fingerprint in known:
            continue
        _json("POST", _url(ep, "/admin/trust"), {"public_pem": k.public_pem, "label": str(k)},
              token=ep.admin_token, timeout=ep.timeout_seconds)
        known.add(k.fingerprint)
        added.append(k.fingerprint)
    if added:
        ep.trusted_keys = sorted(known)
        ep.save(update_fields=["trusted_keys"])


def endpoint_for(region_code: str, agent_bank_code: str | None = None) -> BankEndpoint:
    qs = BankEndpoint.objects.filter(region_code=region_code, enabled=True)
    if agent_bank_code:
        qs = qs.filter(agent_bank_code=agent_bank_code)
    eps = list(qs[:2])
    if len(eps) != 1:
        raise invalid("no_bank_endpoint", f"财政区划 {region_code} 未登记代理银行 {agent_bank_code or ''} 的接口".replace(
            "  ", " "), "agent_bank_code")
    return eps[0]


def _new_key(*, region_code: str, owner: str, unit=None, label: str) -> SigningKey:
    kp = generate_sm2_keypair()
    fp = public_key_fingerprint(kp.public_pem)
    key = SigningKey(region_code=region_code, owner=owner, unit=unit, unit_path=unit.path if unit else "",
                     label=label, public_pem=kp.public_pem.decode("ascii"), fingerprint=fp,
                     private_encrypted=encrypt_private(kp.private_pem, fp))
    try:
        with transaction.atomic():
            key.save()
    except IntegrityError:  # created meanwhile by a concurrent transaction
        return None
    audit.record_change(key, "create")
    audit.record_event("banks.key_created", region_code=region_code, obj=key, message=f"生成签章密钥 {label}")
    return key


def signing_key_for_unit(unit) -> SigningKey:
    """The unit's active seal key, created on demand (audited). Runs inside the caller's transaction."""
    with transaction.atomic():
        key = SigningKey.objects.filter(owner=SigningKey.Owner.UNIT, unit=unit, region_code=unit.region_code,
                                        active=True).first()
        return key or _new_key(region_code=unit.region_code, owner=SigningKey.Owner.UNIT, unit=unit,
                               label=f"{unit.name}（单位签章）") or signing_key_for_unit(unit)


def signing_key_for_finance(region_code: str) -> SigningKey:
    """The region finance's active seal key, created on demand (audited). Runs inside the caller's transaction."""
    with transaction.atomic():
        key = SigningKey.objects.filter(owner=SigningKey.Owner.FINANCE, unit__isnull=True, region_code=region_code,
                                        active=True).first()
        return key or _new_key(region_code=region_code, owner=SigningKey.Owner.FINANCE,
                               label=f"{region_code} 财政签章") or signing_key_for_finance(region_code)


# --- outbound vouchers ------------------------------------------------------------------------------------------

def voucher_dispatch(*, actor, region_code: str, year: int, vt_code: str, voucher_no: str, agent_bank_code: str,
                     header: dict, details: list[dict], signers: list[SigningKey],
                     unit_path: str | None = None) -> BankMessage:
    """Build, seal (every signer, kind = its owner), store and enqueue a payment voucher for sending.

    Runs **inside the caller's transaction** (plain ``atomic``); authorization is the caller's. Calling it again for
    the same (region, year, voucher no) re-sends the stored message unchanged — the only retry."""
    with transaction.atomic():
        ep = endpoint_for(region_code, agent_bank_code)
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
        try:
            msg = protocol.build("voucher", region_code=region_code, year=year, vt_code=vt_code, voucher_no=voucher_no,
                                 fields=header, details=details)
            for k in signers:
                protocol.sign(msg, signer_for(k), kind=k.owner)
            xml = protocol.to_xml(msg)
        except protocol.ProtocolError as exc:
            raise invalid("bank_message_invalid", f"支付凭证报文不合规（{exc.code}）：{exc.detail}", "header") from None
        if unit_path is None:
            unit_path = next((k.unit_path for k in signers if k.owner == SigningKey.Owner.UNIT), "")
        bm = BankMessage.objects.create(
            endpoint=ep, direction=BankMessage.Direction.OUT, kind="voucher", region_code=region_code,
            unit_path=unit_path, year=year, vt_code=vt_code, voucher_no=voucher_no, msg_id=msg.msg_id,
            identity=identity, raw_xml=xml.decode("utf-8"), digest=sm3_hex(xml), amount=header.get("PayAmt", 0),
            verified=True, verify_result={"stamps": [{"kind": s.kind, "fingerprint": s.fingerprint,
                                                      "position": s.position} for s in msg.stamps]},
            status=M.PENDING)
        outbox.enqueue(SEND_TOPIC, {"message_id": bm.pk}, key=identity)
        audit.record_event("banks.voucher_dispatched", region_code=region_code, obj=bm,
                           message=f"支付凭证 {voucher_no}（{vt_code}）已签章并提交发送队列，{len(details)} 笔明细")
        return bm


@outbox.handler(SEND_TOPIC)
def _send(ob) -> None:
    """Worker: POST the voucher; the ack (or the unknown outcome) goes to the ``ack`` handler in this transaction."""
    bm = BankMessage.objects.select_for_update(of=("self",)).select_related("endpoint").filter(pk=ob.payload["message_id"]).first()
    if bm is None or bm.status != M.PENDING:
        return
    ep = BankEndpoint.objects.get(pk=bm.endpoint_id)
    fps = {s["fingerprint"] for s in bm.verify_result.get("stamps", [])}
    if ep.admin_token and not fps <= set(ep.trusted_keys or []):
        # lock the endpoint only to register new seal keys, so that sends to one bank don't queue on its row
        ep = BankEndpoint.objects.select_for_update().get(pk=bm.endpoint_id)
        _ensure_trusted(ep, SigningKey.objects.filter(fingerprint__in=fps))
    bm.attempts += 1
    try:
        status, body = _http("POST", _url(ep, "/api/vouchers"), data=bm.raw_xml.encode("utf-8"),
                             headers={"Content-Type": "application/xml; charset=utf-8"}, timeout=ep.timeout_seconds)
    except OutcomeUnknown as exc:
        return _ack_unknown(bm, "timeout" if "timeout" in str(exc) else "connection_lost", str(exc))
    crash_point("banks.send.after_post")
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


# --- inbound ----------------------------------------------------------------------------------------------------

def _identity(msg: protocol.Message) -> str:
    base = f"{msg.region_code}/{msg.year}/{msg.voucher_no}"
    if msg.kind == "status":
        return f"status/{msg.msg_id}"
    if msg.kind == "statement":
        content = json.dumps([msg.fields, msg.details], sort_keys=True, ensure_ascii=False)
        return f"{msg.region_code}/{msg.fields['StatementDate']}/{sm3_hex(content.encode())[:24]}"
    return base  # receipt / return: the voucher; refund: the refund no; clearing: the clearing no


def _unit_path_of(ep: BankEndpoint, msg: protocol.Message) -> str:
    no = msg.fields.get("OriVoucherNo") if msg.kind == "refund" else msg.voucher_no
    if msg.kind in ("clearing", "statement"):
        return ""
    return (BankMessage.objects.filter(endpoint=ep, direction=BankMessage.Direction.OUT, kind="voucher",
                                       identity=f"{msg.region_code}/{msg.year}/{no}")
            .values_list("unit_path", flat=True).first() or "")


def _record_rejected(ep: BankEndpoint, raw: str, code: str, msg: protocol.Message | None,
                     check: protocol.VerifyResult | None, *, seq: int | None = None,
                     related: BankMessage | None = None) -> BankMessage | None:
    digest = sm3_hex(raw.encode("utf-8"))
    try:
        with transaction.atomic():
            rec = BankMessage.objects.create(
                endpoint=ep, direction=BankMessage.Direction.IN, kind=msg.kind if msg else "invalid",
                region_code=msg.region_code if msg else ep.region_code, year=msg.year if msg else 0,
                vt_code=msg.vt_code if msg else "", voucher_no=msg.voucher_no if msg else "",
                unit_path=_unit_path_of(ep, msg) if msg else "", msg_id=msg.msg_id if msg else "",
                identity=f"rejected/{digest}", seq=seq, raw_xml=raw, digest=digest, verified=False,
                verify_result=check.as_dict() if check else {"ok": False, "code": code}, status=M.REJECTED,
                result_code=code, error="报文未通过验签或格式校验，未处理", related=related)
    except IntegrityError:
        return None  # the same bytes were rejected before
    log.warning("bank message rejected (%s) from %s: %s %s", code, ep.agent_bank_code,
                msg.kind if msg else "?", msg.voucher_no if msg else "")
    audit.record_event("banks.message_rejected", region_code=ep.region_code, obj=rec,
                       message=f"拒收银行报文（{code}）：{rec.kind} {rec.voucher_no}")
    return rec


def _inbound_of(row: BankMessage, msg: protocol.Message) -> inbound.InboundMessage:
    return inbound.InboundMessage(kind=msg.kind, vt_code=msg.vt_code, voucher_no=msg.voucher_no,
                                  region_code=msg.region_code, year=msg.year, fields=dict(msg.fields),
                                  details=list(msg.details), message_id=row.pk)


def _apply(row: BankMessage, msg: protocol.Message) -> str:
    """Hand a verified message to its handler in the current transaction; applied exactly once (row locked)."""
    fn = inbound.handler_for(msg.kind)
    if fn is None:
        row.status, row.error = M.DEFERRED, "no handler registered"
        row.save(update_fields=["status", "error", "attempts", "updated_at"])
        return "deferred"
    row.attempts += 1
    try:
        with transaction.atomic():
            fn(_inbound_of(row, msg))
    except inbound.Defer as exc:
        row.status, row.error = M.DEFERRED, str(exc) or "deferred by handler"
        row.save(update_fields=["status", "error", "attempts", "updated_at"])
        return "deferred"
    except inbound.Quarantine as exc:
        return _quarantine(row, msg, exc.code, exc.reason)
    except Exception as exc:  # noqa: BLE001 - kept pending and retried on the next poll, a few times
        log.warning("bank message %s (%s %s) handler failed: %s", row.pk, msg.kind, msg.voucher_no, exc)
        if row.attempts >= settings.IBMS_BANK_MAX_ATTEMPTS:
            return _quarantine(row, msg, "handler_failed", f"处理失败 {row.attempts} 次：{type(exc).__name__}: {exc}")
        row.status, row.error = M.DEFERRED, f"{type(exc).__name__}: {exc}"[:2000]
        row.save(update_fields=["status", "error", "attempts", "updated_at"])
        return "error"
    row.status, row.error, row.applied_at = M.APPLIED, "", timezone.now()
    row.save(update_fields=["status", "error", "attempts", "applied_at", "updated_at"])
    return "applied"


def _quarantine(row: BankMessage, msg: protocol.Message, code: str, reason: str) -> str:
    """Held for a person: marked `quarantine` (not applied, not retried) and handed to the quarantine hook."""
    log.warning("bank message %s (%s %s) quarantined: %s %s", row.pk, msg.kind, msg.voucher_no, code, reason)
    row.status, row.result_code, row.error = M.QUARANTINE, code[:40], reason[:2000]
    row.save(update_fields=["status", "result_code", "error", "attempts", "updated_at"])
    hook = inbound.quarantine_hook()
    if hook is not None:
        hook(_inbound_of(row, msg), code, reason)
    audit.record_event("banks.message_quarantined", region_code=row.region_code, obj=row,
                       message=f"银行报文已隔离待查（{code}）：{row.kind} {row.voucher_no}")
    return "quarantined"


def message_reapply(*, region_code: str, message_id: int) -> str:
    """Apply a quarantined message again once its cause is fixed — **inside the caller's transaction** (the
    treasury service that resolves the difference owns it and checked the permission)."""
    row = (BankMessage.objects.select_for_update()
           .filter(pk=message_id, region_code=region_code, direction=BankMessage.Direction.IN,
                   status=M.QUARANTINE).first())
    if row is None:
        raise Conflict("message_not_quarantined", "该银行报文不处于隔离待查状态")
    row.attempts = 0
    return _apply(row, protocol.parse(row.raw_xml.encode("utf-8")))


def receive(ep: BankEndpoint, raw: str, *, seq: int | None = None, kinds=FEED_KINDS) -> tuple[str, BankMessage | None]:
    """Verify, record and apply one inbound message (own transaction). Returns (outcome, record):
    outcome is applied | deferred | error | duplicate | rejected."""
    try:
        msg = protocol.parse(raw.encode("utf-8"))
        done = (BankMessage.objects.filter(direction=BankMessage.Direction.IN, kind=msg.kind, identity=_identity(msg))
                .exclude(status=M.DEFERRED).first() if msg.kind in kinds else None)
        if done is not None:
            return "duplicate", done  # already applied: nothing to verify or do (a replayed or re-read message)
        check = protocol.verify(msg, _trusted(ep), required_kinds=("bank",))
        code = "" if check.ok else check.code
        if not code and msg.kind not in kinds:
            code = "unexpected_kind"
    except protocol.ProtocolError as exc:
        msg, check, code = None, None, exc.code
    with transaction.atomic():
        if code:
            return "rejected", _record_rejected(ep, raw, code, msg, check, seq=seq)
        identity = _identity(msg)
        row = (BankMessage.objects.select_for_update()
               .filter(direction=BankMessage.Direction.IN, kind=msg.kind, identity=identity).first())
        if row is not None and row.status != M.DEFERRED:
            return "duplicate", row
        if row is None:
            try:
                with transaction.atomic():
                    row = BankMessage.objects.create(
                        endpoint=ep, direction=BankMessage.Direction.IN, kind=msg.kind, region_code=msg.region_code,
                        unit_path=_unit_path_of(ep, msg), year=msg.year, vt_code=msg.vt_code,
                        voucher_no=msg.voucher_no, msg_id=msg.msg_id, identity=identity, seq=seq, raw_xml=raw,
                        digest=sm3_hex(raw.encode("utf-8")), amount=_amount_of(msg), verified=True,
                        verify_result=check.as_dict(), status=M.DEFERRED)
            except IntegrityError:  # a concurrent poller recorded it first
                return "duplicate", None
        outcome = _apply(row, msg)
        crash_point("banks.receive.after_apply")
        return outcome, row


def _amount_of(msg: protocol.Message) -> int:
    for name in ("XPayAmt", "PayAmt"):
        if isinstance(msg.fields.get(name), int):
            return msg.fields[name]
    return 0


def retry_deferred(ep: BankEndpoint, *, limit: int = 200) -> int:
    """Re-run the handlers of messages left pending (Defer, a failure, or no handler then)."""
    done = 0
    ids = list(BankMessage.objects.filter(endpoint=ep, direction=BankMessage.Direction.IN, status=M.DEFERRED)
               .order_by("id").values_list("id", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            row = BankMessage.objects.select_for_update().filter(pk=pk, status=M.DEFERRED).first()
            if row is None:
                continue
            done += _apply(row, protocol.parse(row.raw_xml.encode("utf-8"))) == "applied"
    return done


@contextlib.contextmanager
def _polling(ep: BankEndpoint):
    """One poller per endpoint at a time (PostgreSQL session advisory lock): another worker skips it instead of
    reading and verifying the same page only to find every message a duplicate."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [POLL_LOCK, ep.pk])
        mine = cur.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [POLL_LOCK, ep.pk])


POLL_LOCK = 0x1B75  # advisory-lock class of the feed pollers


def poll_endpoint(ep: BankEndpoint, *, max_pages: int = 50) -> dict:
    """Read the bank's feed after the cursor and apply what is new; then retry deferred messages. Skipped (empty
    counts) while another worker polls the same endpoint."""
    with _polling(ep) as mine:
        return _poll_pages(ep, max_pages) if mine else {}


def _poll_pages(ep: BankEndpoint, max_pages: int) -> dict:
    counts: dict[str, int] = {}
    for _ in range(max_pages):
        cursor, _created = FeedCursor.objects.get_or_create(endpoint=ep)
        data = _json("GET", _url(ep, f"/api/messages?after={cursor.last_seq}&limit={ep.poll_limit}"),
                     timeout=ep.timeout_seconds)
        items = sorted(data.get("messages", []), key=lambda m: m["seq"])  # a reordered page is put back in order
        if not items:
            break
        crash_point("banks.poll.after_fetch")
        for item in items:
            outcome, _row = receive(ep, item["xml"], seq=item["seq"])
            counts[outcome] = counts.get(outcome, 0) + 1
        with transaction.atomic():
            c = FeedCursor.objects.select_for_update().get(endpoint=ep)
            c.last_seq = max(c.last_seq, items[-1]["seq"])
            c.save(update_fields=["last_seq", "updated_at"])
        if len(items) < ep.poll_limit:
            break
    counts["retried"] = retry_deferred(ep)
    return counts


def _system_actor():
    from ibms.iam.services import system_user

    return actor_of(system_user())


def poll_all() -> int:
    """Poll every enabled endpoint (the worker's periodic ``banks.poll``); returns messages applied."""
    n = 0
    with acting(_system_actor()):
        for ep in BankEndpoint.objects.filter(enabled=True).order_by("id"):
            try:
                counts = poll_endpoint(ep)
            except (BankUnavailable, OutcomeUnknown, ValueError) as exc:
                log.warning("bank feed of %s unavailable: %s", ep.agent_bank_code, exc)
                continue
            n += counts.get("applied", 0) + counts.get("retried", 0)
    return n


@outbox.periodic("banks.poll", every_seconds=settings.IBMS_BANK_POLL_SECONDS)
def _poll_job() -> int:
    return poll_all()


# --- queries ----------------------------------------------------------------------------------------------------

def _endpoint_of_voucher(region_code: str, year: int, voucher_no: str, agent_bank_code: str | None) -> BankEndpoint:
    if agent_bank_code:
        return endpoint_for(region_code, agent_bank_code)
    out = (BankMessage.objects.filter(direction=BankMessage.Direction.OUT, kind="voucher",
                                      identity=f"{region_code}/{year}/{voucher_no}").select_related("endpoint").first())
    return out.endpoint if out else endpoint_for(region_code)


def _fetch_signed(ep: BankEndpoint, path: str, kind: str, what: str) -> inbound.InboundMessage | None:
    """GET a signed answer of one kind from the bank, record it and hand it to its handler (``receive``)."""
    try:
        status, body = _http("GET", _url(ep, path), timeout=ep.timeout_seconds)
    except (BankUnavailable, OutcomeUnknown) as exc:
        raise Conflict("bank_unreachable", f"代理银行暂时无法连接，请稍后再{what}", str(exc)) from None
    if status != 200:
        raise Conflict("bank_unreachable", f"代理银行{what}失败（HTTP {status}）")
    with transaction.atomic():
        outcome, row = receive(ep, body.decode("utf-8", "replace"), kinds=frozenset({kind}))
        if outcome == "rejected" or row is None:
            return None
        return _inbound_of(row, protocol.parse(row.raw_xml.encode("utf-8")))


def voucher_query(*, actor, region_code: str, year: int, voucher_no: str,
                  agent_bank_code: str | None = None) -> inbound.InboundMessage | None:
    """Ask the bank for a voucher's state; the signed answer is recorded and handed to the ``status`` handler.

    Runs inside the caller's transaction when there is one. Returns the answer, or None when the answer did not
    verify (recorded as rejected). An unreachable bank raises Conflict ``bank_unreachable``. The actor must be
    able to write in the voucher's region (the answer changes the voucher's state)."""
    check_write_scope(actor, region_code=region_code)
    ep = _endpoint_of_voucher(region_code, year, voucher_no, agent_bank_code)
    return _fetch_signed(ep, f"/api/vouchers/{region_code}/{int(year)}/{urllib.parse.quote(voucher_no, safe='')}",
                         "status", "查询")


def statement_fetch(*, actor, agent_bank_code: str, date, region_code: str | None = None
                    ) -> inbound.InboundMessage | None:
    """Fetch the bank's signed daily statement (对账单) for ``date``; recorded once per distinct content and handed
    to the ``statement`` handler. Runs inside the caller's transaction when there is one."""
    require_perm(actor, "banks.view_bankmessage")
    qs = BankEndpoint.objects.restrict(actor).filter(agent_bank_code=agent_bank_code, enabled=True)
    eps = list((qs if region_code is None else qs.filter(region_code=region_code))[:2])
    if not eps:
        raise invalid("no_bank_endpoint", f"未登记代理银行 {agent_bank_code} 的接口", "agent_bank_code")
    if len(eps) > 1:
        raise invalid("no_bank_endpoint", f"请指定财政区划（代理银行 {agent_bank_code}）", "region_code")
    ep = eps[0]
    day = date.isoformat() if hasattr(date, "isoformat") else str(date)
    return _fetch_signed(ep, f"/api/statements?adm={ep.region_code}&date={urllib.parse.quote(day)}", "statement",
                         "获取对账单")

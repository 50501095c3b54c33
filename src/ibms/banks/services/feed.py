"""Inbound: the periodic ``banks.poll`` reads ``GET /api/messages?after=<cursor>``, verifies the bank seal (a
tampered or unsigned message is recorded as rejected and never applied) and applies each message once: the unique
key is (direction, kind, identity) — across endpoints — where identity is the voucher / refund / clearing /
statement identity, never the feed seq, so duplicates, replays under a new seq and reordering change nothing."""

from __future__ import annotations

import contextlib
import json
import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ibms.core import audit, outbox
from ibms.core.context import acting, actor_of
from ibms.core.crypto import sm3_hex
from ibms.core.errors import Conflict
from ibms.core.faults import crash_point
from ibms.core.transactions import in_callers_transaction

from .. import inbound, protocol
from ..models import BankEndpoint, BankMessage, FeedCursor
from .transport import BankUnavailable, OutcomeUnknown, _json, _trusted, _url

log = logging.getLogger("ibms.banks")
M = BankMessage.Status
FEED_KINDS = frozenset({"receipt", "return", "refund", "clearing", "statement", "status"})
POLL_LOCK = 0x1B75  # advisory-lock class of the feed pollers


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


@in_callers_transaction
def message_reapply(*, region_code: str, message_id: int) -> str:
    """Apply a quarantined message again once its cause is fixed (the treasury service that resolves the
    difference owns the transaction and checked the permission)."""
    row = (BankMessage.objects.select_for_update()
           .filter(pk=message_id, region_code=region_code, direction=BankMessage.Direction.IN,
                   status=M.QUARANTINE).first())
    if row is None:
        raise Conflict("message_not_quarantined", "该银行报文不处于隔离待查状态")
    row.attempts = 0
    return _apply(row, protocol.parse(row.raw_xml.encode("utf-8")))


def message_receive(ep: BankEndpoint, raw: str, *, seq: int | None = None,
                    kinds=FEED_KINDS) -> tuple[str, BankMessage | None]:
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


def message_retry_deferred(ep: BankEndpoint, *, limit: int = 200) -> int:
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


def endpoint_poll(ep: BankEndpoint, *, max_pages: int = 50) -> dict:
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
            outcome, _row = message_receive(ep, item["xml"], seq=item["seq"])
            counts[outcome] = counts.get(outcome, 0) + 1
        with transaction.atomic():
            c = FeedCursor.objects.select_for_update().get(endpoint=ep)
            c.last_seq = max(c.last_seq, items[-1]["seq"])
            c.save(update_fields=["last_seq", "updated_at"])
        if len(items) < ep.poll_limit:
            break
    counts["retried"] = message_retry_deferred(ep)
    return counts


def _system_actor():
    from ibms.iam.services import system_user

    return actor_of(system_user())


def endpoint_poll_all() -> int:
    """Poll every enabled endpoint (the worker's periodic ``banks.poll``); returns messages applied."""
    n = 0
    with acting(_system_actor()):
        for ep in BankEndpoint.objects.filter(enabled=True).order_by("id"):
            try:
                counts = endpoint_poll(ep)
            except (BankUnavailable, OutcomeUnknown, ValueError) as exc:
                log.warning("bank feed of %s unavailable: %s", ep.agent_bank_code, exc)
                continue
            n += counts.get("applied", 0) + counts.get("retried", 0)
    return n


@outbox.periodic("banks.poll", every_seconds=settings.IBMS_BANK_POLL_SECONDS)
def _poll_job() -> int:
    return endpoint_poll_all()

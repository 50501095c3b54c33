"""Signers (签名人): a person enrols their own SM2 key, protected by a PIN only they know, as a signer of their budget
unit or of their region's finance (:func:`signer_enrol`); the approving person's key is opened with the PIN at the
moment of approval (:func:`signer_unlock`) and signs the voucher then — it is never kept, so nobody, the worker
included, can sign later without the PIN. The signer records are registered with the agent bank like our seal
keys (the simulator: over its admin endpoint, at endpoint registration and by the worker before it sends a voucher
signed by someone the bank does not know yet); a revocation (:func:`signer_revoke`) is pushed to every bank that
knows the signer through the outbox (topic ``banks.signers``).

A wrong PIN changes nothing of the business: the key is opened before the business transaction, and the failure
is counted (in a transaction of its own, with the security event ``banks.signer_pin_failed``); after
``IBMS_SIGNER_PIN_MAX_FAILURES`` (5) failures in a row the key is locked for ``IBMS_SIGNER_PIN_LOCK_SECONDS`` (15
minutes), as a UKEY locks."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ibms.core import audit, outbox
from ibms.core.crypto import SignatureProvider
from ibms.core.errors import Conflict, NotFound, ValidationFailed, Violation, invalid
from ibms.core.scoping import CHANGE, get_in_scope, require_perm

from .. import keystore, protocol
from ..models import BankEndpoint, Signer
from .transport import _json, _url

log = logging.getLogger("ibms.banks")
P_ENROL, P_REVOKE = "banks.add_signer", "banks.change_signer"
SYNC_TOPIC = "banks.signers"
PIN_MIN, PIN_MAX = 8, 64


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, 0) or os.environ.get(name, "") or default)


@dataclass(frozen=True)
class PersonalSigner:
    """A signer's key opened with their PIN, for the signing at hand (held in memory only)."""

    signer: Signer
    provider: SignatureProvider

    @property
    def kind(self) -> str:
        return self.signer.kind

    def __repr__(self) -> str:
        return f"PersonalSigner({self.signer!r})"


def pin_violations(pin: str, pin_confirm: str | None = None) -> list[Violation]:
    """A PIN of 8 to 64 characters with letters and digits (and the same twice, when confirmed)."""
    v: list[Violation] = []
    pin = pin or ""
    if not PIN_MIN <= len(pin) <= PIN_MAX or not any(c.isdigit() for c in pin) or not any(c.isalpha() for c in pin):
        v.append(Violation("pin_weak", f"签名口令须为 {PIN_MIN} 至 {PIN_MAX} 位，且同时包含字母和数字", "pin"))
    if pin_confirm is not None and pin_confirm != pin:
        v.append(Violation("pin_mismatch", "两次输入的签名口令不一致", "pin_confirm"))
    return v


def _party(actor) -> tuple[str, object | None]:
    """The signer kind and unit of the actor's organization: a unit's (or department's) person signs for that unit,
    a finance bureau's for its region's finance."""
    org = getattr(actor, "organization", None)
    if org is not None and org.kind in ("unit", "department") and org.unit_id:
        return Signer.Kind.UNIT, org.unit
    if org is not None and org.kind == "finance":
        return Signer.Kind.FINANCE, None
    raise invalid("signer_org", "只有预算单位或财政部门的人员可以登记签名证书", "pin")


def signer_enrol(*, actor, pin: str, pin_confirm: str | None = None) -> Signer:
    """The actor enrols their own signing key under ``pin`` as a signer of their unit (or their region's finance);
    valid for ``IBMS_SIGNER_VALID_DAYS`` (365) days."""
    require_perm(actor, P_ENROL)
    kind, unit = _party(actor)
    v = pin_violations(pin, pin_confirm)
    if v:
        raise ValidationFailed(v, message="签名口令不符合要求")
    if Signer.objects.filter(user=actor, kind=kind, status=Signer.Status.ACTIVE).exists():
        raise Conflict("signer_active_exists", "您已有有效的签名证书，请先注销后再重新登记")
    provider = keystore.provider()
    material = provider.create(pin=pin, owner=str(actor.pk))  # the slow KDF, before the transaction
    now = timezone.now()
    roles = sorted(getattr(actor, "role_codes", set()))
    with transaction.atomic(durable=True):
        if Signer.objects.select_for_update().filter(user=actor, kind=kind, status=Signer.Status.ACTIVE).exists():
            raise Conflict("signer_active_exists", "您已有有效的签名证书，请先注销后再重新登记")
        sig = Signer.objects.create(
            region_code=actor.region_code, kind=kind, user=actor, unit=unit, unit_code=unit.code if unit else "",
            unit_path=unit.path if unit else "", name=(actor.real_name or actor.username)[:50],
            role=",".join(roles)[:100], provider=provider.name, public_pem=material.public_pem,
            fingerprint=material.fingerprint, key_blob=material.key_blob, kdf=material.kdf,
            kdf_salt=material.kdf_salt, kdf_iterations=material.kdf_iterations, valid_from=now,
            valid_to=now + dt.timedelta(days=_setting("IBMS_SIGNER_VALID_DAYS", 365)))
        audit.record_change(sig, "create")
        audit.record_event("banks.signer_enrolled", region_code=sig.region_code, obj=sig,
                           message=f"{sig.name} 登记为{sig.get_kind_display()}，公钥指纹 {sig.fingerprint[:16]}")
    return sig


def signer_revoke(*, actor, pk: int, reason: str = "") -> Signer:
    """Revoke a signer: one's own (with the enrol permission), or a signer in one's write scope (``change_signer``);
    every bank that knows the signer is told (outbox)."""
    with transaction.atomic(durable=True):
        own = Signer.objects.select_for_update().filter(pk=pk, user_id=getattr(actor, "pk", None)).first()
        if own is not None:
            require_perm(actor, P_ENROL)
            sig = own
        elif not actor.has_perm(P_REVOKE):  # a signer of one's own only: another's is "not found"
            require_perm(actor, P_ENROL)
            raise NotFound("签名人")
        else:
            sig = get_in_scope(Signer.objects.select_for_update(), actor, CHANGE, what="签名人", permission=P_REVOKE,
                               pk=pk)
        if sig.status == Signer.Status.REVOKED:
            return sig
        audit.update_fields(sig, status=Signer.Status.REVOKED, revoked_at=timezone.now(),
                            revoke_reason=(reason or "").strip()[:200])
        audit.record_event("banks.signer_revoked", region_code=sig.region_code, obj=sig,
                           message=f"注销签名人 {sig.name}（{sig.fingerprint[:16]}）{reason or ''}"[:300])
        known = BankEndpoint.objects.filter(region_code=sig.region_code).exclude(admin_token="")
        if any(sig.fingerprint in (ep.trusted_keys or []) for ep in known):
            outbox.enqueue(SYNC_TOPIC, {"signer_id": sig.pk}, key=f"signer/{sig.pk}")
    return sig


def signer_unlock(*, actor, kind: str, region_code: str, unit=None, pin: str) -> PersonalSigner:
    """The actor's signer key for signing a voucher of ``unit`` (kind unit) or of ``region_code``'s finance, opened
    with ``pin``. Outside any transaction: a wrong PIN is counted in a transaction of its own and refused
    (``pin_wrong``); nothing else is written."""
    sig = Signer.objects.filter(user_id=getattr(actor, "pk", None), kind=kind, status=Signer.Status.ACTIVE).first()
    if sig is None:
        raise invalid("signer_not_enrolled", "您尚未登记签名证书，不能签发支付凭证（请先在“我的签名证书”中登记）", "pin")
    if kind == Signer.Kind.UNIT and (unit is None or sig.unit_id != unit.pk):
        raise invalid("signer_not_for_unit", "您登记的签名证书不属于该单位，不能为其签发支付凭证", "pin")
    if sig.region_code != region_code:
        raise invalid("signer_not_for_region", "您登记的签名证书不属于该财政区划，不能签发其支付凭证", "pin")
    now = timezone.now()
    if not sig.valid_from <= now < sig.valid_to:
        raise invalid("signer_expired", "您的签名证书不在有效期内，请注销后重新登记", "pin")
    if sig.locked_until and sig.locked_until > now:
        until = timezone.localtime(sig.locked_until).strftime("%H:%M")
        raise invalid("pin_locked", f"签名口令连续输错次数过多，已锁定至 {until}", "pin")
    if not pin:
        raise invalid("pin_required", "签发支付凭证须输入签名口令（PIN）", "pin")
    try:
        provider = keystore.provider_for(sig).open(sig, pin=pin)
    except keystore.WrongPin:
        left = _pin_failed(sig)
        raise invalid("pin_wrong", "签名口令（PIN）不正确" + (f"，再错 {left} 次将锁定" if left else "，已锁定"),
                      "pin") from None
    if sig.pin_failures:
        with transaction.atomic(durable=True):
            Signer.objects.filter(pk=sig.pk).update(pin_failures=0, locked_until=None)
    return PersonalSigner(signer=sig, provider=provider)


def _pin_failed(sig: Signer) -> int:
    """Count a wrong PIN (own transaction); lock after too many. Returns the tries left before the lock."""
    most = _setting("IBMS_SIGNER_PIN_MAX_FAILURES", 5)
    with transaction.atomic(durable=True):
        row = Signer.objects.select_for_update().get(pk=sig.pk)
        row.pin_failures += 1
        left = max(0, most - row.pin_failures)
        if not left:
            row.pin_failures = 0
            row.locked_until = timezone.now() + dt.timedelta(seconds=_setting("IBMS_SIGNER_PIN_LOCK_SECONDS", 900))
        row.save(update_fields=["pin_failures", "locked_until"])
        audit.record_event("banks.signer_pin_failed", region_code=row.region_code, obj=row,
                           message=f"签名人 {row.name} 签名口令错误" + ("，已锁定" if not left else ""))
    log.warning("wrong signing PIN for signer %s (user %s)", sig.pk, sig.user_id)
    return left


def signer_record(sig: Signer) -> protocol.SignerRecord:
    """What the bank is given about a signer."""
    return protocol.SignerRecord(
        fingerprint=sig.fingerprint, public_pem=sig.public_pem, region_code=sig.region_code, kind=sig.kind,
        agency_code=sig.unit_code, name=sig.name, role=sig.role, valid_from=sig.valid_from.isoformat(),
        valid_to=sig.valid_to.isoformat(), revoked=sig.status == Signer.Status.REVOKED)


def _signers_register(ep: BankEndpoint, signers) -> list[str]:
    """Simulator only: register ``signers``' records (revocations included) with the bank; their fingerprints.
    Over HTTP: never inside a transaction."""
    records = [signer_record(s).as_dict() for s in signers]
    if not ep.admin_token or not records:
        return []
    _json("POST", _url(ep, "/admin/signers"), {"signers": records}, token=ep.admin_token, timeout=ep.timeout_seconds)
    return [r["fingerprint"] for r in records]


@outbox.handler(SYNC_TOPIC, outside_transaction=True)
def _sync(ob) -> None:
    """Worker: tell every simulator of the signer's region that knows the signer its current record (a revocation)."""
    sig = Signer.objects.filter(pk=ob.payload["signer_id"]).first()
    if sig is None:
        return
    for ep in BankEndpoint.objects.filter(region_code=sig.region_code, enabled=True).exclude(admin_token=""):
        if sig.fingerprint in (ep.trusted_keys or []):
            _signers_register(ep, [sig])

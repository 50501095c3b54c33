"""Agent-bank endpoints (registration fetches the bank's public key; with the simulator's admin token our seal
keys are registered with it) and our seal keys, created on demand."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from ibms.core import audit
from ibms.core.crypto import generate_sm2_keypair, public_key_fingerprint
from ibms.core.errors import invalid
from ibms.core.scoping import check_write_scope, require_perm
from ibms.core.transactions import in_callers_transaction

from ..keys import private_key_encrypt
from ..models import BankEndpoint, FeedCursor, Signer, SigningKey
from .signers import _signers_register
from .transport import BankUnavailable, OutcomeUnknown, _json, _url


def endpoint_register(*, actor, agent_bank_code: str, region_code: str, base_url: str, name: str = "",
                      timeout_seconds: float = 10.0, admin_token: str = "", public_pem: str = "",
                      poll_limit: int = 200) -> BankEndpoint:
    """Register (or update) an agent bank for a region. Fetches the bank's public key from ``GET /api/public-key``
    unless ``public_pem`` is given. With ``admin_token`` (the simulator only) our active seal keys and signers of the
    region are registered with the bank's trust and signer endpoints; a real bank receives our certificates and
    signer records out of band."""
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
        signers = list(Signer.objects.filter(region_code=region_code, status=Signer.Status.ACTIVE))
        try:
            added = _trust_register(ep, keys)  # over HTTP, before the transaction that records it
            added += _signers_register(ep, signers)
            with transaction.atomic(durable=True):
                ep = BankEndpoint.objects.select_for_update().get(pk=ep.pk)
                _trusted_record(ep, added)
        except (BankUnavailable, OutcomeUnknown, ValueError) as exc:
            raise invalid("bank_trust_failed", f"未能在银行模拟器登记本方签章公钥：{exc}", "admin_token") from None
    return ep


def _trust_register(ep: BankEndpoint, keys) -> list[str]:
    """Simulator only: register with the bank the seal keys ``ep`` does not list yet; their fingerprints."""
    if not ep.admin_token:
        return []
    known = set(ep.trusted_keys or [])
    added = []
    for k in keys:
        if k.fingerprint in known:
            continue
        _json("POST", _url(ep, "/admin/trust"), {"public_pem": k.public_pem, "label": str(k)},
              token=ep.admin_token, timeout=ep.timeout_seconds)
        known.add(k.fingerprint)
        added.append(k.fingerprint)
    return added


def _trusted_record(ep: BankEndpoint, fingerprints: list[str]) -> None:
    """Add the registered fingerprints to ``ep.trusted_keys`` (``ep`` locked by the caller)."""
    if fingerprints:
        ep.trusted_keys = sorted(set(ep.trusted_keys or []) | set(fingerprints))
        ep.save(update_fields=["trusted_keys"])


def _new_key(*, region_code: str, owner: str, unit=None, label: str) -> SigningKey:
    kp = generate_sm2_keypair()
    fp = public_key_fingerprint(kp.public_pem)
    key = SigningKey(region_code=region_code, owner=owner, unit=unit, unit_path=unit.path if unit else "",
                     label=label, public_pem=kp.public_pem.decode("ascii"), fingerprint=fp,
                     private_encrypted=private_key_encrypt(kp.private_pem, fp))
    try:
        with transaction.atomic():
            key.save()
    except IntegrityError:  # created meanwhile by a concurrent transaction
        return None
    audit.record_change(key, "create")
    audit.record_event("banks.key_created", region_code=region_code, obj=key, message=f"生成签章密钥 {label}")
    return key


@in_callers_transaction
def signing_key_ensure_for_unit(unit) -> SigningKey:
    """The unit's active seal key, created on demand (audited)."""
    with transaction.atomic():
        key = SigningKey.objects.filter(owner=SigningKey.Owner.UNIT, unit=unit, region_code=unit.region_code,
                                        active=True).first()
        return key or _new_key(region_code=unit.region_code, owner=SigningKey.Owner.UNIT, unit=unit,
                               label=f"{unit.name}（单位签章）") or signing_key_ensure_for_unit(unit)


@in_callers_transaction
def signing_key_ensure_for_finance(region_code: str) -> SigningKey:
    """The region finance's active seal key, created on demand (audited)."""
    with transaction.atomic():
        key = SigningKey.objects.filter(owner=SigningKey.Owner.FINANCE, unit__isnull=True, region_code=region_code,
                                        active=True).first()
        return key or _new_key(region_code=region_code, owner=SigningKey.Owner.FINANCE,
                               label=f"{region_code} 财政签章") or signing_key_ensure_for_finance(region_code)

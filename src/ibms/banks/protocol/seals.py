"""Seals: what each ``Stamp`` signs (C14N 2.0 of ``VoucherBody`` without its stamps), adding a stamp, and
verifying every stamp against the trusted keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ibms.core.crypto import CryptoError, SignatureProvider, public_key_fingerprint, sm2_verify

from .message import STAMP_KINDS, Message, ProtocolError, Stamp, _body_element, _c14n, _check_semantics, parse


def signed_payload(xml_or_msg) -> bytes:
    """What each Stamp signs: C14N 2.0 of VoucherBody without Stamp children."""
    if isinstance(xml_or_msg, Message):
        return _c14n(_body_element(xml_or_msg, with_stamps=False))
    return parse(xml_or_msg).payload


def sign(msg: Message, signer: SignatureProvider, *, kind: str, position: int | None = None) -> Message:
    """Add a Stamp by ``signer`` (kind unit|finance|bank) over the canonical body; returns ``msg``."""
    if kind not in STAMP_KINDS:
        raise ProtocolError("bad_stamp", f"kind {kind!r}")
    _check_semantics(msg)
    payload = signed_payload(msg)
    pos = position if position is not None else len(msg.stamps) + 1
    msg.stamps.append(Stamp(position=pos, kind=kind, fingerprint=public_key_fingerprint(signer.public_pem),
                            signature=signer.sign(payload)))
    return msg


@dataclass(frozen=True)
class StampCheck:
    position: int
    kind: str
    fingerprint: str
    trusted: bool
    valid: bool


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    code: str  # "ok" | unsigned | untrusted_key | bad_signature | missing_stamp_kind
    stamps: tuple[StampCheck, ...] = ()

    def as_dict(self) -> dict:
        return {"ok": self.ok, "code": self.code,
                "stamps": [{"position": s.position, "kind": s.kind, "fingerprint": s.fingerprint,
                            "trusted": s.trusted, "valid": s.valid} for s in self.stamps]}


def verify(msg: Message | bytes | str, trusted: Mapping[str, bytes | str], *,
           required_kinds: Iterable[str] = ()) -> VerifyResult:
    """Check every Stamp: signer known in ``trusted`` (fingerprint → public PEM) and signature valid.

    ``msg`` may be raw XML (parsed strictly first; ProtocolError propagates) or a parsed Message.
    """
    if not isinstance(msg, Message):
        msg = parse(msg)
    payload = msg.payload if msg.payload is not None else signed_payload(msg)
    checks = []
    for st in msg.stamps:
        pem = trusted.get(st.fingerprint)
        valid = False
        if pem is not None:
            try:
                valid = sm2_verify(pem, payload, st.signature)
            except CryptoError:
                valid = False
        checks.append(StampCheck(st.position, st.kind, st.fingerprint, pem is not None, valid))
    checks_t = tuple(checks)
    if not checks:
        return VerifyResult(False, "unsigned", checks_t)
    if not all(c.trusted for c in checks):
        return VerifyResult(False, "untrusted_key", checks_t)
    if not all(c.valid for c in checks):
        return VerifyResult(False, "bad_signature", checks_t)
    kinds = {c.kind for c in checks}
    if any(k not in kinds for k in required_kinds):
        return VerifyResult(False, "missing_stamp_kind", checks_t)
    return VerifyResult(True, "ok", checks_t)

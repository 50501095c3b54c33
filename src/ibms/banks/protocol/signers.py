"""Registered signers (签名人): the self-described record a unit or a region's finance gives its agent bank for each
person who signs its payment vouchers — public key, region, unit (``AgencyCode``), role, validity, revocation — and
the bank's check of a voucher's personal signatures against them. Django-free, shared with the simulator.

A voucher carries the seals (unit, finance: keys the system holds) and the personal signature of the person who
approved it: a ``Stamp`` of kind ``unit`` (a signer of the voucher's ``AgencyCode``) or ``finance`` (a finance signer
of its ``AdmDivCode``) whose fingerprint is a registered signer's. When the finance reviewer signs last, the unit's
signer has signed earlier, at the unit's review step, before the voucher existed: over :func:`unit_content` (the
payment's content the voucher carries unchanged), carried in the header as ``UnitSignerFingerprint`` and
``UnitSignature`` (base64 DER SM2). Every voucher of a unit (with an ``AgencyCode``) thus carries a unit signer's
signature. :func:`signer_problem` names the first reason to refuse it, or returns ``""``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from ibms.core.crypto import CryptoError, SignatureProvider, public_key_fingerprint, sm2_verify

from .message import Message, ProtocolError
from .seals import VerifyResult

SIGNER_KINDS = frozenset({"unit", "finance"})
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_ADM = re.compile(r"\d{6}|\d{9}")
UNIT_SIGNER_FIELD, UNIT_SIGNATURE_FIELD = "UnitSignerFingerprint", "UnitSignature"
CONTENT_FIELDS = ("AgencyCode", "PayAppNo", "PayAmt", "PayAcctNo", "PayeeAcctNo", "PayeeAcctName", "ExpFuncCode",
                  "ExpEcoCode")
CONTENT_DETAIL_FIELDS = ("PayeeAcctNo", "PayeeAcctName", "PayAmt")


@dataclass(frozen=True)
class SignerRecord:
    fingerprint: str
    public_pem: str
    region_code: str
    kind: str  # unit | finance
    agency_code: str  # the unit's code (the voucher's AgencyCode); "" for a finance signer
    name: str
    role: str
    valid_from: str  # ISO 8601 with offset
    valid_to: str
    revoked: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> SignerRecord:
        """A record from its JSON form; ProtocolError ``bad_signer`` on anything malformed."""
        try:
            rec = cls(fingerprint=str(data["fingerprint"]), public_pem=str(data["public_pem"]),
                      region_code=str(data["region_code"]), kind=str(data["kind"]),
                      agency_code=str(data.get("agency_code") or ""), name=str(data.get("name") or "")[:50],
                      role=str(data.get("role") or "")[:100], valid_from=str(data["valid_from"]),
                      valid_to=str(data["valid_to"]), revoked=bool(data.get("revoked", False)))
            start, end = rec.validity()
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("bad_signer", "signer record fields") from None
        if (not _FINGERPRINT.fullmatch(rec.fingerprint) or not _ADM.fullmatch(rec.region_code)
                or rec.kind not in SIGNER_KINDS or (rec.kind == "unit") != bool(rec.agency_code) or end <= start):
            raise ProtocolError("bad_signer", f"signer {rec.fingerprint[:16]}")
        return rec

    def validity(self) -> tuple[dt.datetime, dt.datetime]:
        start, end = dt.datetime.fromisoformat(self.valid_from), dt.datetime.fromisoformat(self.valid_to)
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("validity needs a UTC offset")
        return start, end


def unit_content(region_code: str, year: int, fields: Mapping, details=()) -> bytes:
    """What the unit's signer signs: the payment's content as the voucher will carry it (region, year, unit, request
    number, amount in fen, payer and payee accounts, classification, and each detail's payee and amount), as
    canonical JSON."""
    doc = {"AdmDivCode": str(region_code), "StYear": str(year),
           **{k: str(fields.get(k, "")) for k in CONTENT_FIELDS},
           "Details": [[str(d.get(k, "")) for k in CONTENT_DETAIL_FIELDS] for d in details]}
    return b"ibms.unit-content|" + json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def unit_countersign(signer: SignatureProvider, content: bytes) -> dict:
    """The header fields carrying the unit signer's signature of ``content`` (:func:`unit_content`)."""
    return {UNIT_SIGNER_FIELD: public_key_fingerprint(signer.public_pem),
            UNIT_SIGNATURE_FIELD: base64.b64encode(signer.sign(content)).decode("ascii")}


def _record_problem(rec: SignerRecord, kind: str, msg: Message, now: dt.datetime) -> str:
    if rec.region_code != msg.region_code or rec.kind != kind or (
            rec.kind == "unit" and rec.agency_code != str(msg.fields.get("AgencyCode", ""))):
        return "signer_not_registered"
    if rec.revoked:
        return "signer_revoked"
    start, end = rec.validity()
    if not start <= now < end:
        return "signer_expired"
    return ""


def _unit_signature_problem(msg: Message, signers: Mapping[str, SignerRecord], now: dt.datetime) -> str:
    fp = str(msg.fields.get(UNIT_SIGNER_FIELD, ""))
    rec = signers.get(fp)
    if rec is None:
        return "signer_not_registered"
    problem = _record_problem(rec, "unit", msg, now)
    if problem:
        return problem
    content = unit_content(msg.region_code, msg.year, msg.fields, msg.details)
    try:
        sig = base64.b64decode(str(msg.fields.get(UNIT_SIGNATURE_FIELD, "")), validate=True)
        ok = sm2_verify(rec.public_pem, content, sig)
    except (binascii.Error, ValueError, CryptoError):
        ok = False
    return "" if ok else "unit_signature_invalid"


def signer_problem(msg: Message, check: VerifyResult, signers: Mapping[str, SignerRecord], *,
                   now: dt.datetime) -> str:
    """Why a verified voucher's personal signatures are not acceptable (a stable code), or ``""``.

    ``check`` is the seals' :func:`~.seals.verify` result (every stamp trusted and valid); ``signers`` maps a
    fingerprint to its registered record."""
    personal = [(c, signers[c.fingerprint]) for c in check.stamps if c.fingerprint in signers]
    if not personal:
        return "personal_signature_required"
    for stamp, rec in personal:
        problem = _record_problem(rec, stamp.kind, msg, now)
        if problem:
            return problem
    if UNIT_SIGNER_FIELD in msg.fields or UNIT_SIGNATURE_FIELD in msg.fields:
        return _unit_signature_problem(msg, signers, now)
    if msg.fields.get("AgencyCode") and not any(stamp.kind == "unit" for stamp, _ in personal):
        return "unit_signature_required"  # a unit's payment signed by the finance: the unit's signer must have too
    return ""

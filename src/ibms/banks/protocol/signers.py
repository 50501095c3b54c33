"""Registered signers (签名人): the self-described record a unit or a region's finance gives its agent bank for each
person who signs its payment vouchers — public key, region, unit (``AgencyCode``), role, validity, revocation — and
the bank's check of a voucher's personal signatures against them. Django-free, shared with the simulator.

A voucher carries the seals (unit, finance: keys the system holds) and the personal signature of the person who
approved it: a ``Stamp`` of kind ``unit`` (a signer of the voucher's ``AgencyCode``) or ``finance`` (a finance signer
of its ``AdmDivCode``) whose fingerprint is a registered signer's. :func:`signer_problem` names the first reason to
refuse it, or returns ``""``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .message import Message, ProtocolError
from .seals import VerifyResult

SIGNER_KINDS = frozenset({"unit", "finance"})
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_ADM = re.compile(r"\d{6}|\d{9}")


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


def signer_problem(msg: Message, check: VerifyResult, signers: Mapping[str, SignerRecord], *,
                   now: dt.datetime) -> str:
    """Why a verified voucher's personal signatures are not acceptable (a stable code), or ``""``.

    ``check`` is the seals' :func:`~.seals.verify` result (every stamp trusted and valid); ``signers`` maps a
    fingerprint to its registered record."""
    personal = [(c, signers[c.fingerprint]) for c in check.stamps if c.fingerprint in signers]
    if not personal:
        return "personal_signature_required"
    agency = str(msg.fields.get("AgencyCode", ""))
    for stamp, rec in personal:
        if rec.region_code != msg.region_code or rec.kind != stamp.kind or (
                rec.kind == "unit" and rec.agency_code != agency):
            return "signer_not_registered"
        if rec.revoked:
            return "signer_revoked"
        start, end = rec.validity()
        if not start <= now < end:
            return "signer_expired"
    return ""

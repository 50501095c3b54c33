"""The canonical bank message (the 支付凭证/回单 fields agent banks exchange), its SM2 seals and strict parsing.

Django-free: imports only the standard library and :mod:`ibms.core.crypto`, so the bank simulator
(``ibms.banksim``) speaks exactly the same protocol as the app.

Form::

    <MOF>
      <VoucherBody AdmDivCode="990000000" MsgId="…" MsgType="voucher" StYear="2026" VoucherFlag="0"
                   VoucherNo="…" VtCode="5201">
        <Voucher>
          <PayAmt>1234.56</PayAmt> … header fields …
          <DetailList><Detail><PayAmt>1234.56</PayAmt> … </Detail> …</DetailList>
        </Voucher>
        <Stamp No="1" Kind="unit" Fingerprint="<sm3 hex of signer public key>">base64 DER SM2</Stamp>
      </VoucherBody>
    </MOF>

What each ``Stamp`` signs is the Canonical XML 2.0 form of ``VoucherBody`` without any ``Stamp``
children (:func:`signed_payload`), so seals may be added in any order and verified independently.

Values: every header/detail field whose name ends in ``Amt`` is money — int fen in Python, a yuan
decimal string (``"1234.56"``) in XML; every field ending in ``Date`` is ``YYYY-MM-DD``; anything else is
text. Errors are :class:`ProtocolError` with a stable English ``code``.

The message, its values and strict parsing are :mod:`.message`; the seals (what a Stamp signs, signing,
verification) are :mod:`.seals`; the registered signers (the persons whose own keys sign) and the bank's check of
their signatures are :mod:`.signers`.
"""

from .message import (
    ACK_RESULTS,
    BANK_STATES,
    CLEARING_VT_CODES,
    DEFAULT_FLAG,
    KINDS,
    MAX_MESSAGE_BYTES,
    REFUND_VT_CODE,
    REQUIRED_FIELDS,
    STAMP_KINDS,
    STATEMENT_VT_CODE,
    VOUCHER_VT_CODES,
    Message,
    ProtocolError,
    Stamp,
    build,
    fen_to_yuan,
    message_digest,
    parse,
    to_xml,
    yuan_to_fen,
)
from .seals import StampCheck, VerifyResult, sign, signed_payload, verify
from .signers import (
    SIGNER_KINDS,
    UNIT_SIGNATURE_FIELD,
    UNIT_SIGNER_FIELD,
    SignerRecord,
    signer_problem,
    unit_content,
    unit_countersign,
)

__all__ = [
    "ACK_RESULTS",
    "BANK_STATES",
    "CLEARING_VT_CODES",
    "DEFAULT_FLAG",
    "KINDS",
    "MAX_MESSAGE_BYTES",
    "REFUND_VT_CODE",
    "REQUIRED_FIELDS",
    "SIGNER_KINDS",
    "STAMP_KINDS",
    "STATEMENT_VT_CODE",
    "SignerRecord",
    "UNIT_SIGNATURE_FIELD",
    "UNIT_SIGNER_FIELD",
    "VOUCHER_VT_CODES",
    "Message",
    "ProtocolError",
    "Stamp",
    "StampCheck",
    "VerifyResult",
    "build",
    "fen_to_yuan",
    "message_digest",
    "parse",
    "sign",
    "signed_payload",
    "signer_problem",
    "unit_content",
    "unit_countersign",
    "to_xml",
    "verify",
    "yuan_to_fen",
]

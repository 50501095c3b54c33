"""The canonical bank message: kinds and codes, values (money in fen ↔ yuan text, dates), building, the
canonical XML form and strict parsing. Django-free (see :mod:`ibms.banks.protocol`)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from io import StringIO

# message kinds → (MsgType, default VoucherFlag)
KINDS = ("voucher", "ack", "receipt", "return", "refund", "clearing", "statement", "status")
VOUCHER_VT_CODES = frozenset({"5201", "8202", "8207", "5207", "8209"})  # 8209: 单位资金支付凭证 (unitfunds)
CLEARING_VT_CODES = frozenset({"2301", "2303"})
REFUND_VT_CODE = "2252"
STATEMENT_VT_CODE = "4005"
ACK_RESULTS = frozenset({"accepted", "rejected", "duplicate"})
STAMP_KINDS = frozenset({"unit", "finance", "bank"})
BANK_STATES = frozenset({"unknown", "accepted", "paid", "returned", "refunded", "rejected"})

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "voucher": ("PayAmt", "PayAcctNo"),
    "ack": ("Result",),
    "receipt": ("PayAmt", "XPayAmt", "XPayDate", "AgentBusinessNo"),
    "return": ("PayAmt", "Reason", "ReturnDate"),
    "refund": ("OriVtCode", "OriVoucherNo", "PayAmt", "Reason", "RefundDate"),
    "clearing": ("ClearDate", "PayAmt"),
    "statement": ("StatementDate",),
    "status": ("State",),
}
DEFAULT_FLAG = {"voucher": "0", "ack": "0", "status": "0", "receipt": "1", "return": "1", "refund": "1",
                "clearing": "1", "statement": "1"}

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DIGITS = {"AdmDivCode": re.compile(r"\d{6}|\d{9}"), "StYear": re.compile(r"\d{4}"), "VtCode": re.compile(r"\d{4}")}
_VOUCHER_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./]{0,63}")
_YUAN = re.compile(r"(0|[1-9]\d{0,14})(\.\d{1,2})?")
_MSG_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTRS = ("AdmDivCode", "StYear", "VtCode", "VoucherNo", "VoucherFlag", "MsgType", "MsgId")


class ProtocolError(ValueError):
    """A message that is not a valid canonical bank message. ``code`` is stable English."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


# --- money and value checks -------------------------------------------------------------------


def fen_to_yuan(fen: int) -> str:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise ProtocolError("bad_amount", f"amount must be int fen, got {type(fen).__name__}")
    if fen < 0:
        raise ProtocolError("bad_amount", "negative amount")
    q, r = divmod(fen, 100)
    return f"{q}.{r:02d}"


def yuan_to_fen(text: str, where: str = "") -> int:
    if text is None or not _YUAN.fullmatch(text):
        raise ProtocolError("bad_amount", f"{where}: {text!r} is not a yuan amount like 1234.56")
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _encode_value(name: str, value, where: str) -> str:
    if name.endswith("Amt"):
        return fen_to_yuan(value)
    if isinstance(value, dt.date):
        value = value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ProtocolError("bad_field", f"{where}{name}: unsupported value type {type(value).__name__}")
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")  # as any XML parser will read it back
    if _BAD_CHARS.search(text):
        raise ProtocolError("bad_field", f"{where}{name}: control characters")
    if name.endswith("Date") and text and not _valid_date(text):
        raise ProtocolError("bad_date", f"{where}{name}: {text!r} is not YYYY-MM-DD")
    return text


def _valid_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _decode_value(name: str, text: str, where: str):
    if name.endswith("Amt"):
        return yuan_to_fen(text, f"{where}{name}")
    if name.endswith("Date") and text and not _valid_date(text):
        raise ProtocolError("bad_date", f"{where}{name}: {text!r} is not YYYY-MM-DD")
    return text


# --- the message ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    position: int
    kind: str  # unit | finance | bank
    fingerprint: str  # SM3 hex of the signer's public key (DER SubjectPublicKeyInfo)
    signature: bytes  # DER SM2


@dataclass
class Message:
    kind: str
    region_code: str
    year: int
    vt_code: str
    voucher_no: str
    voucher_flag: str = "0"
    msg_id: str = ""
    fields: dict = field(default_factory=dict)
    details: list = field(default_factory=list)
    stamps: list = field(default_factory=list)
    payload: bytes | None = None  # canonical signed form of a parsed message (as received)

    @property
    def key(self) -> tuple[str, int, str]:
        """The bank's voucher key (AdmDivCode, StYear, VoucherNo)."""
        return (self.region_code, self.year, self.voucher_no)


def build(kind: str, *, region_code: str, year: int, vt_code: str, voucher_no: str, fields: Mapping | None = None,
          details: Iterable[Mapping] = (), voucher_flag: str | None = None, msg_id: str | None = None) -> Message:
    """A new unsigned message; values are validated now (ProtocolError) and again by :func:`to_xml`."""
    msg = Message(kind=kind, region_code=str(region_code), year=int(year), vt_code=str(vt_code),
                  voucher_no=str(voucher_no), voucher_flag=voucher_flag or DEFAULT_FLAG.get(kind, "0"),
                  msg_id=msg_id or uuid.uuid4().hex, fields=dict(fields or {}), details=[dict(d) for d in details])
    _check_semantics(msg)
    _body_element(msg, with_stamps=False)  # value checks
    return msg


def _body_element(msg: Message, *, with_stamps: bool) -> ET.Element:
    attrs = {"AdmDivCode": msg.region_code, "StYear": str(msg.year), "VtCode": msg.vt_code,
             "VoucherNo": msg.voucher_no, "VoucherFlag": msg.voucher_flag, "MsgType": msg.kind, "MsgId": msg.msg_id}
    _check_attrs(attrs)
    body = ET.Element("VoucherBody", attrs)
    voucher = ET.SubElement(body, "Voucher")
    sub = ET.SubElement
    for name, value in msg.fields.items():
        if not _NAME.fullmatch(name) or name == "DetailList":
            raise ProtocolError("bad_field_name", repr(name))
        sub(voucher, name).text = _encode_value(name, value, "")
    if msg.details:
        dl = sub(voucher, "DetailList")
        for i, detail in enumerate(msg.details, 1):
            d = sub(dl, "Detail")
            for name, value in detail.items():
                if not _NAME.fullmatch(name):
                    raise ProtocolError("bad_field_name", repr(name))
                sub(d, name).text = _encode_value(name, value, f"Detail[{i}].")
    if with_stamps:
        for st in msg.stamps:
            el = sub(body, "Stamp", {"No": str(st.position), "Kind": st.kind, "Fingerprint": st.fingerprint})
            el.text = base64.b64encode(st.signature).decode("ascii")
    return body


def _check_attrs(attrs: Mapping[str, str]) -> None:
    for name in _ATTRS:
        value = attrs.get(name)
        if value is None or value == "":
            raise ProtocolError("missing_attribute", f"VoucherBody/@{name}")
        if name in _DIGITS and not _DIGITS[name].fullmatch(value):
            raise ProtocolError("bad_attribute", f"VoucherBody/@{name}={value!r}")
    if attrs["MsgType"] not in KINDS:
        raise ProtocolError("unknown_kind", attrs["MsgType"])
    if attrs["VoucherFlag"] not in ("0", "1"):
        raise ProtocolError("bad_attribute", f"VoucherBody/@VoucherFlag={attrs['VoucherFlag']!r}")
    if not _VOUCHER_NO.fullmatch(attrs["VoucherNo"]):
        raise ProtocolError("bad_attribute", f"VoucherBody/@VoucherNo={attrs['VoucherNo']!r}")
    if not _MSG_ID.fullmatch(attrs["MsgId"]):
        raise ProtocolError("bad_attribute", "VoucherBody/@MsgId")


def _check_semantics(msg: Message) -> None:
    """Required fields per kind, known codes, and detail totals."""
    kind = msg.kind
    if kind not in KINDS:
        raise ProtocolError("unknown_kind", kind)
    missing = [f for f in REQUIRED_FIELDS[kind] if msg.fields.get(f) in (None, "")]
    if missing:
        raise ProtocolError("missing_field", ", ".join(missing))
    f = msg.fields
    if kind == "voucher":
        if msg.vt_code not in VOUCHER_VT_CODES:
            raise ProtocolError("bad_vt_code", f"{msg.vt_code} is not a payment voucher type")
        if msg.details:
            for i, d in enumerate(msg.details, 1):
                lack = [n for n in ("PayAmt", "PayeeAcctNo", "PayeeAcctName") if d.get(n) in (None, "")]
                if lack:
                    raise ProtocolError("missing_field", f"Detail[{i}]: {', '.join(lack)}")
            _check_total(msg, "PayAmt")
        else:
            lack = [n for n in ("PayeeAcctNo", "PayeeAcctName") if f.get(n) in (None, "")]
            if lack:
                raise ProtocolError("missing_field", ", ".join(lack))
        if f["PayAmt"] <= 0:
            raise ProtocolError("bad_amount", "PayAmt must be positive")
    elif kind == "ack" and f["Result"] not in ACK_RESULTS:
        raise ProtocolError("bad_field", f"Result={f['Result']!r}")
    elif kind == "status" and f["State"] not in BANK_STATES:
        raise ProtocolError("bad_field", f"State={f['State']!r}")
    elif kind == "refund":
        if msg.vt_code != REFUND_VT_CODE:
            raise ProtocolError("bad_vt_code", f"refund must be {REFUND_VT_CODE}")
        if f["PayAmt"] <= 0:
            raise ProtocolError("bad_amount", "PayAmt must be positive")
    elif kind == "clearing":
        if msg.vt_code not in CLEARING_VT_CODES:
            raise ProtocolError("bad_vt_code", "clearing must be 2301 or 2303")
        _check_total(msg, "PayAmt")
    elif kind == "statement" and msg.vt_code != STATEMENT_VT_CODE:
        raise ProtocolError("bad_vt_code", f"statement must be {STATEMENT_VT_CODE}")


def _check_total(msg: Message, name: str) -> None:
    total = 0
    for i, d in enumerate(msg.details, 1):
        v = d.get(name)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ProtocolError("bad_amount", f"Detail[{i}].{name} must be a positive amount")
        total += v
    if msg.details and total != msg.fields[name]:
        raise ProtocolError("amount_mismatch", f"sum of Detail.{name} {total} != {name} {msg.fields[name]}")


def _c14n(body: ET.Element) -> bytes:
    """Canonical XML 2.0 of ``body`` skipping ``Stamp`` children (no re-parse: the tree feeds the writer)."""
    out = StringIO()
    target = ET.C14NWriterTarget(out.write)

    def walk(el: ET.Element) -> None:
        target.start(el.tag, dict(el.attrib))
        if el.text:
            target.data(el.text)
        for child in el:
            if child.tag == "Stamp" and el is body:
                continue
            walk(child)
            if child.tail:
                target.data(child.tail)
        target.end(el.tag)

    walk(body)
    return out.getvalue().encode("utf-8")


def to_xml(msg: Message) -> bytes:
    _check_semantics(msg)
    root = ET.Element("MOF")
    root.append(_body_element(msg, with_stamps=True))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def message_digest(xml: bytes) -> str:
    from ibms.core.crypto import sm3_hex

    return sm3_hex(xml)


# --- parsing ----------------------------------------------------------------------------------


def _leaf_text(el: ET.Element, where: str) -> str:
    if len(el) or el.attrib:
        raise ProtocolError("malformed_xml", f"{where}{el.tag} must be a plain value")
    return el.text or ""


def parse(xml: bytes | str) -> Message:
    """Strictly parse a canonical message (ProtocolError with a reason code on anything wrong)."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if not isinstance(xml, bytes | bytearray):
        raise ProtocolError("malformed_xml", "message must be bytes")
    if len(xml) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"{len(xml)} bytes")
    head = bytes(xml[:4096]).upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in bytes(xml).upper():
        raise ProtocolError("doctype_forbidden", "DTDs and entities are not allowed")
    try:
        root = ET.fromstring(xml)  # noqa: S314 - DTDs/entities refused above; size capped
    except ET.ParseError as exc:
        raise ProtocolError("malformed_xml", str(exc)) from None
    if root.tag != "MOF" or root.attrib or len(root) != 1 or (root.text or "").strip():
        raise ProtocolError("bad_root", "expected <MOF> with exactly one <VoucherBody>")
    body = root[0]
    if body.tag != "VoucherBody":
        raise ProtocolError("bad_root", f"unexpected <{body.tag}>")
    extra = set(body.attrib) - set(_ATTRS)
    if extra:
        raise ProtocolError("bad_attribute", f"unexpected VoucherBody attributes {sorted(extra)}")
    _check_attrs(body.attrib)
    vouchers = [c for c in body if c.tag == "Voucher"]
    stamps_el = [c for c in body if c.tag == "Stamp"]
    others = [c.tag for c in body if c.tag not in ("Voucher", "Stamp")]
    if others or len(vouchers) != 1:
        raise ProtocolError("malformed_xml", "VoucherBody must hold one <Voucher> and <Stamp> elements only")
    fields: dict = {}
    details: list = []
    seen_detail_list = False
    for el in vouchers[0]:
        if el.tag == "DetailList":
            if seen_detail_list or el.attrib:
                raise ProtocolError("malformed_xml", "more than one DetailList")
            seen_detail_list = True
            for i, d in enumerate(el, 1):
                if d.tag != "Detail" or d.attrib:
                    raise ProtocolError("malformed_xml", f"unexpected <{d.tag}> in DetailList")
                row: dict = {}
                where = f"Detail[{i}]."
                for c in d:
                    if c.tag in row:
                        raise ProtocolError("duplicate_field", f"{where}{c.tag}")
                    row[c.tag] = _decode_value(c.tag, _leaf_text(c, where), where)
                details.append(row)
            continue
        if el.tag in fields:
            raise ProtocolError("duplicate_field", el.tag)
        if not _NAME.fullmatch(el.tag):
            raise ProtocolError("bad_field_name", el.tag)
        fields[el.tag] = _decode_value(el.tag, _leaf_text(el, ""), "")
    stamps = []
    for el in stamps_el:
        a = el.attrib
        try:
            pos = int(a.get("No", ""))
            sig = base64.b64decode((el.text or "").strip(), validate=True)
        except (ValueError, binascii.Error):
            raise ProtocolError("bad_stamp", "Stamp No / signature encoding") from None
        if a.get("Kind") not in STAMP_KINDS or not _FINGERPRINT.fullmatch(a.get("Fingerprint", "")) or not sig:
            raise ProtocolError("bad_stamp", "Stamp Kind / Fingerprint")
        stamps.append(Stamp(position=pos, kind=a["Kind"], fingerprint=a["Fingerprint"], signature=sig))
    a = body.attrib
    msg = Message(kind=a["MsgType"], region_code=a["AdmDivCode"], year=int(a["StYear"]), vt_code=a["VtCode"],
                  voucher_no=a["VoucherNo"], voucher_flag=a["VoucherFlag"], msg_id=a["MsgId"], fields=fields,
                  details=details, stamps=stamps)
    _check_semantics(msg)
    msg.payload = _c14n(body)
    return msg

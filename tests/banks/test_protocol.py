"""The canonical bank message: round trip, C14N stability, seals, tampering and strict parsing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibms.banks import protocol as P
from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair, public_key_fingerprint


@pytest.fixture(scope="module")
def keys():
    unit, finance, bank = (generate_sm2_keypair() for _ in range(3))
    return {"unit": unit, "finance": finance, "bank": bank}


def _trusted(*kps):
    return {public_key_fingerprint(kp.public_pem): kp.public_pem for kp in kps}


def _voucher(**over):
    fields = {"VouDate": "2026-03-01", "PayAmt": 1234_56, "PayAcctNo": "ZB001", "PayAcctName": "零余额账户",
              "PaySummaryName": "办公用品 & <耗材>", "AgencyCode": "101001"}
    details = [{"PayeeAcctNo": "6222001", "PayeeAcctName": "甲公司", "PayAmt": 1000_00},
               {"PayeeAcctNo": "6222002", "PayeeAcctName": "乙公司", "PayAmt": 234_56, "AddWord": "a\"b'c"}]
    kw = dict(region_code="990000000", year=2026, vt_code="5201", voucher_no="ZF2026000001", fields=fields,
              details=details)
    kw.update(over)
    return P.build("voucher", **kw)


def test_round_trip_keeps_every_value(keys):
    msg = _voucher()
    P.sign(msg, SoftwareSM2Signer(keys["unit"].private_pem), kind="unit")
    P.sign(msg, SoftwareSM2Signer(keys["finance"].private_pem), kind="finance")
    back = P.parse(P.to_xml(msg))
    assert (back.kind, back.region_code, back.year, back.vt_code, back.voucher_no, back.voucher_flag) == (
        "voucher", "990000000", 2026, "5201", "ZF2026000001", "0")
    assert back.fields == msg.fields and back.details == msg.details
    assert [(s.position, s.kind) for s in back.stamps] == [(1, "unit"), (2, "finance")]
    assert b"<PayAmt>1234.56</PayAmt>" in P.to_xml(msg)
    result = P.verify(back, _trusted(keys["unit"], keys["finance"]), required_kinds=("unit", "finance"))
    assert result.ok and result.code == "ok" and all(s.valid and s.trusted for s in result.stamps)


def test_signed_payload_is_c14n_of_the_body_without_stamps(keys):
    msg = _voucher()
    P.sign(msg, SoftwareSM2Signer(keys["unit"].private_pem), kind="unit")
    xml = P.to_xml(msg)
    body = ET.fromstring(xml)[0]
    for st_el in body.findall("Stamp"):
        body.remove(st_el)
    assert P.parse(xml).payload == ET.canonicalize(ET.tostring(body, encoding="unicode")).encode("utf-8")
    # re-serialized differently (attribute order, quotes, whitespace-free re-encode) → same canonical payload
    reordered = xml.replace(b'AdmDivCode="990000000" ', b"").replace(b"<VoucherBody ", b"<VoucherBody AdmDivCode='990000000' ")
    assert reordered != xml
    assert P.parse(reordered).payload == P.parse(xml).payload
    assert P.verify(reordered, _trusted(keys["unit"])).ok


def test_stamp_order_does_not_matter_and_each_is_independent(keys):
    msg = _voucher()
    P.sign(msg, SoftwareSM2Signer(keys["finance"].private_pem), kind="finance")
    P.sign(msg, SoftwareSM2Signer(keys["unit"].private_pem), kind="unit")
    parsed = P.parse(P.to_xml(msg))
    assert P.verify(parsed, _trusted(keys["unit"], keys["finance"])).ok
    only_unit = P.verify(parsed, _trusted(keys["unit"]))
    assert (only_unit.ok, only_unit.code) == (False, "untrusted_key")


@pytest.mark.parametrize(("old", "new"), [
    (b"<PayAmt>1000.00</PayAmt>", b"<PayAmt>1000.01</PayAmt>"),
    (b"<PayeeAcctNo>6222001</PayeeAcctNo>", b"<PayeeAcctNo>6222009</PayeeAcctNo>"),
    (b'VoucherNo="ZF2026000001"', b'VoucherNo="ZF2026000002"'),
    (b"<AgencyCode>101001</AgencyCode>", b"<AgencyCode>101002</AgencyCode>"),
])
def test_changing_any_field_breaks_the_seal(keys, old, new):
    msg = _voucher()
    P.sign(msg, SoftwareSM2Signer(keys["unit"].private_pem), kind="unit")
    xml = P.to_xml(msg)
    assert old in xml
    tampered = xml.replace(old, new, 1)
    if b"PayAmt>1000.01" in new:  # the total no longer matches: the parser itself refuses it
        tampered = tampered.replace(b"<PayAmt>1234.56</PayAmt>", b"<PayAmt>1234.57</PayAmt>")
    result = P.verify(tampered, _trusted(keys["unit"]))
    assert (result.ok, result.code) == (False, "bad_signature")


def test_unsigned_and_missing_kind(keys):
    msg = _voucher()
    assert P.verify(P.to_xml(msg), {}).code == "unsigned"
    P.sign(msg, SoftwareSM2Signer(keys["unit"].private_pem), kind="unit")
    assert P.verify(msg, _trusted(keys["unit"]), required_kinds=("finance",)).code == "missing_stamp_kind"


@pytest.mark.parametrize(("xml", "code"), [
    (b"<MOF><VoucherBody", "malformed_xml"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><MOF/>", "doctype_forbidden"),
    (b"<Other/>", "bad_root"),
    (b"<MOF><VoucherBody StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0' MsgType='voucher' MsgId='m1'>"
     b"<Voucher/></VoucherBody></MOF>", "missing_attribute"),
    (b"<MOF><VoucherBody AdmDivCode='99' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0' MsgType='voucher'"
     b" MsgId='m1'><Voucher/></VoucherBody></MOF>", "bad_attribute"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='voucher' MsgId='m1'><Voucher><PayAcctNo>1</PayAcctNo></Voucher></VoucherBody></MOF>",
     "missing_field"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='voucher' MsgId='m1'><Voucher><PayAmt>12.345</PayAmt><PayAcctNo>1</PayAcctNo><PayeeAcctNo>2"
     b"</PayeeAcctNo><PayeeAcctName>x</PayeeAcctName></Voucher></VoucherBody></MOF>", "bad_amount"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='voucher' MsgId='m1'><Voucher><PayAmt>-1.00</PayAmt><PayAcctNo>1</PayAcctNo></Voucher>"
     b"</VoucherBody></MOF>", "bad_amount"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='voucher' MsgId='m1'><Voucher><PayAmt>1.00</PayAmt><PayAmt>1.00</PayAmt></Voucher>"
     b"</VoucherBody></MOF>", "duplicate_field"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='voucher' MsgId='m1'><Voucher><PayAmt>3.00</PayAmt><PayAcctNo>1</PayAcctNo><DetailList><Detail>"
     b"<PayAmt>1.00</PayAmt><PayeeAcctNo>2</PayeeAcctNo><PayeeAcctName>x</PayeeAcctName></Detail></DetailList>"
     b"</Voucher></VoucherBody></MOF>", "amount_mismatch"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='receipt' MsgId='m1'><Voucher><PayAmt>1.00</PayAmt><XPayAmt>1.00</XPayAmt><XPayDate>2026-02-30"
     b"</XPayDate><AgentBusinessNo>1</AgentBusinessNo></Voucher></VoucherBody></MOF>", "bad_date"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='gossip' MsgId='m1'><Voucher/></VoucherBody></MOF>", "unknown_kind"),
    (b"<MOF><VoucherBody AdmDivCode='990000000' StYear='2026' VtCode='5201' VoucherNo='A1' VoucherFlag='0'"
     b" MsgType='status' MsgId='m1'><Voucher><State>paid</State></Voucher><Stamp No='x' Kind='bank'"
     b" Fingerprint='00'>AA==</Stamp></VoucherBody></MOF>", "bad_stamp"),
])
def test_strict_parsing_reason_codes(xml, code):
    with pytest.raises(P.ProtocolError) as exc:
        P.parse(xml)
    assert exc.value.code == code


def test_build_refuses_bad_values():
    with pytest.raises(P.ProtocolError) as exc:
        _voucher(fields={"PayAmt": 1.5, "PayAcctNo": "1", "PayeeAcctNo": "2", "PayeeAcctName": "x"}, details=())
    assert exc.value.code == "bad_amount"
    with pytest.raises(P.ProtocolError) as exc:
        _voucher(vt_code="2301")
    assert exc.value.code == "bad_vt_code"
    with pytest.raises(P.ProtocolError) as exc:
        _voucher(fields={"PayAmt": 1234_56, "PayAcctNo": "1", "Bad Name": "x"})
    assert exc.value.code == "bad_field_name"


def test_every_kind_round_trips(keys):
    bank = SoftwareSM2Signer(keys["bank"].private_pem)
    samples = [
        ("ack", "5201", "V1", {"Result": "duplicate", "State": "paid"}, []),
        ("receipt", "5201", "V1", {"PayAmt": 100, "XPayAmt": 100, "XPayDate": "2026-03-02", "AgentBusinessNo": "S1"},
         [{"LineNo": "1", "PayAmt": 100, "XPayAmt": 100}]),
        ("return", "8202", "V2", {"PayAmt": 5, "Reason": "户名不符", "ReturnDate": "2026-03-02"}, []),
        ("refund", "2252", "TK1", {"OriVtCode": "5201", "OriVoucherNo": "V1", "PayAmt": 40, "Reason": "退回",
                                   "RefundDate": "2026-03-05"}, []),
        ("clearing", "2301", "QS1", {"ClearDate": "2026-03-02", "PayAmt": 150},
         [{"VoucherNo": "V1", "PayAmt": 100}, {"VoucherNo": "V3", "PayAmt": 50}]),
        ("statement", "4005", "ST1", {"StatementDate": "2026-03-02", "PayAmt": 0}, []),
        ("status", "5201", "V1", {"State": "unknown"}, []),
    ]
    for kind, vt, no, fields, details in samples:
        msg = P.build(kind, region_code="990000", year=2026, vt_code=vt, voucher_no=no, fields=fields, details=details)
        P.sign(msg, bank, kind="bank")
        back = P.parse(P.to_xml(msg))
        assert (back.kind, back.fields, back.details) == (kind, fields, details)
        assert back.voucher_flag == ("0" if kind in ("ack", "status") else "1")
        assert P.verify(back, _trusted(keys["bank"]), required_kinds=("bank",)).ok


@settings(max_examples=40, deadline=None)
@given(fen=st.integers(min_value=1, max_value=10**15), text=st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\ufffe\uffff"), max_size=30))
def test_values_survive_the_round_trip(fen, text):
    import re

    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
    msg = P.build("voucher", region_code="990000000", year=2026, vt_code="8202", voucher_no="H1",
                  fields={"PayAmt": fen, "PayAcctNo": "1", "PayeeAcctNo": "2", "PayeeAcctName": "n", "Memo": text})
    back = P.parse(P.to_xml(msg))
    assert back.fields["PayAmt"] == fen and back.fields["Memo"] == text
    assert back.payload == P.signed_payload(msg)

"""Personal signatures at the bank: a voucher must carry the signature of a person registered as a signer of its unit
(or of the region's finance); a person of another unit, an unknown person, a revoked or expired signer, and a
voucher with the unit's seal alone are refused with a protocol-level rejection, and nothing is stored. A unit's
voucher the finance signs last carries the unit signer's earlier signature of its content, checked the same way."""

from __future__ import annotations

import pytest

from ibms.banks import protocol as P
from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair
from tests.constants import PROVINCE

from .helpers import AGENCY, Client, signer_record


@pytest.fixture
def client(bank_sim):
    return Client(bank_sim)


def _refused(client, msg) -> str:
    ack = client.verified(P.to_xml(client.send(msg)))
    assert ack.fields["Result"] == "rejected"
    return ack.fields["ReasonCode"]


def test_registered_signer_of_the_unit_is_accepted(bank_sim, client):
    assert client.send(client.voucher()).fields["Result"] == "accepted"
    listed = bank_sim.admin("/admin/signers")["signers"]
    assert [(s["kind"], s["agency_code"], s["revoked"]) for s in listed] == [("unit", "001001", False)]


def test_person_not_registered_as_the_units_signer_is_refused(bank_sim, client):
    other_unit = client.register_person(agency="002001")  # a signer, but of another unit
    assert _refused(client, client.voucher(person=other_unit)) == "signer_not_registered"
    finance = client.register_person(kind="finance")  # a finance signer may not sign as the unit
    assert _refused(client, client.voucher(person=finance)) == "signer_not_registered"
    elsewhere = client.register_person(region="990100000")
    assert _refused(client, client.voucher(person=elsewhere)) == "signer_not_registered"
    stranger = SoftwareSM2Signer(generate_sm2_keypair().private_pem)  # nobody registered this key
    assert _refused(client, client.voucher(person=stranger)) == "untrusted_key"
    assert bank_sim.vouchers() == {}


def test_seal_alone_is_not_enough(bank_sim, client):
    sealed_only = Client.__new__(Client)
    sealed_only.sim, sealed_only.bank, sealed_only.signer = bank_sim, client.bank, client.signer
    assert _refused(client, sealed_only.voucher()) == "personal_signature_required"
    assert bank_sim.vouchers() == {}


def test_finance_signer_signs_as_finance(bank_sim, client):
    finance = client.register_person(kind="finance")
    allocation = P.build("voucher", region_code=PROVINCE, year=2026, vt_code="5207", voucher_no="A000001",
                         fields={"PayAmt": 5_000, "PayAcctNo": "ZB-001", "PayeeAcctNo": "6222000011112222",
                                 "PayeeAcctName": "青山区财政局"})  # no AgencyCode: not a unit's payment
    P.sign(P.sign(allocation, client.signer, kind="finance"), finance, kind="finance")
    assert client.send(allocation).fields["Result"] == "accepted"
    # a unit's payment signed by the finance alone lacks the unit's signer
    assert _refused(client, client.voucher(person=finance, person_kind="finance")) == "unit_signature_required"


def _countersigned(client, finance, unit_person, *, no: str, tamper: dict | None = None) -> P.Message:
    """A unit's voucher the finance signed last, carrying ``unit_person``'s earlier signature of its content."""
    fields = {"PayAmt": 10_000, "PayAcctNo": "ZB-001", "AgencyCode": AGENCY, "PayAppNo": f"ZF{no}",
              "PayeeAcctNo": "6222000011112222", "PayeeAcctName": "某某公司", "ExpFuncCode": "2050201",
              "ExpEcoCode": "30201"}
    details = [{"Seq": "1", "PayeeAcctNo": "6222000011112222", "PayeeAcctName": "某某公司", "PayAmt": 10_000}]
    fields.update(P.unit_countersign(unit_person, P.unit_content(PROVINCE, 2026, fields, details)))
    fields.update(tamper or {})
    msg = P.build("voucher", region_code=PROVINCE, year=2026, vt_code="5201", voucher_no=no, fields=fields,
                  details=details)
    return P.sign(P.sign(msg, client.signer, kind="unit"), finance, kind="finance")


def test_unit_signature_of_the_content_when_the_finance_signs_last(bank_sim, client):
    finance = client.register_person(kind="finance")
    ok = _countersigned(client, finance, client.person, no="C000001")
    assert P.unit_content(PROVINCE, 2026, ok.fields, ok.details) == P.unit_content(
        PROVINCE, 2026, P.parse(P.to_xml(ok)).fields, P.parse(P.to_xml(ok)).details)  # the same on both sides
    assert client.send(ok).fields["Result"] == "accepted"
    other_unit = client.register_person(agency="002001")
    assert _refused(client, _countersigned(client, finance, other_unit, no="C000002")) == "signer_not_registered"
    assert _refused(client, _countersigned(client, finance, finance, no="C000003")) == "signer_not_registered"
    stranger = SoftwareSM2Signer(generate_sm2_keypair().private_pem)
    assert _refused(client, _countersigned(client, finance, stranger, no="C000004")) == "signer_not_registered"
    for i, tamper in enumerate([{"PayeeAcctNo": "6222999988887777"}, {"PayAppNo": "ZF-OTHER"},
                                {"ExpEcoCode": "30299"}, {P.UNIT_SIGNATURE_FIELD: "bm90IGEgc2lnbmF0dXJl"},
                                {P.UNIT_SIGNATURE_FIELD: "%%%"}], 5):
        msg = _countersigned(client, finance, client.person, no=f"C00000{i}", tamper=tamper)
        assert _refused(client, msg) == "unit_signature_invalid", tamper
    assert list(bank_sim.vouchers()) and len(bank_sim.vouchers()) == 1


def test_revoked_and_expired_signers_are_refused(bank_sim, client):
    kp = generate_sm2_keypair()
    record = signer_record(kp.public_pem)
    bank_sim.admin("/admin/signers", {"signers": [record]})
    person = SoftwareSM2Signer(kp.private_pem)
    assert client.send(client.voucher(person=person)).fields["Result"] == "accepted"
    bank_sim.admin("/admin/signers", {"signers": [{**record, "revoked": True}]})  # the unit revokes the signer
    assert _refused(client, client.voucher(person=person)) == "signer_revoked"
    expired = client.register_person(days=(-400, -1))
    assert _refused(client, client.voucher(person=expired)) == "signer_expired"
    not_yet = client.register_person(days=(1, 30))
    assert _refused(client, client.voucher(person=not_yet)) == "signer_expired"
    assert len(bank_sim.vouchers()) == 1 and bank_sim.invariants()["ok"]


def test_bad_signer_records_are_refused(bank_sim):
    kp, other = generate_sm2_keypair(), generate_sm2_keypair()
    cases = [{"signers": []}, {"signers": [{"fingerprint": "x"}]},
             {"signers": [{**signer_record(kp.public_pem), "public_pem": other.public_pem.decode()}]},
             {"signers": [{**signer_record(kp.public_pem), "agency_code": ""}]},
             {"signers": [{**signer_record(kp.public_pem), "valid_to": "2020-01-01T00:00:00"}]}]
    for body in cases:
        status, answer = bank_sim.request("POST", "/admin/signers", body, admin=True)
        assert status == 400, (body, answer)
    assert bank_sim.admin("/admin/signers")["signers"] == []
    status, _ = bank_sim.request("POST", "/admin/signers", {"signers": [signer_record(kp.public_pem)]})
    assert status == 403  # the admin token is required

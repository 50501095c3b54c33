"""The personal keystore and signer enrolment: a round trip (enrol under a PIN, open with it, sign, verify); a wrong
PIN opens nothing; the private key is never stored unencrypted (the database row itself is read); the ciphertext
is bound to its row; a provider named by the setting (a UKEY/HSM stand-in) replaces the software keystore; PIN
rules, permissions, one active key per person, revocation (own, by the unit head), API and page."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from ibms.banks import keystore
from ibms.banks import services as banks
from ibms.banks.models import Signer
from ibms.core.crypto import (
    SoftwareSM2Signer,
    generate_sm2_keypair,
    public_key_fingerprint,
    sm2_private_hex,
    sm2_verify,
)
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, ChangeLog
from tests.constants import DEMO_PIN

pytestmark = pytest.mark.django_db
PIN = "Key#Pin2026"


@pytest.fixture
def fast_kdf(settings):
    settings.IBMS_SIGNER_PIN_ITERATIONS = 1000  # keys made in these tests only; the demo's use the default


def _fresh_signer(user) -> Signer:
    """school_reviewer's demo key revoked, a new one enrolled under PIN."""
    reviewer = user("school_reviewer")
    old = Signer.objects.get(user=reviewer, status="active")
    banks.signer_revoke(actor=reviewer, pk=old.pk)
    return banks.signer_enrol(actor=reviewer, pin=PIN, pin_confirm=PIN)


def test_demo_signers_use_pbkdf2_sm3_with_a_high_count(user):
    sig = Signer.objects.get(user=user("school_reviewer"), status="active")
    assert (sig.kind, sig.unit.code, sig.region_code, sig.provider) == ("unit", "001001", "990000000", "software")
    assert sig.kdf == "pbkdf2-hmac-sm3" and sig.kdf_iterations >= 200_000 and len(bytes.fromhex(sig.kdf_salt)) == 16
    salts = set(Signer.objects.values_list("kdf_salt", flat=True))
    assert len(salts) == Signer.objects.count()  # a salt per key
    opened = banks.signer_unlock(actor=user("school_reviewer"), kind="unit", region_code="990000000", unit=sig.unit,
                                 pin=DEMO_PIN)
    assert public_key_fingerprint(opened.provider.public_pem) == sig.fingerprint


def test_round_trip_and_wrong_pin(user, fast_kdf):
    sig = _fresh_signer(user)
    assert sig.fingerprint == public_key_fingerprint(sig.public_pem)
    provider = keystore.provider_for(sig).open(sig, pin=PIN)
    signature = provider.sign(b"voucher body")
    assert sm2_verify(sig.public_pem, b"voucher body", signature)
    with pytest.raises(keystore.WrongPin):
        keystore.provider_for(sig).open(sig, pin="Other#Pin2026")


def test_private_key_is_never_stored_unencrypted(user, fast_kdf):
    sig = _fresh_signer(user)
    pem = keystore.provider_for(sig).open(sig, pin=PIN)._key.private_bytes(  # the key, for the comparison only
        *_pkcs8())
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {Signer._meta.db_table} WHERE id = %s", [sig.pk])
        row = cur.fetchone()
    stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
    der = _der(pem)
    private_hex = sm2_private_hex(pem)
    assert b"PRIVATE KEY" not in stored and pem not in stored and der not in stored
    assert private_hex.encode() not in stored.lower() and bytes.fromhex(private_hex) not in stored
    assert PIN.encode() not in stored
    logged = json.dumps(list(ChangeLog.objects.filter(object_id=str(sig.pk)).values_list("after", flat=True)))
    assert private_hex not in logged and "PRIVATE KEY" not in logged and PIN not in logged


def _pkcs8():
    from tongsuopy.crypto import serialization

    return serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()


def _der(pem: bytes) -> bytes:
    import base64

    return base64.b64decode(b"".join(line for line in pem.splitlines() if not line.startswith(b"-----")))


def test_ciphertext_is_bound_to_its_row(user, fast_kdf):
    sig = _fresh_signer(user)
    head = user("school_head")
    other = Signer.objects.get(user=head, status="active")
    other.key_blob, other.kdf_salt, other.kdf_iterations, other.kdf = sig.key_blob, sig.kdf_salt, 1000, sig.kdf
    with pytest.raises(keystore.WrongPin):  # the same PIN, the same salt: but another person's row
        keystore.provider_for(other).open(other, pin=PIN)


class FakeToken:
    """A UKEY stand-in: the private key stays "in the token" (this dict); the row keeps a reference only."""

    name = "faketoken"
    slots: dict[str, tuple[str, bytes]] = {}

    def create(self, *, pin: str, owner: str) -> keystore.KeyMaterial:
        kp = generate_sm2_keypair()
        ref = f"slot-{len(self.slots) + 1}"
        self.slots[ref] = (pin, kp.private_pem)
        return keystore.KeyMaterial(public_pem=kp.public_pem.decode(), fingerprint=public_key_fingerprint(
            kp.public_pem), key_blob=ref.encode())

    def open(self, signer, *, pin: str):
        right, pem = self.slots[bytes(signer.key_blob).decode()]
        if pin != right:
            raise keystore.WrongPin()
        return SoftwareSM2Signer(pem)


def test_a_provider_named_by_the_setting_replaces_the_software_keystore(user, settings):
    settings.IBMS_SIGNER_PROVIDER = "tests.banks.test_keystore.FakeToken"
    sig = _fresh_signer(user)
    assert sig.provider == "faketoken" and bytes(sig.key_blob).startswith(b"slot-") and not sig.kdf
    opened = banks.signer_unlock(actor=user("school_reviewer"), kind="unit", region_code="990000000", unit=sig.unit,
                                 pin=PIN)
    assert sm2_verify(sig.public_pem, b"x", opened.provider.sign(b"x"))
    settings.IBMS_SIGNER_PROVIDER = keystore.DEFAULT_PROVIDER  # a key held by another provider cannot be opened
    with pytest.raises(Exception, match="faketoken"):
        banks.signer_unlock(actor=user("school_reviewer"), kind="unit", region_code="990000000", unit=sig.unit,
                            pin=PIN)


def test_enrolment_rules(user, fast_kdf):
    reviewer = user("school_reviewer")
    with pytest.raises(Conflict) as e:
        banks.signer_enrol(actor=reviewer, pin=PIN, pin_confirm=PIN)
    assert e.value.code == "signer_active_exists"
    with pytest.raises(PermissionDenied):
        banks.signer_enrol(actor=user("school_clerk"), pin=PIN, pin_confirm=PIN)
    with pytest.raises(PermissionDenied):  # 三员: no administrator is a signer
        banks.signer_enrol(actor=user("secadmin"), pin=PIN, pin_confirm=PIN)
    banks.signer_revoke(actor=reviewer, pk=Signer.objects.get(user=reviewer, status="active").pk)
    for pin, confirm, code in [("12345678", "12345678", "pin_weak"), ("abc1", "abc1", "pin_weak"),
                               (PIN, "Key#Pin2027", "pin_mismatch")]:
        with pytest.raises(ValidationFailed) as e:
            banks.signer_enrol(actor=reviewer, pin=pin, pin_confirm=confirm)
        assert [v.code for v in e.value.violations] == [code]
    sig = banks.signer_enrol(actor=reviewer, pin=PIN, pin_confirm=PIN)
    assert BusinessEvent.objects.filter(code="banks.signer_enrolled", object_id=str(sig.pk)).exists()
    treasury = user("fin_treasury")
    fin = Signer.objects.get(user=treasury, status="active")
    assert (fin.kind, fin.unit_id, fin.unit_code) == ("finance", None, "")


def test_revocation_own_or_by_the_unit_head_only(user):
    sig = Signer.objects.get(user=user("school_reviewer"), status="active")
    with pytest.raises(PermissionDenied):
        banks.signer_revoke(actor=user("school_clerk"), pk=sig.pk)
    with pytest.raises(NotFound):  # another region's treasury: out of scope
        banks.signer_revoke(actor=user("county_treasury"), pk=sig.pk)
    head = Signer.objects.get(user=user("school_head"), status="active")
    with pytest.raises(NotFound):  # a signer revokes their own key only: a colleague's is "not found"
        banks.signer_revoke(actor=user("school_reviewer"), pk=head.pk)
    assert Signer.objects.get(pk=head.pk).status == "active"
    done = banks.signer_revoke(actor=user("school_head"), pk=sig.pk, reason="岗位调整")
    assert (done.status, done.revoke_reason) == ("revoked", "岗位调整") and done.revoked_at
    assert BusinessEvent.objects.filter(code="banks.signer_revoked", object_id=str(sig.pk)).exists()
    with pytest.raises(ValidationFailed) as e:
        banks.signer_unlock(actor=user("school_reviewer"), kind="unit", region_code="990000000", unit=sig.unit,
                            pin=DEMO_PIN)
    assert e.value.violations[0].code == "signer_not_enrolled"


def test_api_and_page(client_as, user, fast_kdf):
    c = client_as("school_reviewer")
    mine = c.get("/api/v1/banks/signers/me").json()
    assert [(x["kind"], x["status"]) for x in mine] == [("unit", "active")] and "key_blob" not in mine[0]
    r = c.post(f"/api/v1/banks/signers/{mine[0]['id']}/revoke", data=json.dumps({"reason": "换证"}),
               content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = c.post("/api/v1/banks/signers", data=json.dumps({"pin": "weak"}), content_type="application/json")
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "pin_weak"
    r = c.post("/api/v1/banks/signers", data=json.dumps({"pin": PIN, "pin_confirm": PIN}),
               content_type="application/json")
    assert r.status_code == 201 and r.json()["status"] == "active"
    page = c.get("/banks/signers/").content.decode()
    assert r.json()["fingerprint"] in page and "注销本证书" in page
    assert c.post("/banks/signers/", {"action": "revoke", "signer_id": r.json()["id"]}).status_code == 302
    page = c.get("/banks/signers/").content.decode()
    assert 'id="enrol-form"' in page
    bad = c.post("/banks/signers/", {"action": "enrol", "pin": PIN, "pin_confirm": "x"})
    assert bad.status_code == 422 and "两次输入的签名口令不一致" in bad.content.decode()
    assert c.post("/banks/signers/", {"action": "enrol", "pin": PIN, "pin_confirm": PIN}).status_code == 302
    listed = client_as("fin_treasury").get("/api/v1/banks/signers").json()
    assert {x["name"] for x in listed} >= {"第一实验中学 黄主任", "国库处 张科长"}
    assert client_as("school_clerk").get("/api/v1/banks/signers").status_code == 403

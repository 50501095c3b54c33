"""SM2 certificate binding: a tongsuopy-generated key binds and verifies signatures; other keys are refused."""

from __future__ import annotations

import pytest
from tongsuopy.crypto import serialization
from tongsuopy.crypto.asymciphers import ec

from ibms.core.crypto import sm2_sign, sm2_verify
from ibms.core.errors import Conflict, ValidationFailed
from ibms.core.models import BusinessEvent
from ibms.iam.models import UserCertificate
from ibms.iam.services import certificate_bind

pytestmark = pytest.mark.django_db

RSA_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCtM/blOddddvunmjOuI4jnzsmq
OTZfyfCO8hhd3kG8jQPd/JFrog3iIb+TGq0v3s4+edM4pD1lpBR6Ckn1TmC1HH/k
hkd5vA59shbcCQD/gKqmbOOBrtJ1uV/+n2xtaBq18S0px7pAfkBcL0Cevu7MO7Iu
VBK6IRlUm6TbZSmFUQIDAQAB
-----END PUBLIC KEY-----"""


def sm2_keypair() -> tuple[bytes, str]:
    """(private PEM, public PEM) generated directly with tongsuopy."""
    key = ec.generate_private_key(ec.SM2())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


def test_bound_key_verifies_signatures_made_with_its_private_key(user):
    private, public = sm2_keypair()
    target = user("fin_treasury")
    cert = certificate_bind(actor=user("secadmin"), user_id=target.pk, public_key_pem=public,
                            subject="CN=张科长,O=华夏省财政厅")
    cert = UserCertificate.objects.get(pk=cert.pk)
    assert cert.user_id == target.pk and len(cert.fingerprint) == 64
    voucher = "支付凭证 ZF2026-000001 金额 1234.56 元".encode()
    signature = sm2_sign(private, voucher)
    assert sm2_verify(cert.public_key_pem, voucher, signature)
    assert not sm2_verify(cert.public_key_pem, voucher + b"0", signature)
    other_private, _ = sm2_keypair()
    assert not sm2_verify(cert.public_key_pem, voucher, sm2_sign(other_private, voucher))
    assert BusinessEvent.objects.filter(code="iam.certificate_bound", payload__fingerprint=cert.fingerprint).exists()


@pytest.mark.parametrize("pem", [RSA_PUBLIC_PEM, "garbage", "", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"])
def test_non_sm2_keys_are_refused(user, pem):
    with pytest.raises(ValidationFailed) as exc:
        certificate_bind(actor=user("secadmin"), user_id=user("fin_budget").pk, public_key_pem=pem)
    assert exc.value.code == "cert_invalid"
    assert not UserCertificate.objects.exists()


def test_a_key_binds_once(user):
    _, public = sm2_keypair()
    sec = user("secadmin")
    certificate_bind(actor=sec, user_id=user("fin_budget").pk, public_key_pem=public)
    # Same key, other line endings / whitespace, other user: still the same key.
    with pytest.raises(Conflict) as exc:
        certificate_bind(actor=sec, user_id=user("fin_sector").pk, public_key_pem="\n" + public.replace("\n", "\r\n"))
    assert exc.value.code == "cert_bound"
    assert UserCertificate.objects.count() == 1


def test_api_binding(client_as, user):
    sec = client_as("secadmin")
    target = user("fin_budget")
    _, public = sm2_keypair()
    url = f"/api/v1/iam/users/{target.pk}/certificates"
    resp = sec.post(url, {"public_key_pem": public, "subject": "CN=王处长"}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["user_id"] == target.pk and resp.json()["subject"] == "CN=王处长"

    resp = sec.post(url, {"public_key_pem": public}, content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "cert_bound"
    for bad in (RSA_PUBLIC_PEM, "garbage"):
        resp = sec.post(url, {"public_key_pem": bad}, content_type="application/json")
        assert resp.status_code == 422
        assert resp.json()["code"] == "cert_invalid" and resp.json()["message"]

    _, other = sm2_keypair()
    resp = client_as("sysadmin").post(url, {"public_key_pem": other}, content_type="application/json")
    assert resp.status_code == 403
    resp = sec.post(f"/api/v1/iam/users/{user('city_treasury').pk}/certificates", {"public_key_pem": other},
                    content_type="application/json")
    assert resp.status_code == 404


def test_page_binding(client_as, user):
    sec = client_as("secadmin")
    target = user("fin_budget")
    url = f"/iam/users/{target.pk}/certificates/new/"
    assert sec.get(url).status_code == 200
    resp = sec.post(url, {"public_key_pem": RSA_PUBLIC_PEM})
    assert resp.status_code == 422 and "不是有效的 SM2 公钥" in resp.content.decode()
    _, public = sm2_keypair()
    resp = sec.post(url, {"public_key_pem": public, "subject": "CN=王处长"})
    assert resp.status_code == 302
    detail = sec.get(f"/iam/users/{target.pk}/").content.decode()
    assert "CN=王处长" in detail
    resp = sec.post(url, {"public_key_pem": public})
    assert resp.status_code == 422 and "不能重复绑定" in resp.content.decode()

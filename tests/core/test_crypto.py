"""SM2 / SM3 / SM4 provider tests, cross-checked against gmssl (pure Python). No Django needed."""

from __future__ import annotations

import base64
import secrets

import pytest
from gmssl import sm2 as gm_sm2
from gmssl import sm3 as gm_sm3
from hypothesis import given, settings
from hypothesis import strategies as st

from ibms.core.crypto import (
    SM2_CURVE_ORDER,
    CryptoError,
    SignatureProvider,
    SM2KeyPair,
    SoftwareSM2Signer,
    der_signature_to_rs_hex,
    generate_sm2_keypair,
    generate_sm4_key,
    load_private_key,
    load_public_key,
    public_key_fingerprint,
    rs_hex_to_der_signature,
    sm2_private_hex,
    sm2_public_hex,
    sm2_sign,
    sm2_verify,
    sm3_digest,
    sm3_hex,
    sm4_decrypt,
    sm4_encrypt,
)

MESSAGES = [
    b"",
    b"abc",
    "预算管理一体化 — 指标下达".encode(),
    bytes(range(256)) * 40,  # 10 KiB
]
MESSAGE_IDS = ["empty", "abc", "utf8", "10KiB"]

P256_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf0/bWalgHMnuAqaPd57YCUl8UMfr
YJ1Hq6dDb0FRUgB6IPxV7OaQp2Hzn9NTaBH2DDSe55I08Lme3oSR92wn4Q==
-----END PUBLIC KEY-----
"""
ED25519_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAr4iYUjbxJA12wCfoUhcz/XhO/GhQKqPd1fwRjk8g7GM=
-----END PUBLIC KEY-----
"""
RSA_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDp0KwoGTFswj+a49QsX6QeVOsZ
XH2AlOVtQfqewoXJHtuu1Rpw6RUFAwlFPVc01qYSvJnuGu2NKxNHhnm22TMSX2B3
YPL8SxV3SCZYGrmDcZ8ijv7B9spIOFWxlbJPbbmsHTYvNyhWITLR1kJtnrL5K+lR
039ZgjYF03QP8HScsQIDAQAB
-----END PUBLIC KEY-----
"""


def _gmssl_friendly_keypair() -> SM2KeyPair:
    # gmssl 3.2.2 strips a "04" prefix with str.lstrip("04"), which also eats a public key
    # whose x coordinate itself starts with 0x04; avoid that 1-in-256 case.
    while True:
        pair = generate_sm2_keypair()
        if not sm2_public_hex(pair.public_pem).startswith("04"):
            return pair


def _gmssl(pair: SM2KeyPair) -> gm_sm2.CryptSM2:
    return gm_sm2.CryptSM2(
        private_key=sm2_private_hex(pair.private_pem), public_key=sm2_public_hex(pair.public_pem)
    )


def _gmssl_sign(pair: SM2KeyPair, data: bytes) -> str:
    k = f"{secrets.randbelow(SM2_CURVE_ORDER - 1) + 1:064x}"
    return _gmssl(pair).sign_with_sm3(data, k)


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def _raw_der(r_body: bytes, s_body: bytes) -> bytes:
    body = b"\x02" + bytes([len(r_body)]) + r_body + b"\x02" + bytes([len(s_body)]) + s_body
    return b"\x30" + bytes([len(body)]) + body


@pytest.fixture(scope="module")
def pair() -> SM2KeyPair:
    return _gmssl_friendly_keypair()


@pytest.fixture(scope="module")
def other_pair() -> SM2KeyPair:
    return _gmssl_friendly_keypair()


# --- SM3 -----------------------------------------------------------------------------------


def test_sm3_known_answers() -> None:
    # GB/T 32905-2016 appendix A, examples 1 and 2.
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_digest(b"abc") == bytes.fromhex(sm3_hex(b"abc"))
    assert sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2048))
def test_sm3_matches_gmssl(data: bytes) -> None:
    assert sm3_hex(data) == gm_sm3.sm3_hash(list(data))


# --- SM2 keys ------------------------------------------------------------------------------


def test_keypair_formats(pair: SM2KeyPair) -> None:
    assert pair.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pair.public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert b"PRIVATE" not in repr(pair).encode()
    load_private_key(pair.private_pem)
    load_public_key(pair.public_pem)
    load_public_key(pair.public_pem.decode())  # str PEM accepted too


def test_hex_forms_match_gmssl_point_multiplication(pair: SM2KeyPair) -> None:
    private_hex = sm2_private_hex(pair.private_pem)
    public_hex = sm2_public_hex(pair.public_pem)
    assert len(private_hex) == 64 and len(public_hex) == 128
    gm = _gmssl(pair)
    assert gm._kg(int(private_hex, 16), gm_sm2.default_ecc_table["g"]) == public_hex


def test_fingerprint_stable_and_distinct(pair: SM2KeyPair, other_pair: SM2KeyPair) -> None:
    fp = public_key_fingerprint(pair.public_pem)
    assert len(fp) == 64 and fp == fp.lower()
    assert public_key_fingerprint(pair.public_pem) == fp
    assert public_key_fingerprint(pair.public_pem.replace(b"\n", b"\r\n")) == fp
    der = base64.b64decode(b"".join(pair.public_pem.splitlines()[1:-1]))
    assert fp == sm3_hex(der)
    assert public_key_fingerprint(other_pair.public_pem) != fp
    assert public_key_fingerprint(generate_sm2_keypair().public_pem) != fp


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"not a key",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        P256_PUBLIC_PEM,
        ED25519_PUBLIC_PEM,
        RSA_PUBLIC_PEM,
    ],
    ids=["empty", "text", "bad-base64-body", "p256", "ed25519", "rsa"],
)
def test_bad_public_pem_raises(pem: bytes) -> None:
    with pytest.raises(CryptoError):
        load_public_key(pem)
    with pytest.raises(CryptoError):
        public_key_fingerprint(pem)
    with pytest.raises(CryptoError):
        sm2_verify(pem, b"abc", b"\x30\x00")


def test_private_pem_is_not_a_public_key(pair: SM2KeyPair) -> None:
    with pytest.raises(CryptoError):
        load_public_key(pair.private_pem)


@pytest.mark.parametrize("pem", [b"", b"garbage", P256_PUBLIC_PEM], ids=["empty", "text", "public"])
def test_bad_private_pem_raises(pem: bytes) -> None:
    with pytest.raises(CryptoError):
        SoftwareSM2Signer(pem)
    with pytest.raises(CryptoError):
        sm2_sign(pem, b"abc")


def test_public_pem_is_not_a_private_key(pair: SM2KeyPair) -> None:
    with pytest.raises(CryptoError):
        load_private_key(pair.public_pem)


# --- SM2 signatures ------------------------------------------------------------------------


def test_software_signer_is_a_provider(pair: SM2KeyPair) -> None:
    signer = SoftwareSM2Signer(pair.private_pem)
    assert isinstance(signer, SignatureProvider)
    assert signer.public_pem == pair.public_pem
    assert sm2_verify(signer.public_pem, b"abc", signer.sign(b"abc"))
    assert b"PRIVATE" not in repr(signer).encode()


def test_signatures_are_randomised(pair: SM2KeyPair) -> None:
    assert sm2_sign(pair.private_pem, b"abc") != sm2_sign(pair.private_pem, b"abc")


@pytest.mark.parametrize("message", MESSAGES, ids=MESSAGE_IDS)
def test_our_signature_verifies_with_gmssl(pair: SM2KeyPair, message: bytes) -> None:
    signature = sm2_sign(pair.private_pem, message)
    assert sm2_verify(pair.public_pem, message, signature)
    assert _gmssl(pair).verify_with_sm3(der_signature_to_rs_hex(signature), message) is True


@pytest.mark.parametrize("message", MESSAGES, ids=MESSAGE_IDS)
def test_gmssl_signature_verifies_with_ours(pair: SM2KeyPair, message: bytes) -> None:
    rs_hex = _gmssl_sign(pair, message)
    assert sm2_verify(pair.public_pem, message, rs_hex_to_der_signature(rs_hex))


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=4096))
def test_sign_verify_roundtrip_arbitrary_bytes(pair: SM2KeyPair, data: bytes) -> None:
    signature = sm2_sign(pair.private_pem, data)
    assert sm2_verify(pair.public_pem, data, signature)
    assert not sm2_verify(pair.public_pem, data + b"\x00", signature)


@pytest.mark.parametrize("message", MESSAGES, ids=MESSAGE_IDS)
def test_changed_message_fails(pair: SM2KeyPair, message: bytes) -> None:
    signature = sm2_sign(pair.private_pem, message)
    rs_hex = der_signature_to_rs_hex(signature)
    tampered = [message + b"\x00"]
    if message:
        tampered += [_flip(message, 0), _flip(message, len(message) // 2, 0x80), _flip(message, -1)]
    for changed in tampered:
        assert not sm2_verify(pair.public_pem, changed, signature)
        assert not _gmssl(pair).verify_with_sm3(rs_hex, changed)


def test_changed_signature_byte_fails(pair: SM2KeyPair) -> None:
    message = b"indicator 2025-001 amount 1000000.00"
    signature = sm2_sign(pair.private_pem, message)
    for index in range(len(signature)):
        for mask in (0x01, 0x80):
            assert not sm2_verify(pair.public_pem, message, _flip(signature, index, mask))
    rs_hex = der_signature_to_rs_hex(signature)
    gm = _gmssl(pair)
    for index in (0, 31, 63, 64, 100, 127):
        changed = rs_hex[:index] + format(int(rs_hex[index], 16) ^ 1, "x") + rs_hex[index + 1 :]
        assert not gm.verify_with_sm3(changed, message)


def test_wrong_public_key_fails(pair: SM2KeyPair, other_pair: SM2KeyPair) -> None:
    signature = sm2_sign(pair.private_pem, b"abc")
    assert not sm2_verify(other_pair.public_pem, b"abc", signature)
    assert not _gmssl(other_pair).verify_with_sm3(der_signature_to_rs_hex(signature), b"abc")


def test_malformed_signature_is_false(pair: SM2KeyPair) -> None:
    signature = sm2_sign(pair.private_pem, b"abc")
    r, s = int(der_signature_to_rs_hex(signature)[:64], 16), int(der_signature_to_rs_hex(signature)[64:], 16)
    one = b"\x01"
    n_bytes = b"\x00" + SM2_CURVE_ORDER.to_bytes(32, "big")
    malformed = [
        b"",
        b"\x30",
        b"\x30\x00",
        b"garbage" * 10,
        signature[:-1],
        signature + b"\x00",
        bytes.fromhex(der_signature_to_rs_hex(signature)),  # raw r||s, not DER
        _raw_der(b"\x00", one),  # r = 0
        _raw_der(one, n_bytes),  # s = n
        _raw_der(b"\x80", one),  # negative
        _raw_der(b"\x00\x01", one),  # non-minimal
        _raw_der(b"\x00\x00" + r.to_bytes(32, "big"), s.to_bytes(33, "big")),  # over-padded r
        _raw_der(r.to_bytes(33, "big"), b"\x00\x00" + s.to_bytes(32, "big")),  # over-padded s
        b"\x30\x81" + bytes([len(signature) - 2]) + signature[2:],  # long-form length
        "not bytes",
    ]
    for bad in malformed:
        assert sm2_verify(pair.public_pem, b"abc", bad) is False  # type: ignore[arg-type]


def test_rs_hex_conversion(pair: SM2KeyPair) -> None:
    signature = sm2_sign(pair.private_pem, b"abc")
    rs_hex = der_signature_to_rs_hex(signature)
    assert len(rs_hex) == 128
    assert rs_hex_to_der_signature(rs_hex) == signature
    assert rs_hex_to_der_signature(rs_hex.upper()) == signature
    small = rs_hex_to_der_signature("00" * 31 + "01" + "7f" + "00" * 31)
    assert der_signature_to_rs_hex(small) == "00" * 31 + "01" + "7f" + "00" * 31
    for bad in [
        "",
        "zz" * 64,
        rs_hex[:-2],
        rs_hex + "00",
        "00" * 64,
        f"{SM2_CURVE_ORDER:064x}" + "01" * 32,
        " " + rs_hex[1:],
    ]:
        with pytest.raises(CryptoError):
            rs_hex_to_der_signature(bad)
    with pytest.raises(CryptoError):
        der_signature_to_rs_hex(b"\x30\x00")


# --- SM4 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 10 * 1024])
def test_sm4_roundtrip(size: int) -> None:
    key = generate_sm4_key()
    plaintext = secrets.token_bytes(size)
    blob = sm4_encrypt(key, plaintext)
    assert len(blob) == 12 + size + 16
    assert sm4_decrypt(key, blob) == plaintext
    assert sm4_encrypt(key, plaintext) != blob  # fresh nonce each time


def test_sm4_gcm_known_answer() -> None:
    # RFC 8998 appendix A.1 (SM4-GCM).
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    ciphertext = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    tag = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")
    assert sm4_decrypt(key, nonce + ciphertext + tag, aad=aad) == plaintext


def test_sm4_tamper_detected() -> None:
    key = generate_sm4_key()
    blob = sm4_encrypt(key, b"account 6222 0000 1111", aad=b"payee:42")
    assert sm4_decrypt(key, blob, aad=b"payee:42") == b"account 6222 0000 1111"
    for index in range(len(blob)):
        with pytest.raises(CryptoError):
            sm4_decrypt(key, _flip(blob, index), aad=b"payee:42")
    for bad_blob in [blob[:-1], blob + b"\x00", blob[:27], b""]:
        with pytest.raises(CryptoError):
            sm4_decrypt(key, bad_blob, aad=b"payee:42")
    with pytest.raises(CryptoError):
        sm4_decrypt(key, blob, aad=b"payee:43")
    with pytest.raises(CryptoError):
        sm4_decrypt(generate_sm4_key(), blob, aad=b"payee:42")


@pytest.mark.parametrize("length", [0, 8, 15, 17, 24, 32])
def test_sm4_wrong_key_length(length: int) -> None:
    key = bytes(length)
    with pytest.raises(CryptoError):
        sm4_encrypt(key, b"data")
    with pytest.raises(CryptoError):
        sm4_decrypt(key, bytes(40))


def test_sm4_key_must_be_bytes() -> None:
    with pytest.raises(CryptoError):
        sm4_encrypt("0123456789abcdef", b"data")  # type: ignore[arg-type]

"""Commercial cryptography (商用密码) provider: SM2 / SM3 / SM4 via Tongsuo (tongsuopy).

SM2 signatures follow GB/T 32918 with SM3 and the default user id ``1234567812345678``
(Tongsuo's default; interoperable with gmssl's ``sign_with_sm3`` / ``verify_with_sm3``).
Signatures are DER ``SEQUENCE { r INTEGER, s INTEGER }``; gmssl uses raw ``r||s`` hex, see
:func:`der_signature_to_rs_hex` / :func:`rs_hex_to_der_signature`.

Signing goes through :class:`SignatureProvider` so an HSM / UKEY implementation can replace
:class:`SoftwareSM2Signer` without touching callers.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.ciphers.aead import SM4GCM
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature, InvalidTag, UnsupportedAlgorithm

__all__ = [
    "CryptoError",
    "SM2KeyPair",
    "SignatureProvider",
    "SoftwareSM2Signer",
    "der_signature_to_rs_hex",
    "generate_sm2_keypair",
    "generate_sm4_key",
    "load_private_key",
    "load_public_key",
    "pbkdf2_derive",
    "pbkdf2_hash_name",
    "public_key_fingerprint",
    "rs_hex_to_der_signature",
    "sm2_private_hex",
    "sm2_public_hex",
    "sm2_sign",
    "sm2_verify",
    "sm3_digest",
    "sm3_hex",
    "sm4_decrypt",
    "sm4_encrypt",
]

# Order n of the SM2 recommended curve (GB/T 32918.5).
SM2_CURVE_ORDER = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
SM4_KEY_SIZE = 16
SM4_NONCE_SIZE = 12
SM4_TAG_SIZE = 16

_SIGNATURE_ALGORITHM = ec.ECDSA(hashes.SM3())  # on an SM2 key Tongsuo computes SM3(Z || M) and signs SM2
_RS_HEX = re.compile(r"[0-9a-fA-F]{128}")
_MAX_DER_SIGNATURE = 2 + 2 * (2 + 33)


class CryptoError(Exception):
    """Invalid key, ciphertext or parameter for a cryptographic operation."""


# --- SM3 -----------------------------------------------------------------------------------


def sm3_digest(data: bytes) -> bytes:
    """SM3 hash (32 bytes)."""
    h = hashes.Hash(hashes.SM3())
    h.update(bytes(data))
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    """SM3 hash as 64 lowercase hex characters."""
    return sm3_digest(data).hex()


# --- SM2 keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SM2KeyPair:
    private_pem: bytes  # PKCS#8, unencrypted
    public_pem: bytes  # SubjectPublicKeyInfo

    def __repr__(self) -> str:  # never print the private key
        return f"SM2KeyPair(fingerprint={public_key_fingerprint(self.public_pem)!r})"


def _pem(pem: bytes | str) -> bytes:
    return pem.encode("ascii") if isinstance(pem, str) else bytes(pem)


def _public_pem_of(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_sm2_keypair() -> SM2KeyPair:
    """Generate a fresh SM2 key pair (PEM)."""
    key = ec.generate_private_key(ec.SM2())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SM2KeyPair(private_pem=private_pem, public_pem=_public_pem_of(key))


def load_public_key(pem: bytes | str) -> ec.EllipticCurvePublicKey:
    """Load a PEM SubjectPublicKeyInfo; raise CryptoError unless it is an SM2 key."""
    try:
        key = serialization.load_pem_public_key(_pem(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm, InternalError) as exc:
        raise CryptoError(f"not a valid SM2 public key: {exc.__class__.__name__}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SM2):
        raise CryptoError("not an SM2 public key")
    return key


def load_private_key(pem: bytes | str) -> ec.EllipticCurvePrivateKey:
    """Load an unencrypted PEM private key; raise CryptoError unless it is an SM2 key."""
    try:
        key = serialization.load_pem_private_key(_pem(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, InternalError) as exc:
        raise CryptoError(f"not a valid SM2 private key: {exc.__class__.__name__}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SM2):
        raise CryptoError("not an SM2 private key")
    return key


@functools.lru_cache(maxsize=256)
def _cached_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    return load_public_key(pem)


def public_key_fingerprint(public_pem: bytes | str) -> str:
    """SM3 hex of the DER SubjectPublicKeyInfo (independent of PEM line endings)."""
    der = _cached_public_key(_pem(public_pem)).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sm3_hex(der)


def sm2_private_hex(private_pem: bytes | str) -> str:
    """Private scalar d as 64 hex characters (gmssl ``private_key``)."""
    return f"{load_private_key(private_pem).private_numbers().private_value:064x}"


def sm2_public_hex(public_pem: bytes | str) -> str:
    """Public point as 128 hex characters x||y, no 04 prefix (gmssl ``public_key``)."""
    point = _cached_public_key(_pem(public_pem)).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return point[1:].hex()


# --- SM2 signature encoding ----------------------------------------------------------------


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # keeps a 0x00 when the top bit is set
    return b"\x02" + bytes([len(body)]) + body


def _parse_der_signature(der: bytes) -> tuple[int, int]:
    """Strict DER decode of an SM2 signature; raise CryptoError on anything non-canonical."""
    if not isinstance(der, bytes | bytearray | memoryview):
        raise CryptoError("signature must be bytes")
    der = bytes(der)
    if not 8 <= len(der) <= _MAX_DER_SIGNATURE or der[0] != 0x30 or der[1] != len(der) - 2:
        raise CryptoError("malformed SM2 signature")
    values: list[int] = []
    pos = 2
    for _ in range(2):
        if pos + 2 > len(der) or der[pos] != 0x02:
            raise CryptoError("malformed SM2 signature")
        length = der[pos + 1]
        body = der[pos + 2 : pos + 2 + length]
        if not 1 <= length <= 33 or len(body) != length or body[0] & 0x80:
            raise CryptoError("malformed SM2 signature")
        if length > 1 and body[0] == 0 and not body[1] & 0x80:
            raise CryptoError("malformed SM2 signature")  # non-minimal integer
        value = int.from_bytes(body, "big")
        if not 1 <= value < SM2_CURVE_ORDER:
            raise CryptoError("SM2 signature value out of range")
        values.append(value)
        pos += 2 + length
    if pos != len(der):
        raise CryptoError("malformed SM2 signature")
    return values[0], values[1]


def der_signature_to_rs_hex(der: bytes) -> str:
    """DER signature -> 128 hex characters r||s (gmssl format)."""
    r, s = _parse_der_signature(der)
    return f"{r:064x}{s:064x}"


def rs_hex_to_der_signature(rs_hex: str) -> bytes:
    """128 hex characters r||s (gmssl format) -> DER signature."""
    if not isinstance(rs_hex, str) or not _RS_HEX.fullmatch(rs_hex):
        raise CryptoError("r||s signature must be 128 hex characters")
    r, s = int(rs_hex[:64], 16), int(rs_hex[64:], 16)
    if not (1 <= r < SM2_CURVE_ORDER and 1 <= s < SM2_CURVE_ORDER):
        raise CryptoError("SM2 signature value out of range")
    body = _der_integer(r) + _der_integer(s)
    return b"\x30" + bytes([len(body)]) + body


# --- SM2 signing ---------------------------------------------------------------------------


@runtime_checkable
class SignatureProvider(Protocol):
    """Anything that signs with SM2/SM3 (software key, HSM, UKEY)."""

    @property
    def public_pem(self) -> bytes:
        """PEM SubjectPublicKeyInfo of the signing key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """DER-encoded SM2 signature over ``data`` (default user id)."""
        ...


class SoftwareSM2Signer:
    """SignatureProvider backed by an in-process PKCS#8 private key."""

    __slots__ = ("_key", "_public_pem")

    def __init__(self, private_pem: bytes | str) -> None:
        self._key = load_private_key(private_pem)
        self._public_pem = _public_pem_of(self._key)

    @property
    def public_pem(self) -> bytes:
        return self._public_pem

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(bytes(data), _SIGNATURE_ALGORITHM)

    def __repr__(self) -> str:
        return f"SoftwareSM2Signer(fingerprint={public_key_fingerprint(self._public_pem)!r})"


def sm2_sign(private_pem: bytes | str, data: bytes) -> bytes:
    """Sign ``data`` with SM2/SM3; returns a DER signature."""
    return SoftwareSM2Signer(private_pem).sign(data)


def sm2_verify(public_pem: bytes | str, data: bytes, signature: bytes) -> bool:
    """True iff ``signature`` (DER) is valid for ``data``; False for bad or malformed signatures.

    An unusable public key is a configuration error and raises CryptoError.
    """
    key = _cached_public_key(_pem(public_pem))
    try:
        _parse_der_signature(signature)
        key.verify(bytes(signature), bytes(data), _SIGNATURE_ALGORITHM)
    except (CryptoError, InvalidSignature, InternalError):
        return False
    return True


# --- key derivation ----------------------------------------------------------------------


def pbkdf2_hash_name() -> str:
    """The PBKDF2 hash to use: SM3 where the OpenSSL under :mod:`hashlib` has it, else SHA-256."""
    return "sm3" if "sm3" in hashlib.algorithms_available else "sha256"


def pbkdf2_derive(secret: str | bytes, salt: bytes, iterations: int, *, hash_name: str = "sm3",
                  length: int = SM4_KEY_SIZE) -> bytes:
    """PBKDF2-HMAC (RFC 8018) of ``secret`` — a PIN or passphrase — with ``hash_name`` (``sm3`` or ``sha256``)."""
    if hash_name not in ("sm3", "sha256"):
        raise CryptoError(f"unsupported PBKDF2 hash {hash_name!r}")
    if not isinstance(salt, bytes | bytearray) or len(salt) < 16 or not 1 <= int(iterations) <= 10_000_000:
        raise CryptoError("PBKDF2 needs a salt of at least 16 bytes and 1..10,000,000 iterations")
    data = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    try:
        return hashlib.pbkdf2_hmac(hash_name, data, bytes(salt), int(iterations), length)
    except ValueError:
        raise CryptoError(f"PBKDF2-HMAC-{hash_name.upper()} is not available here") from None


# --- SM4 -----------------------------------------------------------------------------------


def generate_sm4_key() -> bytes:
    """Random 128-bit SM4 key."""
    return os.urandom(SM4_KEY_SIZE)


def _sm4(key: bytes) -> SM4GCM:
    if not isinstance(key, bytes | bytearray) or len(key) != SM4_KEY_SIZE:
        raise CryptoError("SM4 key must be 16 bytes")
    return SM4GCM(bytes(key))


def sm4_encrypt(key: bytes, plaintext: bytes, *, aad: bytes = b"") -> bytes:
    """SM4-GCM encrypt; returns nonce(12) || ciphertext || tag(16).

    The nonce is random: keep well below 2**32 messages per key.
    """
    cipher = _sm4(key)
    nonce = os.urandom(SM4_NONCE_SIZE)
    return nonce + cipher.encrypt(nonce, bytes(plaintext), bytes(aad))


def sm4_decrypt(key: bytes, blob: bytes, *, aad: bytes = b"") -> bytes:
    """Reverse :func:`sm4_encrypt`; raise CryptoError if the blob was altered or the key is wrong."""
    cipher = _sm4(key)
    blob = bytes(blob)
    if len(blob) < SM4_NONCE_SIZE + SM4_TAG_SIZE:
        raise CryptoError("SM4 ciphertext is too short")
    try:
        return cipher.decrypt(blob[:SM4_NONCE_SIZE], blob[SM4_NONCE_SIZE:], bytes(aad))
    except InvalidTag:
        raise CryptoError("SM4 authentication failed") from None

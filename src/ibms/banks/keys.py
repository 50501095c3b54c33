"""Seal keys at rest: SM2 private keys are SM4-GCM encrypted with a key-encryption key (KEK).

KEK: ``settings.IBMS_KEY_ENCRYPTION_KEY`` or the environment variable ``IBMS_KEY_ENCRYPTION_KEY`` — 32 hex
characters (16 bytes). Without it the KEK is derived from ``SECRET_KEY`` (SM3 of a label and the secret key, first
16 bytes): convenient for development and the demo, but then rotating SECRET_KEY makes the stored seal keys
unreadable — set IBMS_KEY_ENCRYPTION_KEY in production (and keep it out of the database backup). The AAD of each
blob is the key's public fingerprint, so encrypted blobs cannot be swapped between rows. An HSM/UKEY provider can
replace :func:`signer_for` (it returns a ``core.crypto.SignatureProvider``)."""

from __future__ import annotations

import os
import threading

from django.conf import settings

from ibms.core.crypto import (
    CryptoError,
    SignatureProvider,
    SoftwareSM2Signer,
    sm3_digest,
    sm4_decrypt,
    sm4_encrypt,
)

_cache: dict[tuple[int, str], SoftwareSM2Signer] = {}
_lock = threading.Lock()


def key_encryption_key() -> bytes:
    value = getattr(settings, "IBMS_KEY_ENCRYPTION_KEY", "") or os.environ.get("IBMS_KEY_ENCRYPTION_KEY", "")
    if value:
        try:
            kek = bytes.fromhex(value.strip())
        except ValueError:
            raise CryptoError("IBMS_KEY_ENCRYPTION_KEY must be 32 hex characters") from None
        if len(kek) != 16:
            raise CryptoError("IBMS_KEY_ENCRYPTION_KEY must be 32 hex characters (16 bytes)")
        return kek
    return sm3_digest(b"ibms.banks.kek|" + settings.SECRET_KEY.encode("utf-8"))[:16]


def private_key_encrypt(private_pem: bytes, fingerprint: str) -> bytes:
    return sm4_encrypt(key_encryption_key(), private_pem, aad=fingerprint.encode("ascii"))


def signer_for(key) -> SignatureProvider:
    """The SignatureProvider of a :class:`~ibms.banks.models.SigningKey` (decrypted once per process)."""
    ck = (key.pk, key.fingerprint)
    with _lock:
        signer = _cache.get(ck)
    if signer is None:
        pem = sm4_decrypt(key_encryption_key(), bytes(key.private_encrypted), aad=key.fingerprint.encode("ascii"))
        signer = SoftwareSM2Signer(pem)
        with _lock:
            _cache[ck] = signer
    return signer

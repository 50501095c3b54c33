"""Personal signing keys (签名人密钥) behind a provider, so that a UKEY or HSM can replace the software keystore.

A provider makes a person's key pair at enrolment (:meth:`create`) and, given the person's PIN at signing, opens
it as a :class:`ibms.core.crypto.SignatureProvider` (:meth:`open`). The setting ``IBMS_SIGNER_PROVIDER`` (or the
environment variable of that name) names the provider class; the default is :class:`SoftwareKeystore`.

The software keystore keeps the SM2 private key (PKCS#8) in the database, SM4-GCM encrypted under a key derived
from the PIN with PBKDF2-HMAC-SM3 (PBKDF2-HMAC-SHA256 where the OpenSSL under Python has no SM3), a random 16-byte
salt per key and ``IBMS_SIGNER_PIN_ITERATIONS`` iterations (200,000 for SM3 — about 0.4 s on one core —, 600,000
for SHA-256); the KDF, salt and count are stored beside the ciphertext, so a later change of the count applies to
new keys only. The AAD binds the ciphertext to its row (the key's fingerprint and the person). The PIN is never
stored: a wrong PIN fails SM4-GCM's authentication. Nothing here is kept after signing, so nobody — the worker
included — can sign later without the PIN."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from ibms.core.crypto import (
    CryptoError,
    SignatureProvider,
    SoftwareSM2Signer,
    generate_sm2_keypair,
    pbkdf2_derive,
    pbkdf2_hash_name,
    public_key_fingerprint,
    sm4_decrypt,
    sm4_encrypt,
)

DEFAULT_PROVIDER = "ibms.banks.keystore.SoftwareKeystore"
DEFAULT_ITERATIONS = {"sm3": 200_000, "sha256": 600_000}
SALT_BYTES = 16


class WrongPin(Exception):
    """The PIN does not open this key."""


@dataclass(frozen=True)
class KeyMaterial:
    """What a provider hands back at enrolment, stored on the :class:`~ibms.banks.models.Signer` row."""

    public_pem: str
    fingerprint: str
    key_blob: bytes  # the encrypted private key (software) or the token's key reference (UKEY/HSM)
    kdf: str = ""
    kdf_salt: str = ""  # hex
    kdf_iterations: int = 0

    def __repr__(self) -> str:  # never print the key material
        return f"KeyMaterial(fingerprint={self.fingerprint!r}, kdf={self.kdf!r})"


class PersonalKeyProvider(Protocol):
    """Makes and opens a person's signing key (software keystore, UKEY, HSM)."""

    name: str

    def create(self, *, pin: str, owner: str) -> KeyMaterial:
        """A new key pair protected by ``pin``; ``owner`` (a stable id of the person) is bound into it."""
        ...

    def open(self, signer, *, pin: str) -> SignatureProvider:
        """The signer's key, opened with ``pin``; :class:`WrongPin` when it does not open it."""
        ...


def _iterations(hash_name: str) -> int:
    value = getattr(settings, "IBMS_SIGNER_PIN_ITERATIONS", 0) or os.environ.get("IBMS_SIGNER_PIN_ITERATIONS", "")
    return int(value) if value else DEFAULT_ITERATIONS[hash_name]


def _aad(fingerprint: str, owner: str) -> bytes:
    return f"ibms.signer|{fingerprint}|{owner}".encode()


class SoftwareKeystore:
    """The private key in the database, encrypted with SM4-GCM under PBKDF2(PIN)."""

    name = "software"

    def create(self, *, pin: str, owner: str) -> KeyMaterial:
        kp = generate_sm2_keypair()
        fingerprint = public_key_fingerprint(kp.public_pem)
        hash_name = pbkdf2_hash_name()
        salt = os.urandom(SALT_BYTES)
        iterations = _iterations(hash_name)
        kek = pbkdf2_derive(pin, salt, iterations, hash_name=hash_name)
        blob = sm4_encrypt(kek, kp.private_pem, aad=_aad(fingerprint, owner))
        return KeyMaterial(public_pem=kp.public_pem.decode("ascii"), fingerprint=fingerprint, key_blob=blob,
                           kdf=f"pbkdf2-hmac-{hash_name}", kdf_salt=salt.hex(), kdf_iterations=iterations)

    def open(self, signer, *, pin: str) -> SignatureProvider:
        hash_name = (signer.kdf or "").removeprefix("pbkdf2-hmac-")
        kek = pbkdf2_derive(pin, bytes.fromhex(signer.kdf_salt), signer.kdf_iterations, hash_name=hash_name)
        try:
            pem = sm4_decrypt(kek, bytes(signer.key_blob), aad=_aad(signer.fingerprint, str(signer.user_id)))
        except CryptoError:
            raise WrongPin() from None
        provider = SoftwareSM2Signer(pem)
        if public_key_fingerprint(provider.public_pem) != signer.fingerprint:
            raise CryptoError("the stored key does not match the signer's public key")
        return provider


def provider() -> PersonalKeyProvider:
    """The configured provider (``IBMS_SIGNER_PROVIDER``)."""
    path = getattr(settings, "IBMS_SIGNER_PROVIDER", "") or os.environ.get("IBMS_SIGNER_PROVIDER", "") or DEFAULT_PROVIDER
    return import_string(path)()


def provider_for(signer) -> PersonalKeyProvider:
    """The provider that holds ``signer``'s key (the configured one must be it)."""
    p = provider()
    if p.name != signer.provider:
        raise CryptoError(f"signer key held by provider {signer.provider!r}, configured provider is {p.name!r}")
    return p

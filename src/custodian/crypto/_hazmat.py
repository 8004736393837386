"""The primitives, in one place. Nothing outside `custodian.crypto` imports this module,
and the rest of the package reaches cryptography's primitives only through it.

Suites are numbered; the number is written in every blob's header so the suite can
change later without ambiguity. `InvalidTag` is re-exported so the package's safe API
can translate it into custodian's errors: it never leaves `custodian.crypto`.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.twofactor.totp import TOTP

__all__ = ["InvalidTag"]

SUITE_MLKEM768_X25519 = 1

SUITES: dict[int, hpke.Suite] = {
    SUITE_MLKEM768_X25519: hpke.Suite(
        hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM
    ),
}
CURRENT_SUITE = SUITE_MLKEM768_X25519

MLKEM_SEED_LEN = 64
X25519_LEN = 32
PRIVATE_LEN = MLKEM_SEED_LEN + X25519_LEN
MLKEM_PUBLIC_LEN = 1184
PUBLIC_LEN = MLKEM_PUBLIC_LEN + X25519_LEN

AES_KEY_LEN = 32  # AES-256
GCM_NONCE_LEN = 12


def generate_private() -> bytes:
    m = mlkem.MLKEM768PrivateKey.generate()
    x = x25519.X25519PrivateKey.generate()
    return m.private_bytes_raw() + x.private_bytes_raw()


def load_private(raw: bytes) -> hpke.MLKEM768X25519PrivateKey:
    if len(raw) != PRIVATE_LEN:
        raise ValueError("bad private key length")
    m = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:MLKEM_SEED_LEN])
    x = x25519.X25519PrivateKey.from_private_bytes(raw[MLKEM_SEED_LEN:])
    return hpke.MLKEM768X25519PrivateKey(m, x)


def public_of(raw_private: bytes) -> bytes:
    m = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw_private[:MLKEM_SEED_LEN])
    x = x25519.X25519PrivateKey.from_private_bytes(raw_private[MLKEM_SEED_LEN:])
    return m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()


def load_public(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    if len(raw) != PUBLIC_LEN:
        raise ValueError("bad public key length")
    m = mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM_PUBLIC_LEN])
    x = x25519.X25519PublicKey.from_public_bytes(raw[MLKEM_PUBLIC_LEN:])
    return hpke.MLKEM768X25519PublicKey(m, x)


# --- AES-256-GCM, Argon2id, HKDF ------------------------------------------------------


def new_aes_key() -> bytes:
    return AESGCM.generate_key(AES_KEY_LEN * 8)


def new_nonce() -> bytes:
    """A random 96-bit GCM nonce (callers use each key for few messages, or once)."""
    return os.urandom(GCM_NONCE_LEN)


def gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """Raises `InvalidTag` when the ciphertext, the key or the associated data differ."""
    return AESGCM(key).decrypt(nonce, ciphertext, aad)


def gcm(key: bytes) -> AESGCM:
    """One AES-256-GCM instance for many chunks under one key (`stream`)."""
    return AESGCM(key)


# One derivation at a time per process: Argon2id runs on OpenSSL's own thread pool (one
# thread per lane), and derivations started from several Python threads at once hang there
# (seen with cryptography 50 on OpenSSL 4.0). One at a time also bounds the memory a burst of
# attempts can claim to one derivation's `memory_kib`.
_ARGON2_LOCK = threading.Lock()


def argon2id(passphrase: bytes, salt: bytes, memory_kib: int, iterations: int, lanes: int) -> bytes:
    kdf = Argon2id(salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory_kib)
    with _ARGON2_LOCK:
        return kdf.derive(passphrase)


def hkdf_sha256(secret: bytes, length: int, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


# --- TOTP (RFC 6238) -----------------------------------------------------------------

_TOTP_HASHES: dict[str, type[hashes.SHA1 | hashes.SHA256 | hashes.SHA512]] = {
    "SHA1": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA512": hashes.SHA512,
}


def totp_code(key: bytes, digits: int, algorithm: str, period: int, at: int) -> str:
    """The code valid at Unix time `at`. SHA-1 is what RFC 6238 and nearly every
    authenticator use; HMAC-SHA-1 is sound here."""
    totp = TOTP(key, digits, _TOTP_HASHES[algorithm](), period, enforce_key_length=False)
    return totp.generate(at).decode()

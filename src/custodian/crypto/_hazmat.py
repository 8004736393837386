"""The primitives, in one place. Nothing outside `custodian.crypto` imports this module.

Suites are numbered; the number is written in every blob's header so the suite can
change later without ambiguity.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

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

"""Custodian's safe cryptographic API.

- `KeyPair` / `PublicKey`: hybrid post-quantum HPKE key pairs (ML-KEM-768 + X25519).
- `seal(plaintext, public_key, context)` / `open_sealed(blob, key_pair, context)`: HPKE
  with the `Context` bound through HPKE's `info`; a blob moved to another row fails.
- `PassphraseLock`: Argon2id + AES-256-GCM around a technician's private keys.
- `RecoveryCode`: the break-glass code shown once at `init`; it derives a key pair.

Every failure to open is one `IntegrityError`, whatever the cause. Callers never see
nonces, salts or suites.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import IntegrityError
from . import _hazmat

__all__ = [
    "Context",
    "KdfParams",
    "KeyPair",
    "PassphraseLock",
    "PublicKey",
    "RecoveryCode",
    "SigningKey",
    "first_bad_signature",
    "open_sealed",
    "seal",
    "verify_signature",
]

FORMAT_VERSION = 1
_SEAL_HEADER = struct.Struct(">BB")  # format version, suite


@dataclass(frozen=True)
class Context:
    """What a blob belongs to. Encoded canonically into HPKE's `info`."""

    purpose: str
    fields: tuple[tuple[str, str | int], ...] = ()

    @classmethod
    def of(cls, purpose: str, **fields: str | int) -> Context:
        return cls(purpose, tuple(sorted(fields.items())))

    def encode(self) -> bytes:
        return json.dumps(
            ["custodian", self.purpose, list(self.fields)], separators=(",", ":")
        ).encode()


class PublicKey:
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        try:
            _hazmat.load_public(raw)
        except ValueError as exc:
            raise IntegrityError("a stored public key is malformed") from exc
        self._raw = bytes(raw)

    def to_bytes(self) -> bytes:
        return self._raw

    def __repr__(self) -> str:
        return f"PublicKey({self._raw[-8:].hex()})"


class KeyPair:
    """An HPKE key pair. Its private half never appears in a repr."""

    __slots__ = ("_private", "_raw", "public_key")

    def __init__(self, raw_private: bytes) -> None:
        try:
            self._private = _hazmat.load_private(raw_private)
        except ValueError as exc:
            raise IntegrityError("a private key is malformed") from exc
        self._raw = bytes(raw_private)
        self.public_key = PublicKey(_hazmat.public_of(raw_private))

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(_hazmat.generate_private())

    def private_bytes(self) -> bytes:
        return self._raw

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public_key!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a KeyPair cannot be pickled")


def _info(header: bytes, context: Context) -> bytes:
    return header + context.encode()


def seal(plaintext: bytes, public_key: PublicKey, context: Context) -> bytes:
    header = _SEAL_HEADER.pack(FORMAT_VERSION, _hazmat.CURRENT_SUITE)
    suite = _hazmat.SUITES[_hazmat.CURRENT_SUITE]
    pk = _hazmat.load_public(public_key.to_bytes())
    return header + suite.encrypt(plaintext, pk, info=_info(header, context))


def open_sealed(blob: bytes, key_pair: KeyPair, context: Context) -> bytes:
    if len(blob) < _SEAL_HEADER.size:
        raise IntegrityError("a sealed value is truncated")
    header = blob[: _SEAL_HEADER.size]
    version, suite_id = _SEAL_HEADER.unpack(header)
    suite = _hazmat.SUITES.get(suite_id)
    if version != FORMAT_VERSION or suite is None:
        raise IntegrityError("a sealed value has an unknown format")
    try:
        return suite.decrypt(
            blob[_SEAL_HEADER.size :], key_pair._private, info=_info(header, context)
        )
    except (InvalidTag, ValueError) as exc:
        raise IntegrityError("a sealed value failed to verify") from exc


class SigningKey:
    """An Ed25519 key that signs access events."""

    __slots__ = ("_key", "_public")

    def __init__(self, raw: bytes) -> None:
        from cryptography.hazmat.primitives import serialization as s

        self._key = Ed25519PrivateKey.from_private_bytes(raw)
        self._public = self._key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32))

    def private_bytes(self) -> bytes:
        from cryptography.hazmat.primitives import serialization as s

        return self._key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())

    def public_bytes(self) -> bytes:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return "SigningKey(...)"


def verify_signature(public: bytes, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def first_bad_signature(items: list[tuple[int, bytes, bytes, bytes]]) -> int | None:
    """Check `(tag, public key, signature, data)` items in order; the tag of the first whose
    signature fails, or None. Public keys are parsed once per call."""
    from cryptography.exceptions import InvalidSignature

    keys: dict[bytes, Ed25519PublicKey | None] = {}
    for tag, public, signature, data in items:
        if public not in keys:
            try:
                keys[public] = Ed25519PublicKey.from_public_bytes(public)
            except ValueError:
                keys[public] = None
        key = keys[public]
        if key is None:
            return tag
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return tag
    return None


# --- passphrase lock ---------------------------------------------------------------


@dataclass(frozen=True, order=True)
class KdfParams:
    """Argon2id cost. The floor is RFC 9106's second recommendation."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    @classmethod
    def floor(cls) -> KdfParams:
        return cls()

    def meets_floor(self) -> bool:
        f = KdfParams.floor()
        return (
            self.memory_kib >= f.memory_kib
            and self.iterations >= f.iterations
            and self.lanes >= f.lanes
        )

    @classmethod
    def calibrate(cls, target_seconds: float = 0.5) -> KdfParams:
        """Raise iterations at the floor's memory until one derivation costs about
        `target_seconds` on this machine (never below the floor)."""
        params = cls.floor()
        for _ in range(3):
            start = time.perf_counter()
            _derive(b"calibration", os.urandom(16), params)
            elapsed = time.perf_counter() - start
            if abs(elapsed - target_seconds) < 0.1 * target_seconds:
                break
            scaled = round(params.iterations * target_seconds / max(elapsed, 1e-6))
            params = cls(params.memory_kib, min(max(scaled, cls.floor().iterations), 1000), 4)
        return params


# One derivation at a time per process: Argon2id runs on OpenSSL's own thread pool (one
# thread per lane), and derivations started from several Python threads at once hang there
# (seen with cryptography 50 on OpenSSL 4.0). One at a time also bounds the memory a burst of
# attempts can claim to one derivation's `memory_kib`.
_DERIVE_LOCK = threading.Lock()


def _derive(passphrase: bytes, salt: bytes, params: KdfParams) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    with _DERIVE_LOCK:
        return kdf.derive(passphrase)


_LOCK_HEADER = struct.Struct(">BBIII16s12s")  # version, kdf id, m, t, p, salt, nonce
_KDF_ARGON2ID = 1


@dataclass(frozen=True)
class PassphraseLock:
    """Seals bytes under a passphrase: Argon2id, then AES-256-GCM; params in the blob."""

    params: KdfParams = field(default_factory=KdfParams.floor)

    def lock(self, secret: bytes, passphrase: str, context: Context) -> bytes:
        if not self.params.meets_floor():
            raise ValueError("key-derivation parameters below the floor")
        salt, nonce = os.urandom(16), os.urandom(12)
        p = self.params
        header = _LOCK_HEADER.pack(
            FORMAT_VERSION, _KDF_ARGON2ID, p.memory_kib, p.iterations, p.lanes, salt, nonce
        )
        key = _derive(passphrase.encode(), salt, p)
        return header + AESGCM(key).encrypt(nonce, secret, header + context.encode())

    @staticmethod
    def params_of(blob: bytes) -> KdfParams:
        if len(blob) < _LOCK_HEADER.size:
            raise IntegrityError("a wrapped key is truncated")
        _, _, m, t, p, _, _ = _LOCK_HEADER.unpack(blob[: _LOCK_HEADER.size])
        return KdfParams(m, t, p)

    @staticmethod
    def unlock(blob: bytes, passphrase: str, context: Context) -> bytes:
        """Open `blob`. Raises `IntegrityError` for a malformed or downgraded blob and
        `InvalidTag` (deliberately distinct) for a wrong passphrase."""
        if len(blob) < _LOCK_HEADER.size:
            raise IntegrityError("a wrapped key is truncated")
        header = blob[: _LOCK_HEADER.size]
        version, kdf, m, t, p, salt, nonce = _LOCK_HEADER.unpack(header)
        if version != FORMAT_VERSION or kdf != _KDF_ARGON2ID:
            raise IntegrityError("a wrapped key has an unknown format")
        params = KdfParams(m, t, p)
        if not params.meets_floor() or m > 4 * 1024 * 1024 or t > 10_000 or p > 64:
            raise IntegrityError("a wrapped key's key-derivation parameters are out of bounds")
        key = _derive(passphrase.encode(), salt, params)
        return AESGCM(key).decrypt(nonce, blob[_LOCK_HEADER.size :], header + context.encode())


# --- recovery code -------------------------------------------------------------------


class RecoveryCode:
    """256 random bits shown once at `init`; deterministically derives a key pair."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise ValueError("a recovery code is 32 bytes")
        self._raw = raw

    @classmethod
    def generate(cls) -> RecoveryCode:
        return cls(os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> RecoveryCode:
        compact = "".join(text.split()).replace("-", "").upper()
        try:
            raw = base64.b32decode(compact + "=" * (-len(compact) % 8))
        except ValueError as exc:
            raise IntegrityError("the recovery code is malformed") from exc
        if len(raw) != 32:
            raise IntegrityError("the recovery code is malformed")
        return cls(raw)

    def display(self) -> str:
        text = base64.b32encode(self._raw).decode().rstrip("=")
        return "-".join(text[i : i + 4] for i in range(0, len(text), 4))

    def key_pair(self) -> KeyPair:
        seed = HKDF(
            algorithm=hashes.SHA256(),
            length=_hazmat.PRIVATE_LEN,
            salt=None,
            info=b"custodian recovery key v1",
        ).derive(self._raw)
        return KeyPair(seed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecoveryCode) and hmac.compare_digest(self._raw, other._raw)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "RecoveryCode(...)"

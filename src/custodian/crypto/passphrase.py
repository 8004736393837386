"""Passphrase locks: Argon2id (`KdfParams`, bounded and floored), then AES-256-GCM.

`PassphraseLock.unlock` raises `WrongPassphrase` when the passphrase (or the context)
does not open the blob, and `IntegrityError` when the blob is malformed, of an unknown
format or asks for out-of-bounds key-derivation parameters.

The same Argon2id output also gives a *login key* (`PassphraseKey.login_key`: an Ed25519
key from HKDF-SHA256 of it, bound to the lock's context), whose public half a server keeps
as the verifier of the passphrase: a client proves the passphrase from the lock's header
alone (salt and parameters, nothing to test a guess against) before the server hands
out the locked blob, so nobody who merely reaches the server can guess offline.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field

from ..errors import IntegrityError, WrongPassphrase
from . import _hazmat
from .context import FORMAT_VERSION, Context
from .signing import SigningKey


@dataclass(frozen=True, order=True)
class KdfParams:
    """Argon2id cost. The floor is RFC 9106's second recommendation."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    @classmethod
    def floor(cls) -> KdfParams:
        return cls()

    @classmethod
    def ceiling(cls) -> KdfParams:
        """The most an unlock may cost: 1 GiB, t=64, p=16 (about 20 s on a 2026 laptop).
        Anything above is refused, so that a database writer who raises the parameters
        in a lock header cannot make every unlock take minutes."""
        return cls(1024 * 1024, 64, 16)

    def within_bounds(self) -> bool:
        c = KdfParams.ceiling()
        return self.meets_floor() and (
            self.memory_kib <= c.memory_kib
            and self.iterations <= c.iterations
            and self.lanes <= c.lanes
        )

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
            derive(b"calibration", os.urandom(16), params)
            elapsed = time.perf_counter() - start
            if abs(elapsed - target_seconds) < 0.1 * target_seconds:
                break
            scaled = round(params.iterations * target_seconds / max(elapsed, 1e-6))
            ceiling = cls.ceiling().iterations
            params = cls(params.memory_kib, min(max(scaled, cls.floor().iterations), ceiling), 4)
        return params


def derive(passphrase: bytes, salt: bytes, params: KdfParams) -> bytes:
    """A 32-byte key from `passphrase` (Argon2id with `params`)."""
    return _hazmat.argon2id(passphrase, salt, params.memory_kib, params.iterations, params.lanes)


_LOCK_HEADER = struct.Struct(">BBIII16s12s")  # version, kdf id, m, t, p, salt, nonce
_KDF_ARGON2ID = 1
HEADER_SIZE = _LOCK_HEADER.size
_LOGIN_INFO = b"custodian login key v1\x00"


@dataclass(frozen=True)
class PassphraseLock:
    """Seals bytes under a passphrase: Argon2id, then AES-256-GCM; params in the blob."""

    params: KdfParams = field(default_factory=KdfParams.floor)

    def lock(self, secret: bytes, passphrase: str, context: Context) -> bytes:
        return self.lock_for_login(secret, passphrase, context)[0]

    def lock_for_login(
        self, secret: bytes, passphrase: str, context: Context
    ) -> tuple[bytes, bytes]:
        """The locked blob, and the public half of its login key (`PassphraseKey`)."""
        if not self.params.within_bounds():
            raise ValueError("key-derivation parameters outside the floor and ceiling")
        salt, nonce = os.urandom(16), _hazmat.new_nonce()
        p = self.params
        header = _LOCK_HEADER.pack(
            FORMAT_VERSION, _KDF_ARGON2ID, p.memory_kib, p.iterations, p.lanes, salt, nonce
        )
        key = PassphraseKey(header, derive(passphrase.encode(), salt, p))
        blob = header + _hazmat.gcm_encrypt(key._key, nonce, secret, header + context.encode())
        return blob, key.login_key(context).public_bytes()

    @staticmethod
    def params_of(blob: bytes) -> KdfParams:
        if len(blob) < _LOCK_HEADER.size:
            raise IntegrityError("a wrapped key is truncated")
        _, _, m, t, p, _, _ = _LOCK_HEADER.unpack(blob[: _LOCK_HEADER.size])
        return KdfParams(m, t, p)

    @staticmethod
    def unlock(blob: bytes, passphrase: str, context: Context) -> bytes:
        """Open `blob`. Raises `IntegrityError` for a malformed or downgraded blob and
        `WrongPassphrase` (deliberately distinct) when the passphrase does not open it."""
        return PassphraseKey.derive(blob, passphrase).open(blob, context)


def decoy_header(params: KdfParams, seed: bytes) -> bytes:
    """The header of a lock that does not exist (salt and nonce from `seed`, 28 bytes or
    more): what a server shows for an unknown account, so that its answer names none."""
    if len(seed) < 28:
        raise ValueError("a decoy needs 28 bytes of seed")
    p = params
    return _LOCK_HEADER.pack(
        FORMAT_VERSION, _KDF_ARGON2ID, p.memory_kib, p.iterations, p.lanes, seed[:16], seed[16:28]
    )


class PassphraseKey:
    """The key a passphrase derives for one lock (from its header: salt, parameters):
    it opens the blob (`open`) and gives the login key (`login_key`); one Argon2id run."""

    __slots__ = ("_key", "header")

    def __init__(self, header: bytes, key: bytes) -> None:
        self.header, self._key = header, key

    def __repr__(self) -> str:
        return "PassphraseKey(...)"

    @classmethod
    def derive(cls, header: bytes, passphrase: str) -> PassphraseKey:
        """`header`: a lock's first `HEADER_SIZE` bytes (or the whole blob). Raises
        `IntegrityError` for an unknown format or out-of-bounds parameters."""
        if len(header) < _LOCK_HEADER.size:
            raise IntegrityError("a wrapped key is truncated")
        header = header[: _LOCK_HEADER.size]
        version, kdf, m, t, p, salt, _ = _LOCK_HEADER.unpack(header)
        if version != FORMAT_VERSION or kdf != _KDF_ARGON2ID:
            raise IntegrityError("a wrapped key has an unknown format")
        params = KdfParams(m, t, p)
        if not params.within_bounds():
            raise IntegrityError("a wrapped key's key-derivation parameters are out of bounds")
        return cls(header, derive(passphrase.encode(), salt, params))

    def open(self, blob: bytes, context: Context) -> bytes:
        """The secret `blob` locks (`WrongPassphrase` if this key does not open it)."""
        header = blob[: _LOCK_HEADER.size]
        if len(blob) < _LOCK_HEADER.size or header != self.header:
            raise IntegrityError("the wrapped key is not the one the login was made for")
        nonce = _LOCK_HEADER.unpack(header)[6]
        try:
            return _hazmat.gcm_decrypt(
                self._key, nonce, blob[_LOCK_HEADER.size :], header + context.encode()
            )
        except _hazmat.InvalidTag:
            raise WrongPassphrase("the passphrase does not open this key") from None

    def login_key(self, context: Context) -> SigningKey:
        """The Ed25519 key that proves this passphrase for this lock to a server."""
        info = _LOGIN_INFO + self.header + context.encode()
        return SigningKey(_hazmat.hkdf_sha256(self._key, 32, info))

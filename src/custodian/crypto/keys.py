"""Hybrid post-quantum HPKE key pairs (ML-KEM-768 + X25519), `seal` / `open_sealed`, and
the recovery code that derives a key pair."""

from __future__ import annotations

import base64
import hmac
import os
import struct

from ..errors import IntegrityError
from . import _hazmat
from .context import FORMAT_VERSION, Context

_SEAL_HEADER = struct.Struct(">BB")  # format version, suite


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
    except (_hazmat.InvalidTag, ValueError) as exc:
        raise IntegrityError("a sealed value failed to verify") from exc


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
        seed = _hazmat.hkdf_sha256(self._raw, _hazmat.PRIVATE_LEN, b"custodian recovery key v1")
        return KeyPair(seed)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecoveryCode) and hmac.compare_digest(self._raw, other._raw)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "RecoveryCode(...)"

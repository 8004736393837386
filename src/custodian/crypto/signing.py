"""Ed25519 signatures over access events: `SigningKey`, `verify_signature`,
`first_bad_signature`. A bad signature is an answer (False, or the item's tag), never an
exception."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


class SigningKey:
    """An Ed25519 key that signs access events."""

    __slots__ = ("_key", "_public")

    def __init__(self, raw: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(raw)
        self._public = self._key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32))

    def private_bytes(self) -> bytes:
        return self._key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())

    def public_bytes(self) -> bytes:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return "SigningKey(...)"


def verify_signature(public: bytes, signature: bytes, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def first_bad_signature(items: list[tuple[int, bytes, bytes, bytes]]) -> int | None:
    """Check `(tag, public key, signature, data)` items in order; the tag of the first whose
    signature fails, or None. Public keys are parsed once per call."""
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

"""Sealing under a random symmetric key the caller holds (the session cache's file).

    key  = new_symmetric_key()                      32 random bytes (AES-256)
    blob = seal_with_key(key, plaintext, context)   version || aead id || nonce || ciphertext
    open_with_key(blob, key, context)               the plaintext, or `IntegrityError`

The header and the `Context` are the AEAD's associated data, so a blob opened under another
context (another session slot, another expiry) fails like a wrong key or a tampered blob:
one `IntegrityError`, whatever the cause. The nonce is random and chosen here.
"""

from __future__ import annotations

import struct

from ..errors import IntegrityError
from . import _hazmat
from .context import FORMAT_VERSION, Context

_HEADER = struct.Struct(">BB")  # format version, AEAD id
_AES_256_GCM = 1
_OVERHEAD = _HEADER.size + _hazmat.GCM_NONCE_LEN + 16  # header, nonce, tag


def new_symmetric_key() -> bytes:
    """A fresh random key for `seal_with_key`."""
    return _hazmat.new_aes_key()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A symmetric key for `seal_with_key`, derived from `secret` for one `purpose`
    (HKDF-SHA256): a member's local state file, keyed by their private keys."""
    return _hazmat.hkdf_sha256(secret, _hazmat.AES_KEY_LEN, b"custodian key " + purpose.encode())


def seal_with_key(key: bytes, plaintext: bytes, context: Context) -> bytes:
    if len(key) != _hazmat.AES_KEY_LEN:
        raise ValueError("a symmetric key is 32 bytes")
    header = _HEADER.pack(FORMAT_VERSION, _AES_256_GCM)
    nonce = _hazmat.new_nonce()
    return header + nonce + _hazmat.gcm_encrypt(key, nonce, plaintext, header + context.encode())


def open_with_key(blob: bytes, key: bytes, context: Context) -> bytes:
    if len(blob) < _OVERHEAD:
        raise IntegrityError("a sealed value is truncated")
    header = blob[: _HEADER.size]
    if _HEADER.unpack(header) != (FORMAT_VERSION, _AES_256_GCM):
        raise IntegrityError("a sealed value has an unknown format")
    if len(key) != _hazmat.AES_KEY_LEN:
        raise IntegrityError("a sealed value failed to verify")
    nonce = blob[_HEADER.size : _HEADER.size + _hazmat.GCM_NONCE_LEN]
    body = blob[_HEADER.size + _hazmat.GCM_NONCE_LEN :]
    try:
        return _hazmat.gcm_decrypt(key, nonce, body, header + context.encode())
    except _hazmat.InvalidTag:
        raise IntegrityError("a sealed value failed to verify") from None

"""Passphrase-sealed streams (backups): Argon2id, then AES-256-GCM in chunks.

    file   = MAGIC || header || sha256(MAGIC || header) || chunk*
    header = version, kdf id, m, t, p, salt(16), nonce prefix(7), chunk size, check(16)
    chunk  = length(4) || AES-256-GCM(key, nonce, plaintext, aad = MAGIC || header)
    nonce  = nonce prefix(7) || chunk counter(4) || last-chunk flag(1)

The nonce carries the chunk's position and whether it is the last one (the STREAM
construction of Hoang, Reyhanitabar, Rogaway and Vizár), so chunks cannot be reordered,
dropped or appended, and a stream cut short lacks its final chunk: all are detected.
The Argon2id output is split with HKDF into the encryption key and a check value that
tells a wrong passphrase (`WrongPassphrase`) from a damaged file (`IntegrityError`);
the header checksum catches damage to the header itself. Everything the reader trusts
(KDF parameters included) is authenticated, and the parameters are bounded before use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ..errors import IntegrityError, WrongPassphrase
from . import _hazmat
from .passphrase import KdfParams, derive

MAGIC = b"CUSTODIAN-BACKUP\x00"
_HEADER = struct.Struct(">BBIII16s7sI16s")
_KDF_ARGON2ID = 1
VERSION = 1
CHUNK = 1 << 16
_LEN = struct.Struct(">I")


def _keys(passphrase: str, salt: bytes, params: KdfParams) -> tuple[bytes, bytes]:
    master = derive(passphrase.encode(), salt, params)
    out = _hazmat.hkdf_sha256(master, 48, b"custodian backup v1")
    return out[:32], out[32:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 1 << 32:
        raise IntegrityError("a sealed stream is too long")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def seal_stream(
    chunks: Iterable[bytes], passphrase: str, out: BinaryIO, params: KdfParams | None = None
) -> None:
    """Write `chunks` (re-cut to CHUNK bytes) to `out`, sealed under `passphrase`."""
    p = params or KdfParams.floor()
    if not p.meets_floor():
        raise ValueError("key-derivation parameters below the floor")
    salt, prefix = os.urandom(16), os.urandom(7)
    key, check = _keys(passphrase, salt, p)
    header = _HEADER.pack(
        VERSION, _KDF_ARGON2ID, p.memory_kib, p.iterations, p.lanes, salt, prefix, CHUNK, check
    )
    aad = MAGIC + header
    out.write(aad + hashlib.sha256(aad).digest())
    aead, counter, pending = _hazmat.gcm(key), 0, b""

    def emit(data: bytes, last: bool) -> None:
        nonlocal counter
        sealed = aead.encrypt(_nonce(prefix, counter, last), data, aad)
        out.write(_LEN.pack(len(sealed)) + sealed)
        counter += 1

    for data in chunks:
        pending += data
        while len(pending) > CHUNK:  # keep at least one byte back for the final chunk
            emit(pending[:CHUNK], False)
            pending = pending[CHUNK:]
    emit(pending, True)


def open_stream(src: BinaryIO, passphrase: str) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, each only after it verified. Raises
    `IntegrityError` for any damage (truncation included) and `WrongPassphrase`
    for a wrong passphrase. A consumer must not act on the data before the end."""
    head = src.read(len(MAGIC) + _HEADER.size + 32)
    if len(head) < len(MAGIC) + _HEADER.size + 32 or not head.startswith(MAGIC):
        raise IntegrityError("not a custodian backup, or its header is truncated")
    aad, digest = head[:-32], head[-32:]
    if not hmac.compare_digest(hashlib.sha256(aad).digest(), digest):
        raise IntegrityError("the backup's header is damaged")
    version, kdf, m, t, lanes, salt, prefix, chunk, check = _HEADER.unpack(aad[len(MAGIC) :])
    params = KdfParams(m, t, lanes)
    if version != VERSION or kdf != _KDF_ARGON2ID:
        raise IntegrityError("the backup has an unknown format version")
    if (
        not params.meets_floor()
        or m > 4 * 1024 * 1024
        or t > 10_000
        or lanes > 64
        or not 0 < chunk <= 1 << 24
    ):
        raise IntegrityError("the backup's parameters are out of bounds")
    key, expected = _keys(passphrase, salt, params)
    if not hmac.compare_digest(check, expected):
        raise WrongPassphrase("wrong backup passphrase")
    aead, counter = _hazmat.gcm(key), 0
    while True:
        raw_len = src.read(_LEN.size)
        if len(raw_len) < _LEN.size:
            raise IntegrityError("the backup is truncated")
        (size,) = _LEN.unpack(raw_len)
        if not 16 <= size <= chunk + 16:
            raise IntegrityError("the backup is damaged (bad chunk length)")
        sealed = src.read(size)
        if len(sealed) < size:
            raise IntegrityError("the backup is truncated")
        for last in (False, True):
            try:
                data = aead.decrypt(_nonce(prefix, counter, last), sealed, aad)
            except _hazmat.InvalidTag:
                continue
            break
        else:
            raise IntegrityError(f"the backup is damaged (chunk {counter} fails to verify)")
        counter += 1
        yield data
        if last:
            if src.read(1):
                raise IntegrityError("the backup has data after its final chunk")
            return

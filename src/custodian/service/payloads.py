"""Sealing and opening payloads: the one place between a `SecretPayload` and a store.

A store sees only bytes (`storage/base.py`). Here a payload is sealed to the customer's
public key, bound to its `SecretRef.context()`, before it is stored, and opened with the
customer key after it is read; a store that keeps plain fields itself (`plaintext`:
Vault) gets the payload's plain encoding instead. Either way the reader must hold the
customer key: for a plaintext store that is the cryptographic half of authorization,
checked while the store's answer travels.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from ..crypto import KeyPair, PublicKey, open_sealed, seal
from ..db.prepared import Tx
from ..errors import IntegrityError, UsageError
from ..secret import SecretPayload
from ..storage import SecretRef, SecretStore

Pending = Callable[[], SecretPayload]


def write(
    store: SecretStore, tx: Session, ref: SecretRef, payload: SecretPayload, key: PublicKey
) -> int | None:
    """Store `payload` as version `ref`, sealed to `key` (the customer key of
    `ref.key_version`) unless the store keeps plain fields; returns what `put` returns,
    the store's own version number for it."""
    plain = payload.to_bytes()
    return store.put(tx, ref, plain if store.plaintext else seal(plain, key, ref.context()))


def read(store: SecretStore, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]) -> Pending:
    """Read version `ref` in two halves: the checks now, the payload when the result is
    called. A remote store's read is sent first, then `key()` must open the customer key
    (refused: the answer is never read); the caller reveals nothing before it calls the
    result. A sealed payload is opened at once, so a blob that fails to verify is
    refused before the caller goes on."""
    pending = store.read(tx, ref)  # a remote read starts here
    opened = key()
    if store.plaintext:
        return lambda: decode(pending())
    payload = decode(open_sealed(pending(), opened, ref.context()))
    return lambda: payload


def decode(data: bytes) -> SecretPayload:
    """A payload from its plain encoding; anything malformed is an `IntegrityError`."""
    try:
        return SecretPayload.from_bytes(data)
    except UsageError as exc:
        raise IntegrityError(f"a stored payload is malformed: {exc}") from None

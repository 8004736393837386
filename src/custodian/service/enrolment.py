"""A technician's own keys: created at enrolment, locked under their passphrase.

The private-key bundle (HPKE key pair and Ed25519 signing seed) is locked with Argon2id
and an AEAD bound to the technician's id and name (`technician_lock_context`), so a
locked blob moved to another row does not open.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ..crypto import Context, KdfParams, KeyPair, PassphraseLock, SigningKey
from ..db.models import Role, Technician
from ..errors import IntegrityError, UsageError
from .pin import PIN_SIZE, Pin

MIN_PASSPHRASE_LENGTH = 8


_KEYS_LEN = 96 + 32  # HPKE private key, Ed25519 seed; then the pinned root (trust.Pin)


def technician_lock_context(technician_id: int, username: str) -> Context:
    return Context.of("technician-key", technician=technician_id, username=username)


def pack_private(key: KeyPair, signer: SigningKey, pin: Pin | None) -> bytes:
    """A member's bundle: their private keys and the root they trust (None only in
    bundles of vaults not certified yet, docs/key-hierarchy.md)."""
    return key.private_bytes() + signer.private_bytes() + (pin.encode() if pin else b"")


def unpack_private(raw: bytes) -> tuple[KeyPair, SigningKey, Pin | None]:
    if len(raw) not in (_KEYS_LEN, _KEYS_LEN + PIN_SIZE):
        raise IntegrityError("a technician's private key bundle is malformed")
    pin = Pin.decode(raw[_KEYS_LEN:]) if len(raw) > _KEYS_LEN else None
    return KeyPair(raw[:96]), SigningKey(raw[96:_KEYS_LEN]), pin


def lock_bundle(
    tech: Technician,
    key: KeyPair,
    signer: SigningKey,
    pin: Pin | None,
    passphrase: str,
    params: KdfParams,
) -> None:
    """Lock `tech`'s bundle under `passphrase`, bound to their id and name, and keep the
    passphrase's verifier for the server (the login key's public half)."""
    assert tech.id is not None
    tech.locked_private, tech.login_key = PassphraseLock(params).lock_for_login(
        pack_private(key, signer, pin), passphrase, technician_lock_context(tech.id, tech.username)
    )


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise UsageError(f"a passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters")
    return passphrase


def enrol(
    tx: Session,
    username: str,
    role: Role,
    passphrase: str,
    params: KdfParams,
    now: datetime,
    pin: Pin | None,
) -> tuple[Technician, KeyPair, SigningKey]:
    """Create a technician row with fresh keys locked under `passphrase`, with the root
    `pin` (None: `init` locks the founder's bundle once the root event exists)."""
    key, signer = KeyPair.generate(), SigningKey.generate()
    tech = Technician(
        username=username,
        role=role,
        public_key=key.public_key.to_bytes(),
        signing_public_key=signer.public_bytes(),
        created_at=now,
    )
    tx.add(tech)
    tx.flush()
    if pin is not None:
        lock_bundle(tech, key, signer, pin, passphrase, params)
        tx.add(tech)
    return tech, key, signer

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

MIN_PASSPHRASE_LENGTH = 8


_BUNDLE_LEN = 96 + 32  # HPKE private key, Ed25519 seed


def technician_lock_context(technician_id: int, username: str) -> Context:
    return Context.of("technician-key", technician=technician_id, username=username)


def pack_private(key: KeyPair, signer: SigningKey) -> bytes:
    return key.private_bytes() + signer.private_bytes()


def unpack_private(raw: bytes) -> tuple[KeyPair, SigningKey]:
    if len(raw) != _BUNDLE_LEN:
        raise IntegrityError("a technician's private key bundle is malformed")
    return KeyPair(raw[:96]), SigningKey(raw[96:])


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise UsageError(f"a passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters")
    return passphrase


def enrol(
    tx: Session, username: str, role: Role, passphrase: str, params: KdfParams, now: datetime
) -> tuple[Technician, SigningKey]:
    """Create a technician row with fresh keys locked under `passphrase`."""
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
    assert tech.id is not None
    tech.locked_private = PassphraseLock(params).lock(
        pack_private(key, signer), passphrase, technician_lock_context(tech.id, username)
    )
    tx.add(tech)
    return tech, signer

"""The root a member trusts, pinned inside their passphrase-locked key bundle.

    vault id (16 bytes) | root event's sequence (8) | root event's hash (32)

The root is the event whose key-directory changes every client replays from: a new
vault's `init`, or, for a vault created before the key directory existed, its first
`dir-certify` event (`certification.py`), which members pin at their next unlock.
Its fingerprint is the same for every member of a vault, to compare out of band.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from ..db.models import AccessEvent, VaultInfo
from ..errors import IntegrityError

_PIN = struct.Struct(">16sQ32s")
PIN_SIZE = _PIN.size
CERTIFY_ACTION = "dir-certify"


@dataclass(frozen=True)
class Pin:
    """The vault and the event (init or certify) everything else is replayed from."""

    vault_id: str
    seq: int
    hash: bytes

    def encode(self) -> bytes:
        return _PIN.pack(uuid.UUID(self.vault_id).bytes, self.seq, self.hash)

    @classmethod
    def decode(cls, raw: bytes) -> Pin:
        if len(raw) != _PIN.size:
            raise IntegrityError("a pinned root is malformed")
        vid, seq, digest = _PIN.unpack(raw)
        return cls(str(uuid.UUID(bytes=vid)), seq, digest)

    def fingerprint(self) -> str:
        """Eight groups of four base32 characters (160 bits of SHA-256)."""
        digest = hashlib.sha256(b"custodian root v1\x00" + self.encode()).digest()
        text = base64.b32encode(digest[:20]).decode()
        return "-".join(text[i : i + 4] for i in range(0, 32, 4))


def certified_root(tx: Session) -> Pin | None:
    """The root of a vault created before the key directory existed: its first signed
    certification, trusted on first use by a bundle that pins nothing yet; None if the
    vault is not certified."""
    event = tx.exec(
        select(AccessEvent)
        .where(AccessEvent.action == CERTIFY_ACTION)
        .where(AccessEvent.outcome == "ok")
        .where(col(AccessEvent.signature).is_not(None))
        .order_by(col(AccessEvent.seq))
    ).first()
    if event is None:
        return None
    vault_id = tx.exec(select(VaultInfo.vault_id)).one()
    return Pin(vault_id, event.seq, bytes(event.hash))

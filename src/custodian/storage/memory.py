"""Payloads in a dict, for tests and as the smallest example of the contract.

Like the SQL store it keeps the blobs the service sealed; a write is undone when the
transaction that made it rolls back, so it behaves as a store inside the service's
transaction does. Nothing survives the process.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session

from ..db.prepared import Tx
from ..errors import IntegrityError
from .base import LocalStore, PendingRead, SecretRef


class MemorySecretStore(LocalStore):
    name = "memory"
    plaintext = False

    def __init__(self) -> None:
        # (customer id, credential id, version) -> the sealed blob
        self._blobs: dict[tuple[int, int, int], bytes] = {}

    def __repr__(self) -> str:
        return f"MemorySecretStore({len(self._blobs)} payloads)"

    def put(self, tx: Session, ref: SecretRef, data: bytes) -> None:
        slot = (ref.customer_id, ref.credential_id, ref.version)
        before = self._blobs.get(slot)
        self._blobs[slot] = bytes(data)

        def undo(_session: object) -> None:
            if before is None:
                self._blobs.pop(slot, None)
            else:
                self._blobs[slot] = before

        event.listen(tx, "after_rollback", undo, once=True)

    def read(self, tx: Tx, ref: SecretRef) -> PendingRead:
        blob = self._blobs.get((ref.customer_id, ref.credential_id, ref.version))
        if blob is None:
            raise IntegrityError(f"secret version {ref.version} has no stored payload")
        return lambda: blob

    def destroy_customer(self, tx: Session, customer_id: int, customer_slug: str) -> int:
        gone = [slot for slot in self._blobs if slot[0] == customer_id]
        for slot in gone:
            del self._blobs[slot]
        return len(gone)

    def destroy_credential(
        self, tx: Session, customer_id: int, customer_slug: str, credential_id: int
    ) -> int:
        gone = {s: b for s, b in self._blobs.items() if s[:2] == (customer_id, credential_id)}
        for slot in gone:
            del self._blobs[slot]
        event.listen(tx, "after_rollback", lambda _s: self._blobs.update(gone), once=True)
        return len(gone)

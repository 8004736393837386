"""The secret store contract: bytes in, bytes out, addressed by `SecretRef`.

The service owns the inventory, keys, grants, version rows and the access log; a store
only keeps payloads and knows no key. The service seals a payload before `put` and opens
it after `read` (`service/payloads.py`), except for a store that keeps plain fields
(`plaintext`: Vault, whose own barrier encrypts them, so that `bao kv get` reads what
custodian wrote); such a store gets the payload's plain encoding instead, a JSON object
of text fields (`SecretPayload.to_bytes`), and returns the same. Every call runs inside
the service's transaction (`tx`), so a store backed by the same database commits or
rolls back with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from ..crypto import Context
from ..db.prepared import Tx

# A read under way: called, it returns the stored bytes or raises (`IntegrityError` when
# the payload is gone). A remote store sends its request before returning one, so the
# answer travels while the caller works; a local store has read already.
PendingRead = Callable[[], bytes]


@dataclass(frozen=True)
class SecretRef:
    customer_id: int
    customer_slug: str
    credential_id: int
    version: int
    key_version: int
    # The store's own version number for this payload, as `put` returned it and the
    # service recorded it (`secret_version.kv_version`: the Vault store's KV version).
    kv_version: int | None = None
    # The current version is asked for (a reveal without --version): a store that may
    # hold newer versions written behind custodian's back reads its newest and raises
    # `Superseded` when that is newer than `kv_version` (the Vault store).
    latest: bool = False

    def context(self) -> Context:
        """What a sealed payload is bound to: moved to any other row, it fails to open."""
        return Context.of(
            "secret",
            customer=self.customer_id,
            credential=self.credential_id,
            version=self.version,
            key_version=self.key_version,
        )


class Superseded(Exception):
    """Raised by a pending read of the current version (`SecretRef.latest`) when the
    store holds a newer one, written behind custodian's back: the service records it
    (`sync`) and reads again. Carries no value."""

    def __init__(self, kv_version: int) -> None:
        super().__init__(f"a newer version ({kv_version}) is in the store")
        self.kv_version = kv_version


@dataclass(frozen=True)
class Unrecorded:
    """A version written to the store behind custodian's back (`bao kv put`)."""

    kv_version: int  # the store's own version number, for `SecretRef.kv_version`
    data: bytes  # the payload's plain encoding
    created_at: datetime


class SecretStore(Protocol):
    name: str
    # True: the store keeps plain fields (its own encryption at rest); False: it keeps
    # the blobs the service sealed.
    plaintext: bool

    def put(self, tx: Session, ref: SecretRef, data: bytes) -> int | None:
        """Store `data` as version `ref.version`; returns the store's own version number
        for it (recorded by the service in `secret_version.kv_version`), or None."""
        ...

    def read(self, tx: Tx, ref: SecretRef) -> PendingRead:
        """Start reading version `ref`; the result returns its bytes. A version never
        stored, or gone, raises `IntegrityError` (now, or when the result is called)."""
        ...

    def destroy_customer(self, tx: Session, customer_id: int, customer_slug: str) -> int:
        """Delete every payload of a customer; returns how many versions were destroyed.
        The rows that named them are the service's to delete."""
        ...

    def destroy_credential(
        self, tx: Session, customer_id: int, customer_slug: str, credential_id: int
    ) -> int:
        """Delete every payload of one credential; returns how many versions were
        destroyed. A remote store deletes once `tx` commits (a rollback keeps them)."""
        ...

    # Hooks for a store that enforces access itself (Vault policies). Each runs inside the
    # service's transaction, after the SQL change, so a failure rolls the change back.

    def on_grant(
        self, tx: Session, technician: str, customer_slug: str, until: datetime | None = None
    ) -> None:
        """`technician` was granted `customer_slug`, until `until` (UTC) or for good."""
        ...

    def on_revoke(self, tx: Session, technician: str, customer_slug: str) -> None:
        """`technician` lost `customer_slug`: detach access and end their open sessions."""
        ...

    def on_offboard(self, tx: Session, customer_slug: str) -> None:
        """The customer was offboarded: nobody keeps store-level access."""
        ...

    def sync(self, tx: Session, ref: SecretRef) -> list[Unrecorded]:
        """The versions written to the store behind custodian's back (`bao kv put`) since
        the last one custodian recorded, oldest first, for the service to record after
        `ref.version`."""
        ...


class LocalStore:
    """The access hooks and `sync` of a store with no access control of its own and
    nothing written behind custodian's back (SQL, memory): they do nothing."""

    def on_grant(
        self, tx: Session, technician: str, customer_slug: str, until: datetime | None = None
    ) -> None:
        return None

    def on_revoke(self, tx: Session, technician: str, customer_slug: str) -> None:
        return None

    def on_offboard(self, tx: Session, customer_slug: str) -> None:
        return None

    def sync(self, tx: Session, ref: SecretRef) -> list[Unrecorded]:
        return []

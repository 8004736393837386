"""The secret store contract.

The service owns the inventory, keys, grants and the access log; a store only keeps
payloads, addressed by `SecretRef`. Every call runs inside the service's transaction
(`tx`), so a store backed by the same database commits or rolls back with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from ..crypto import Context, KeyPair, PublicKey
from ..db.prepared import Tx
from ..secret import SecretPayload


@dataclass(frozen=True)
class SecretRef:
    customer_id: int
    customer_slug: str
    credential_id: int
    version: int
    key_version: int
    # The KV version holding this version's payload, when the caller's lookup already
    # read it (`secret_version.kv_version`; the Vault store); None: the store looks it up.
    kv_version: int | None = None

    def context(self) -> Context:
        """What a sealed payload is bound to: moved to any other row, it fails to open."""
        return Context.of(
            "secret",
            customer=self.customer_id,
            credential=self.credential_id,
            version=self.version,
            key_version=self.key_version,
        )


class SecretStore(Protocol):
    name: str

    def put(self, tx: Session, ref: SecretRef, payload: SecretPayload, key: PublicKey) -> None:
        """Store `payload` as version `ref.version`; `key` is the customer's current key."""
        ...

    def get(self, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]) -> SecretPayload:
        """Return the payload; `key()` opens the customer key of `ref.key_version`.
        Raises `IntegrityError` when what is stored fails to verify."""
        ...

    def fetch(
        self, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]
    ) -> Callable[[], SecretPayload]:
        """`get` for a reveal, in two halves: checks now, the payload when the result is
        called (raising as `get` does). A remote store starts its read now, so that it
        overlaps the access event's commit; the caller reveals nothing before that."""
        ...

    def destroy_customer(self, tx: Session, customer_id: int) -> int:
        """Delete every payload of a customer; returns how many versions were destroyed."""
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

    def sync(self, tx: Session, ref: SecretRef) -> list[int]:
        """Record versions written to the store behind custodian's back (`bao kv put`) as
        new versions after `ref.version`; returns their numbers. `ref.key_version` is the
        customer's current key version."""
        ...

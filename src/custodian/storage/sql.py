"""Payloads sealed with HPKE in the `secret_version` table of the vault's own database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from ..crypto import KeyPair, PublicKey, open_sealed, seal
from ..db.models import Credential, SecretVersion
from ..db.prepared import Prepared, Tx
from ..errors import IntegrityError
from ..secret import SecretPayload
from .base import SecretRef

_sv = SecretVersion.__table__  # type: ignore[attr-defined]
_CIPHERTEXT = Prepared(
    select(_sv.c.ciphertext).where(
        _sv.c.credential_id == bindparam("credential"), _sv.c.version == bindparam("version")
    )
)


class SqlSecretStore:
    name = "sql"

    def put(self, tx: Session, ref: SecretRef, payload: SecretPayload, key: PublicKey) -> None:
        blob = seal(payload.to_bytes(), key, ref.context())
        tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id) == ref.credential_id)
            .where(col(SecretVersion.version) == ref.version)
            .values(ciphertext=blob)
        )

    def get(self, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]) -> SecretPayload:
        params = {"credential": ref.credential_id, "version": ref.version}
        found = _CIPHERTEXT.one(tx, params)  # prepared: the reveal path
        blob = bytes(found[0]) if found and found[0] else None
        if not blob:
            raise IntegrityError(f"secret version {ref.version} has no stored payload")
        return SecretPayload.from_bytes(open_sealed(blob, key(), ref.context()))

    def fetch(
        self, tx: Tx, ref: SecretRef, key: Callable[[], KeyPair]
    ) -> Callable[[], SecretPayload]:
        payload = self.get(tx, ref, key)  # local: nothing to overlap
        return lambda: payload

    def destroy_customer(self, tx: Session, customer_id: int) -> int:
        ids = select(Credential.id).where(Credential.customer_id == customer_id)
        result = tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id).in_(ids))
            .values(ciphertext=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # The SQL store has no access control of its own and nothing is written behind its back.

    def on_grant(
        self, tx: Session, technician: str, customer_slug: str, until: datetime | None = None
    ) -> None:
        return None

    def on_revoke(self, tx: Session, technician: str, customer_slug: str) -> None:
        return None

    def on_offboard(self, tx: Session, customer_slug: str) -> None:
        return None

    def sync(self, tx: Session, ref: SecretRef) -> list[int]:
        return []

"""Sealed payloads in the `ciphertext` column of the vault's own `secret_version` table.

The service inserts the version row, then `put` fills its `ciphertext`; the blob is
sealed by the service, so this store holds nothing it could open.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from ..db.models import Credential, SecretVersion
from ..db.prepared import Prepared, Tx
from ..errors import IntegrityError
from .base import LocalStore, PendingRead, SecretRef

_sv = SecretVersion.__table__  # type: ignore[attr-defined]
_CIPHERTEXT = Prepared(
    select(_sv.c.ciphertext).where(
        _sv.c.credential_id == bindparam("credential"), _sv.c.version == bindparam("version")
    )
)


class SqlSecretStore(LocalStore):
    name = "sql"
    plaintext = False

    def put(self, tx: Session, ref: SecretRef, data: bytes) -> None:
        tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id) == ref.credential_id)
            .where(col(SecretVersion.version) == ref.version)
            .values(ciphertext=data)
        )

    def read(self, tx: Tx, ref: SecretRef) -> PendingRead:
        params = {"credential": ref.credential_id, "version": ref.version}
        found = _CIPHERTEXT.one(tx, params)  # prepared: the reveal path
        blob = bytes(found[0]) if found and found[0] else None
        if not blob:
            raise IntegrityError(f"secret version {ref.version} has no stored payload")
        return lambda: blob  # local: nothing to overlap

    def destroy_customer(self, tx: Session, customer_id: int, customer_slug: str) -> int:
        ids = select(Credential.id).where(Credential.customer_id == customer_id)
        result = tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id).in_(ids))
            .values(ciphertext=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def destroy_credential(
        self, tx: Session, customer_id: int, customer_slug: str, credential_id: int
    ) -> int:
        result = tx.execute(
            update(SecretVersion)
            .where(col(SecretVersion.credential_id) == credential_id)
            .where(col(SecretVersion.ciphertext).is_not(None))
            .values(ciphertext=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

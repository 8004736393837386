"""Deleting a credential or a system: its versions destroyed as a purge destroys a
customer's, the deletion kept in the access log and in `customer report`.

A credential's payloads are sealed to its customer's key, which its other credentials
share, so a deletion cannot destroy a key: it destroys the payloads themselves. The
version rows go with `secure_delete` (SQLite overwrites them) and the file is rewritten
afterwards (`after_shred`: VACUUM, WAL checkpoint), as a purge does; the store drops its
copies (Vault: every KV version and the metadata). One transaction per deletion, one
event (`cred-delete`, `system-delete`) naming what was destroyed; admins only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from ..db.models import Credential, Customer, Role, RotationItem, SecretVersion
from ..errors import NotFound, UsageError
from ..paths import CredentialPath, SystemPath
from . import directory, probes, rows
from .shredding import after_shred, secure_delete

if TYPE_CHECKING:
    from .actor import Actor

DELETIONS = ("cred-delete", "system-delete")  # the events `customer report` lists


def delete(actor: Actor, path: str) -> dict[str, int]:
    """Delete the credential (`SLUG/SYSTEM/NAME`) or the system with every credential in
    it (`SLUG/SYSTEM`) at `path`; returns what was destroyed."""
    actor.require_role("delete", Role.ADMIN)
    depth = path.count("/")
    if depth not in (1, 2):
        raise UsageError(f"malformed path {path[:200]!r}: expected SLUG/SYSTEM[/NAME]")
    action = "cred-delete" if depth == 2 else "system-delete"
    target = str(CredentialPath.parse(path) if depth == 2 else SystemPath.parse(path))
    with (
        probes.recorded(actor, action, target),
        actor.transaction() as tx,
        secure_delete(tx),
    ):
        customer = actor.writable_customer(tx, target.split("/")[0])
        if depth == 2:
            _, cred = rows.credential(tx, customer, CredentialPath.parse(target))
            creds, system = [cred], None
        else:
            system = rows.find_system(tx, customer, target.split("/")[1])
            if system is None:
                raise NotFound(f"no system {target!r}")
            creds = list(tx.exec(select(Credential).where(Credential.system_id == system.id)))
        counts = {"credentials": 0, "secret_versions": 0, "payloads": 0}
        for cred in creds:
            for key, n in _destroy(actor, tx, customer, cred).items():
                counts[key] += n
        if system is not None:
            tx.delete(system)
            counts["systems"] = 1
        actor.record(
            tx,
            action,
            customer_id=customer.id,
            credential_id=creds[0].id if depth == 2 else None,
            target=target,
            detail={"destroyed": counts},
        )
    after_shred(actor.vault)
    return counts


def _destroy(actor: Actor, tx: Session, customer: Customer, cred: Credential) -> dict[str, int]:
    assert customer.id is not None and cred.id is not None

    def gone(stmt: Any) -> int:
        return int(tx.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    gone(sql_delete(RotationItem).where(col(RotationItem.credential_id) == cred.id))
    actor.stage(directory.uncred_change(customer.id, cred.id))
    payloads = actor.vault.store.destroy_credential(tx, customer.id, customer.slug, cred.id)
    versions = gone(sql_delete(SecretVersion).where(col(SecretVersion.credential_id) == cred.id))
    tx.delete(cred)
    tx.flush()
    return {"credentials": 1, "secret_versions": versions, "payloads": payloads}

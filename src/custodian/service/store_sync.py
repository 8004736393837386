"""Versions written to the store behind custodian's back (Vault: `bao kv put`, `bao kv
patch`), recorded as custodian's next versions, one `cred-sync` event each.

`cred set`, `cred history`, doctor and migrate record them in their own transaction
(`sync_from_store`); the reveal finds out from its own read of the current version
(`storage.Superseded`) and records them with `sync_path` before it reveals again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from ..db.models import Credential, Customer, Role, SecretVersion
from ..errors import AccessDenied, IntegrityError
from ..paths import CredentialPath
from ..storage import SecretRef
from . import directory, payloads, rows

if TYPE_CHECKING:
    from .actor import Actor


def sync_from_store(
    actor: Actor, tx: Session, customer: Customer, cred: Credential, target: str
) -> None:
    """Record versions written straight to the store (Vault: `bao kv put`) as the next
    versions, one event each. A store that refuses this actor reads leaves the history
    as custodian has it."""
    assert customer.id is not None and cred.id is not None
    ref = SecretRef(
        customer.id,
        customer.slug,
        cred.id,
        cred.current_version,
        customer.current_key_version,
    )
    if actor.role != Role.ADMIN and not actor.trust.live_grant(
        actor.technician_id, customer.id, actor.now
    ):
        return  # only who may write the credential records what the store holds
    try:
        found = actor.vault.store.sync(tx, ref)
    except AccessDenied:
        return
    for written in found:
        logged = actor.trust.current_version(cred.id, seen=cred.current_version)
        if cred.current_version != logged:
            raise IntegrityError(
                f"{target!r} is at version {cred.current_version} in the database but"
                f" {logged} in the access log"
            )
        cred.current_version = actor.trust.next_version(cred.id)  # never a number used before
        version = cred.current_version
        actor.stage(directory.cred_change(customer.id, cred.id, version))
        tx.add(
            SecretVersion(
                credential_id=cred.id,
                version=version,
                key_version=customer.current_key_version,
                field_names=",".join(sorted(payloads.decode(written.data))),
                kv_version=written.kv_version,
                created_by=None,
                created_at=written.created_at,
            )
        )
        tx.add(cred)
        tx.flush()
        actor.record(
            tx,
            "cred-sync",
            customer_id=customer.id,
            credential_id=cred.id,
            target=target,
            detail={"version": version, "store": actor.vault.store.name},
        )
    if found:
        cred.updated_at = max(written.created_at for written in found)
        tx.add(cred)


def sync_path(actor: Actor, path: str) -> None:
    """Record the versions written straight to the store since the last one custodian
    knows (`sync_from_store`), in a transaction of their own (the reveal's `Superseded`)."""
    cp = CredentialPath.parse(path)
    with actor.transaction() as tx:
        customer = actor.customer(tx, cp.customer)
        _, cred = rows.credential(tx, customer, cp)
        rows.lock(tx, cred)  # concurrent reveals record each outside version once
        sync_from_store(actor, tx, customer, cred, str(cp))

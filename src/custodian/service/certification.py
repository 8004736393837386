"""Certifying the key directory of a vault created before it existed (`custodian db certify`).

Such a vault's log carries no key-directory changes and its members' bundles pin no root.
An admin compares the technicians' key fingerprints (`preview`) with each member out of
band, then certifies: one signed `dir-certify` event states the whole directory as the
tables hold it now. That event is the vault's root: each member's client pins it at their
next unlock (trust on first use, `vault.certified_root`) and replays from it. Until then,
clients refuse to act on the vault (`Trust.require_pin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..audit.append import EventDraft, append
from ..db.models import Credential, CustomerKey, Grant, OrgKey, Role, Technician, VaultInfo
from ..errors import UsageError
from ..records import CertifiedMember
from . import directory
from .pin import CERTIFY_ACTION, certified_root

if TYPE_CHECKING:
    from .actor import Actor


def preview(actor: Actor) -> list[CertifiedMember]:
    """The members a certification would state, with their key fingerprints."""
    _check(actor)
    with actor.vault.db.transaction() as tx:
        return [
            CertifiedMember(t.username, t.role, t.active, directory.key_id(t.public_key)[:16])
            for t in tx.exec(select(Technician).order_by(col(Technician.username))).all()
        ]


def certify(actor: Actor) -> str:
    """Record the directory as the tables hold it, signed; returns the root's fingerprint."""
    _check(actor)
    with actor.vault.db.transaction() as tx:
        if certified_root(tx) is not None:
            raise UsageError("this vault's key directory is already certified")
        changes = snapshot(tx)
        append(
            tx,
            EventDraft(
                CERTIFY_ACTION,
                "ok",
                actor.username,
                actor.technician_id,
                detail={"dir": changes},
            ),
            actor.now,
            actor.signer,
        )
        pin = certified_root(tx)
        assert pin is not None
        return pin.fingerprint()


def _check(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        actor.require_role(CERTIFY_ACTION, Role.ADMIN)
    if actor.trust.pin is not None:
        raise UsageError("this vault's key directory is already certified")


def snapshot(tx: Session) -> list[directory.Change]:
    """Every key-directory statement, from the tables as they stand."""
    info = tx.exec(select(VaultInfo)).one()
    changes = [
        directory.vault_change(
            info.vault_id,
            info.recovery_public_key,
            (info.kdf_memory_kib, info.kdf_iterations, info.kdf_lanes),
        )
    ]
    for t in tx.exec(select(Technician).order_by(col(Technician.id))).all():
        assert t.id is not None
        changes.append(
            directory.tech_change(
                t.id, t.username, t.role, t.active, t.public_key, t.signing_public_key
            )
        )
    org = tx.exec(select(OrgKey).order_by(col(OrgKey.version).desc())).first()
    if org is not None:
        changes.append(directory.org_change(org.version, org.public_key))
    for k in tx.exec(
        select(CustomerKey).order_by(col(CustomerKey.customer_id), col(CustomerKey.version))
    ).all():
        changes.append(directory.ckey_change(k.customer_id, k.version, k.public_key))
    for g in tx.exec(select(Grant)).all():
        changes.append(directory.grant_change(g.technician_id, g.customer_id, g.expires_at))
    for c in tx.exec(select(Credential).where(col(Credential.current_version) > 0)).all():
        assert c.id is not None
        changes.append(directory.cred_change(c.customer_id, c.id, c.current_version))
    return changes

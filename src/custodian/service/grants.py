"""Grants: give a technician a customer (its key wrapped to them), revoke one, and the
maintenance that ends lapsed grants."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import Customer, CustomerStatus, Grant, Role
from ..errors import NotFound, UsageError
from ..records import GrantInfo
from . import directory, keys, revocation, rows

if TYPE_CHECKING:
    from .actor import Actor


def grant(actor: Actor, username: str, slug: str, *, until: datetime | None = None) -> GrantInfo:
    """Give `username` access to `slug`: every customer key version is wrapped to them."""
    actor.require_role("grant", Role.ADMIN)
    target = f"{username}@{slug}"
    if until is not None and as_utc(until) <= actor.now:
        raise UsageError("the grant's expiry lies in the past")
    with actor.transaction() as tx:
        customer = actor.writable_customer(tx, slug)
        rows.lock(tx, customer)  # a rotation meanwhile would miss this grantee's wrap
        tech = actor.technician(tx, username)
        if not tech.active:
            raise UsageError(f"technician {username!r} is disabled")
        assert customer.id is not None and tech.id is not None
        org_version, org = actor.org_key(tx)
        save_grant(actor, tx, tech.id, customer.id, until)
        keys.wrap_customer_keys_to(tx, actor.trust, customer.id, org_version, org, tech, actor.now)
        detail = {"until": until.isoformat()} if until else None
        actor.record(tx, "grant", customer_id=customer.id, target=target, detail=detail)
        actor.vault.store.on_grant(tx, username, slug, until)
        return GrantInfo(username, slug, actor.username, actor.now, until)


def revoke(actor: Actor, username: str, slug: str, *, assume_compromised: bool = False) -> None:
    """Remove `username`'s grant and wrapped keys, and rotate the customer key so that
    nothing written from now on is sealed to a key they ever held. What they saw goes
    on the rotation worklist (everything with `assume_compromised`)."""
    actor.require_role("revoke", Role.ADMIN)
    with actor.transaction() as tx:
        customer = actor.customer(tx, slug)
        rows.lock(tx, customer)
        tech = actor.technician(tx, username)
        assert customer.id is not None and tech.id is not None
        grant = rows.grant(tx, tech.id, customer.id)
        if grant is None:
            raise NotFound(f"{username!r} has no grant for {slug!r}")
        revocation.end_grant(
            actor, tx, customer, tech, grant, action="revoke", assume_compromised=assume_compromised
        )


def maintenance(actor: Actor) -> dict[str, int]:
    """Remove the wraps of lapsed grants (rotating each customer key); say what is due."""
    if actor.role != Role.ADMIN:
        actor.require_role("maintenance", Role.ADMIN)
    ended = revocation.end_lapsed_grants(actor)
    with actor.vault.db.transaction() as tx:
        due = tx.exec(
            select(func.count())
            .select_from(Customer)
            .where(Customer.status == CustomerStatus.OFFBOARDED)
            .where(col(Customer.purge_after) <= actor.now)
        ).one()
    return {"lapsed_grants_ended": ended, "purges_due": int(due)}


def save_grant(
    actor: Actor, tx: Session, technician_id: int, customer_id: int, until: datetime | None
) -> Grant:
    """Create or renew a technician's grant row, given by this actor now, and stage it in
    the key directory (the wraps are the caller's, after: `keys.wrap_customer_keys_to`)."""
    actor.stage(directory.grant_change(technician_id, customer_id, until))
    grant = rows.grant(tx, technician_id, customer_id) or Grant(
        technician_id=technician_id,
        customer_id=customer_id,
        granted_by=actor.technician_id,
        granted_at=actor.now,
    )
    grant.granted_by, grant.granted_at, grant.expires_at = actor.technician_id, actor.now, until
    tx.add(grant)
    return grant

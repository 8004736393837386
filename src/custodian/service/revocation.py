"""Ending access: a grant that is revoked, lapses or belongs to a departing technician, and
an admin who loses the role.

Ending a grant deletes the technician's wraps, adds what they saw to the rotation worklist
and rotates the customer key, so nothing written afterwards is sealed to a key they held.
A lapsed grant stops counting at its expiry (`policy.grant_live`); its wraps go at the
next admin action or `maintenance` (`end_lapsed_grants`). A former admin could open every
customer key, so losing the admin role rotates the organization key and every customer key
(`rotate_org_key`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from ..clock import as_utc
from ..crypto import KeyPair, PublicKey, open_sealed
from ..db.models import (
    AccessEvent,
    Credential,
    Customer,
    CustomerKey,
    CustomerStatus,
    Grant,
    KeyWrap,
    OrgKey,
    RecipientKind,
    Role,
    RotationItem,
    SecretVersion,
    Technician,
    VaultInfo,
)
from ..errors import IntegrityError
from . import directory, keys, policy, rows

if TYPE_CHECKING:
    from .actor import Actor

EXPOSING_ACTIONS = ("reveal", "copy", "export")  # events that put a value in someone's hands
SEEN = "seen"
ASSUMED = "assume-compromised"


def end_grant(
    actor: Actor,
    tx: Session,
    customer: Customer,
    tech: Technician,
    grant: Grant | None,
    *,
    action: str,
    assume_compromised: bool = False,
    rotate: bool = True,
    mark: bool = True,
) -> int:
    """Delete a grant and its wraps, mark what the technician saw, rotate the key.
    Returns how many credentials were added to the worklist."""
    assert customer.id is not None and tech.id is not None
    if grant is not None:
        tx.delete(grant)
    if (tech.id, customer.id) in actor.trust.view().grants:
        actor.stage(directory.ungrant_change(tech.id, customer.id))
    keys.remove_wraps(tx, customer.id, RecipientKind.TECHNICIAN, tech.id)
    tx.flush()
    marked = mark_exposed(actor, tx, customer, tech, assume_compromised) if mark else 0
    if rotate:
        rotate_customer_key(actor, tx, customer)
    detail: dict[str, object] = {"key_version": customer.current_key_version}
    if marked:
        detail["rotation_marked"] = marked
    if assume_compromised:
        detail["assume_compromised"] = True
    actor.record(
        tx,
        action,
        customer_id=customer.id,
        target=f"{tech.username}@{customer.slug}",
        detail=detail,
    )
    actor.vault.store.on_revoke(tx, tech.username, customer.slug)
    return marked


def mark_exposed(
    actor: Actor, tx: Session, customer: Customer, tech: Technician, assume_compromised: bool
) -> int:
    """Add to the worklist every credential of `customer` whose current version
    `tech` revealed, copied or exported (all of them if assumed compromised)."""
    current: dict[int, tuple[int, datetime]] = {
        cred_id or 0: (version, as_utc(created))
        for cred_id, version, created in tx.exec(
            select(Credential.id, Credential.current_version, SecretVersion.created_at)
            .join(
                SecretVersion,
                (col(SecretVersion.credential_id) == col(Credential.id))
                & (col(SecretVersion.version) == col(Credential.current_version)),
            )
            .where(Credential.customer_id == customer.id)
        ).all()
    }
    seen: dict[int, datetime | None] = {}
    if assume_compromised:
        seen = dict.fromkeys(current)
    else:
        events = tx.exec(
            select(AccessEvent.credential_id, AccessEvent.at, AccessEvent.detail)
            .where(AccessEvent.actor_id == tech.id)
            .where(AccessEvent.customer_id == customer.id)
            .where(col(AccessEvent.action).in_(EXPOSING_ACTIONS))
            .where(AccessEvent.outcome == "ok")
        ).all()
        for cred_id, when, detail in events:
            at = as_utc(when)
            version = detail_version(detail)
            targets = list(current) if cred_id is None else [cred_id]
            for cid in targets:
                if cid not in current:
                    continue
                cur_version, cur_written = current[cid]
                exposed = (
                    version == cur_version
                    if version is not None and cred_id is not None
                    else at >= cur_written
                )
                if exposed:
                    prev = seen.get(cid)
                    seen[cid] = at if prev is None or at > prev else prev
    cause = ASSUMED if assume_compromised else SEEN
    existing = {
        item.credential_id: item
        for item in tx.exec(
            select(RotationItem)
            .where(RotationItem.customer_id == customer.id)
            .where(RotationItem.cause == cause)
            .where(RotationItem.technician_id == tech.id)
        ).all()
    }
    for cid, last_seen in seen.items():
        item = existing.get(cid) or RotationItem(
            customer_id=customer.id or 0,
            credential_id=cid,
            cause=cause,
            technician_id=tech.id,
            flagged_at=actor.now,
            flagged_by=actor.technician_id,
        )
        item.seen_at = last_seen
        tx.add(item)
    return len(seen)


def clear_rotation(tx: Session, cred: Credential) -> None:
    """A new version was set: the credential leaves the worklist."""
    tx.execute(delete(RotationItem).where(col(RotationItem.credential_id) == cred.id))


def end_lapsed_grants(actor: Actor) -> int:
    """End every lapsed grant (wraps deleted, key rotated). Cheap when there is none."""
    with actor.transaction() as tx:  # signs events: only with this actor's current keys
        return _end_lapsed(actor, tx, select(Grant))


def end_lapsed_grants_of(actor: Actor, tx: Session, customer: Customer) -> int:
    """End the lapsed grants of one customer, in the caller's transaction (before a write)."""
    return _end_lapsed(actor, tx, select(Grant).where(Grant.customer_id == customer.id))


def _end_lapsed(actor: Actor, tx: Session, grants: SelectOfScalar[Grant]) -> int:
    lapsed = tx.exec(
        grants.where(~policy.live_grant_clause(col(Grant.expires_at), actor.now))
    ).all()
    for grant in lapsed:
        customer = tx.get(Customer, grant.customer_id)
        tech = tx.get(Technician, grant.technician_id)
        assert customer is not None and tech is not None
        end_grant(actor, tx, customer, tech, grant, action="grant-lapse")
    return len(lapsed)


def rotate_customer_key(actor: Actor, tx: Session, customer: Customer) -> None:
    """A new customer key version, wrapped to the org key and every live grantee: nothing
    written from now on is sealed to a key an ended grant ever held."""
    assert customer.id is not None
    rows.lock(tx, customer)  # one rotation at a time, and none beside a grant or a write
    trust = actor.trust
    org_version, org_public = keys.org_public(tx, trust)
    if customer.current_key_version != trust.newest_customer_key(customer.id):
        raise IntegrityError(
            f"customer {customer.slug!r}'s key version ({customer.current_key_version}) is not"
            " the key directory's: the database was changed"
        )
    grantees = tx.exec(
        select(Technician)
        .join(Grant, col(Grant.technician_id) == col(Technician.id))
        .where(Grant.customer_id == customer.id)
        .where(col(Technician.active))
        .where(policy.live_grant_clause(col(Grant.expires_at), actor.now))
    ).all()
    recipients = [(RecipientKind.ORG, org_version, org_public)] + [
        (RecipientKind.TECHNICIAN, t.id or 0, PublicKey(t.public_key))
        for t in grantees
        if trust.live_grant(t.id or 0, customer.id, actor.now)  # a grant row the log lacks: none
    ]
    customer.current_key_version += 1
    keys.new_customer_key(
        tx,
        trust,
        actor.technician_id,
        customer.id,
        customer.current_key_version,
        actor.now,
        recipients,
    )
    tx.add(customer)


def detail_version(detail: str | None) -> int | None:
    """The version an access event's detail names, if any."""
    if not detail:
        return None
    try:
        value = json.loads(detail).get("version")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def rotate_org_key(actor: Actor, tx: Session) -> int:
    """New organization key, wrapped to the active admins and the recovery key; every
    customer key version re-wrapped to it; then every customer key rotated, because
    a former admin could open every version that existed. Returns the new version."""
    trust = actor.trust
    old_version, old_org = actor.org_key(tx)
    new_version, new_org = old_version + 1, KeyPair.generate()
    tx.add(
        OrgKey(version=new_version, public_key=new_org.public_key.to_bytes(), created_at=actor.now)
    )
    actor.stage(directory.org_change(new_version, new_org.public_key.to_bytes()))
    admins = tx.exec(
        select(Technician)
        .where(Technician.role == Role.ADMIN)
        .where(col(Technician.active))
        .where(col(Technician.locked_private).is_not(None))
    ).all()
    for admin in admins:
        if trust.role_of(admin.id or 0) == Role.ADMIN:  # an admin row the log lacks: none
            keys.wrap_org_to(tx, trust, new_org, new_version, admin, actor.now)
    recovery = tx.exec(select(VaultInfo.recovery_public_key)).one()
    keys.add_wrap(
        tx,
        trust,
        new_org,
        keys.ORG,
        new_version,
        RecipientKind.RECOVERY,
        0,
        PublicKey(recovery),
        actor.now,
    )
    wraps = tx.exec(
        select(KeyWrap)
        .where(col(KeyWrap.customer_id).is_not(None))
        .where(KeyWrap.recipient_kind == RecipientKind.ORG)
        .where(KeyWrap.recipient_id == old_version)
    ).all()
    expected = tx.exec(select(func.count()).select_from(CustomerKey)).one()
    if len(wraps) != expected:
        raise IntegrityError("some customer key versions are not wrapped to the org key")
    for wrap in wraps:
        ctx = keys.wrap_context(wrap.customer_id, wrap.key_version, RecipientKind.ORG, old_version)
        ckey = KeyPair(open_sealed(wrap.wrapped, old_org, ctx))
        trust.check_customer_key(
            wrap.customer_id or 0, wrap.key_version, ckey.public_key.to_bytes()
        )
        keys.add_wrap(
            tx,
            trust,
            ckey,
            wrap.customer_id,
            wrap.key_version,
            RecipientKind.ORG,
            new_version,
            new_org.public_key,
            actor.now,
        )
    tx.execute(
        delete(KeyWrap)
        .where(col(KeyWrap.customer_id).is_not(None))
        .where(col(KeyWrap.recipient_kind) == RecipientKind.ORG)
        .where(col(KeyWrap.recipient_id) != new_version)
    )
    tx.execute(
        delete(KeyWrap)
        .where(col(KeyWrap.customer_id).is_(None))
        .where(col(KeyWrap.key_version) != new_version)
    )
    tx.flush()
    customers = tx.exec(select(Customer).where(Customer.status != CustomerStatus.PURGED)).all()
    with tx.no_autoflush:  # one flush at the end, not one per customer
        for customer in customers:
            rotate_customer_key(actor, tx, customer)
    actor.record(
        tx,
        "org-key-rotate",
        detail={"org_key_version": new_version, "customers_rotated": len(customers)},
    )
    return new_version

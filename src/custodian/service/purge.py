"""Destruction and break-glass: `purge` crypto-shreds offboarded customers and leaves a
certificate; `recover` opens a customer again through the recovery code.

The shredding itself, the certificate and the destruction list (which a restore applies
again) live in `shredding.py` (docs/lifecycle.md).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..clock import as_utc
from ..crypto import RecoveryCode
from ..db.models import Customer, CustomerStatus, RecipientKind, Role, Technician, VaultInfo
from ..errors import AccessDenied, AuthenticationFailed, IntegrityError, NotFound, UsageError
from . import directory, grants, keys
from .shredding import Certificate, after_shred, mirror, secure_delete, shred_and_certify

if TYPE_CHECKING:
    from .actor import Actor


def purge(actor: Actor, slug: str | None = None, *, now: bool = False) -> list[Certificate]:
    """Crypto-shred `slug` (when due, or at once with `now`), or every offboarded customer
    past its date. Each customer is its own transaction."""
    actor.require_role("purge", Role.ADMIN)
    with actor.transaction() as tx:
        if slug is not None:
            ids: list[int | None] = [_purgeable(actor, tx, slug, now=now).id or 0]
        else:
            ids = list(
                tx.exec(
                    select(Customer.id)
                    .where(Customer.status == CustomerStatus.OFFBOARDED)
                    .where(col(Customer.purge_after) <= actor.now)
                    .order_by(col(Customer.slug))
                ).all()
            )
        vault_id = tx.exec(select(VaultInfo.vault_id)).one()
    done = []
    for cid in ids:
        with actor.transaction() as tx, secure_delete(tx):
            target = tx.get(Customer, cid)
            assert target is not None
            actor.stage(directory.purge_change(target.id or 0))
            done.append(
                shred_and_certify(
                    tx,
                    actor.vault.store,
                    target,
                    vault_id,
                    actor.now,
                    lambda tx, **f: actor.record(tx, "purge", **f),
                    actor.username,
                )
            )
        after_shred(actor.vault)
        mirror(vault_id, done[-1])
    return done


def _purgeable(actor: Actor, tx: Session, slug: str, *, now: bool) -> Customer:
    """The customer `slug`, if it may be purged: offboarded and past its date, or `now`."""
    customer = actor.customer(tx, slug)
    if customer.status == CustomerStatus.PURGED:
        raise UsageError(f"customer {slug!r} is already purged")
    if not now:
        due = customer.purge_after
        if customer.status != CustomerStatus.OFFBOARDED or due is None:
            raise UsageError(f"customer {slug!r} is not offboarded: offboard it, or purge --now")
        if as_utc(due) > actor.now:
            raise UsageError(
                f"customer {slug!r} is kept until {as_utc(due):%Y-%m-%d %H:%M} UTC"
                " (purge --now destroys it earlier)"
            )
    return customer


def recover(actor: Actor, slug: str, code: RecoveryCode) -> int:
    """Break-glass: open the organization key with the recovery code and re-wrap every
    version of the customer key to this admin, with a grant. Returns the versions."""
    actor.require_role("recover", Role.ADMIN)
    recovery = code.key_pair()
    target = f"{actor.username}@{slug}"
    try:
        with actor.transaction() as tx:
            stored = tx.exec(select(VaultInfo.recovery_public_key)).one()
            if not hmac.compare_digest(recovery.public_key.to_bytes(), stored):
                raise AuthenticationFailed("the recovery code is not this vault's")
            actor.trust.check_recovery_key(stored)
            customer = actor.customer(tx, slug)
            assert customer.id is not None
            versions = keys.customer_versions(tx, customer.id)
            if customer.status == CustomerStatus.PURGED or not versions:
                raise NotFound(f"customer {slug!r} was purged: its keys no longer exist")
            org_version = keys.current_org_version(tx)
            org = keys.open_wrap(tx, keys.ORG, org_version, RecipientKind.RECOVERY, 0, recovery)
            if org is None:
                raise IntegrityError("the organization key is not wrapped to the recovery key")
            me = tx.get(Technician, actor.technician_id)
            assert me is not None
            if (
                keys.open_wrap(
                    tx,
                    keys.ORG,
                    org_version,
                    RecipientKind.TECHNICIAN,
                    actor.technician_id,
                    actor.key,
                )
                is None
            ):
                keys.wrap_org_to(tx, actor.trust, org, org_version, me, actor.now)
            grants.save_grant(actor, tx, actor.technician_id, customer.id, None)
            keys.wrap_customer_keys_to(
                tx, actor.trust, customer.id, org_version, org, me, actor.now
            )
            actor.vault.store.on_grant(tx, actor.username, slug)
            actor.record(
                tx,
                "recover",
                customer_id=customer.id,
                target=target,
                detail={
                    "via": "recovery-code",
                    "key_versions": len(versions),
                    "warning": "break-glass access with the recovery code",
                },
            )
            return len(versions)
    except (AuthenticationFailed, AccessDenied, NotFound, IntegrityError) as exc:
        actor.refuse(exc, "recover", target=target)

"""The rotation worklist: credentials to change on the device, and why.

Entries are added when access ends (`revocation.mark_exposed`: what a technician saw, or
everything when assumed compromised) and leave when a new version is set. Credentials
older than their maximum age (`secret_policy`) are listed too, with the cause `age`.
A retired credential (`cred retire`) is never listed: its device is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import (
    Credential,
    Customer,
    CustomerStatus,
    Role,
    RotationItem,
    SecretVersion,
    System,
    Technician,
)
from ..records import _Record
from . import secret_policy
from .revocation import SEEN

AGE = "age"  # a computed entry: the current version is older than its maximum age

if TYPE_CHECKING:
    from .actor import Actor


@dataclass(frozen=True)
class RotationEntry(_Record):
    path: str
    customer: str
    cause: str
    technician: str | None
    seen_at: datetime | None
    flagged_at: datetime
    flagged_by: str | None

    @property
    def why(self) -> str:
        if self.cause == AGE and self.seen_at is not None:
            days = (self.flagged_at - self.seen_at).days
            return f"older than {days} days (set {self.seen_at:%Y-%m-%d})"
        if self.cause == SEEN:
            when = f" (last {self.seen_at:%Y-%m-%d %H:%M} UTC)" if self.seen_at else ""
            return f"seen by {self.technician}{when}"
        who = f" after {self.technician} lost access" if self.technician else ""
        return f"assumed compromised{who}"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "why": self.why}


def rotation_list(actor: Actor, slug: str | None = None) -> list[RotationEntry]:
    """Credentials to change on the device, each with why (who saw it, when)."""
    actor.require_role("rotation-list", Role.ADMIN, Role.AUDITOR)
    with actor.transaction() as tx:
        names = dict(tx.exec(select(Technician.id, Technician.username)).all())
        query = (
            select(RotationItem, Credential, System, Customer)
            .join(Credential, col(Credential.id) == col(RotationItem.credential_id))
            .join(System, col(System.id) == col(Credential.system_id))
            .join(Customer, col(Customer.id) == col(RotationItem.customer_id))
            .where(col(Credential.retired_at).is_(None))  # retired: nothing left to rotate
            .order_by(
                col(Customer.slug), col(System.name), col(Credential.name), col(RotationItem.id)
            )
        )
        customer_id = None
        if slug is not None:
            customer_id = actor.customer(tx, slug).id
            query = query.where(RotationItem.customer_id == customer_id)
        flagged = [
            RotationEntry(
                f"{cu.slug}/{s.name}/{c.name}",
                cu.slug,
                item.cause,
                names.get(item.technician_id) if item.technician_id else None,
                as_utc(item.seen_at) if item.seen_at else None,
                as_utc(item.flagged_at),
                names.get(item.flagged_by) if item.flagged_by else None,
            )
            for item, c, s, cu in tx.exec(query).all()
        ]
        entries = flagged + _too_old(actor, tx, customer_id)
        return sorted(entries, key=lambda e: tuple(e.path.split("/")))


def _too_old(actor: Actor, tx: Session, customer_id: int | None) -> list[RotationEntry]:
    """Credentials whose current version is older than their maximum age (the customer's,
    else their system kind's): cause `age`, due since the day the age was reached."""
    by_kind = secret_policy.ages_by_kind(tx)
    query = (
        select(Credential, System, Customer, SecretVersion.created_at)
        .join(System, col(System.id) == col(Credential.system_id))
        .join(Customer, col(Customer.id) == col(Credential.customer_id))
        .join(
            SecretVersion,
            (col(SecretVersion.credential_id) == col(Credential.id))
            & (col(SecretVersion.version) == col(Credential.current_version)),
        )
        .where(Customer.status == CustomerStatus.ACTIVE)
        .where(col(Credential.retired_at).is_(None))
    )
    if customer_id is not None:
        query = query.where(Credential.customer_id == customer_id)
    if not by_kind:
        query = query.where(col(Customer.max_age_days).is_not(None))
    out = []
    for c, s, cu, created in tx.exec(query).all():
        days = cu.max_age_days or by_kind.get(s.kind)
        due = as_utc(created) + timedelta(days=days) if days else None
        if due is not None and due <= actor.now:
            path = f"{cu.slug}/{s.name}/{c.name}"
            out.append(RotationEntry(path, cu.slug, AGE, None, as_utc(created), due, None))
    return out

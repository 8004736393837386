"""The rotation worklist: credentials to change on the device, and why.

Entries are added when access ends (`revocation.mark_exposed`: what a technician saw, or
everything when assumed compromised) and leave when a new version is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from ..clock import as_utc
from ..db.models import Credential, Customer, Role, RotationItem, System, Technician
from ..records import _Record
from .revocation import SEEN

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
            .order_by(
                col(Customer.slug), col(System.name), col(Credential.name), col(RotationItem.id)
            )
        )
        if slug is not None:
            customer = actor.customer(tx, slug)
            query = query.where(RotationItem.customer_id == customer.id)
        return [
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

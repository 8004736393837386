"""What offboarding returns: the handover (decrypted, values masked until revealed), the
offboarding result and the customer report (never a secret value).

Apart from `custodian.records` because a `Handover` carries secret payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..records import _Record
from ..secret import SecretPayload
from .shredding import Certificate


@dataclass(frozen=True)
class HandoverEntry:
    name: str
    username: str | None
    url: str | None
    notes: str | None
    fields: SecretPayload  # masked repr; values only through `.reveal()`


@dataclass(frozen=True)
class HandoverSystem:
    name: str
    kind: str
    host: str | None
    notes: str | None
    entries: tuple[HandoverEntry, ...]


@dataclass(frozen=True)
class Handover:
    """A customer's current credentials, decrypted for the handover file."""

    slug: str
    name: str
    exported_at: datetime
    systems: tuple[HandoverSystem, ...]

    def __repr__(self) -> str:
        return f"Handover({self.slug!r}, systems={len(self.systems)})"

    @property
    def count(self) -> int:
        return sum(len(s.entries) for s in self.systems)


@dataclass(frozen=True)
class OffboardResult(_Record):
    customer: str
    revoked: tuple[str, ...]
    purge_after: datetime


@dataclass(frozen=True)
class ReportCredential(_Record):
    system: str
    name: str
    username: str | None
    url: str | None
    versions: int
    updated_at: datetime
    last_access: datetime | None
    last_access_by: str | None
    retired_at: datetime | None = None  # retired (`cred retire`): kept, device gone


@dataclass(frozen=True)
class ReportAccess(_Record):
    technician: str
    role: str
    via: str  # "grant" or "organization key (can grant themselves)"
    granted_by: str | None
    granted_at: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class CustomerReport(_Record):
    slug: str
    name: str
    status: str
    created_at: datetime
    offboarded_at: datetime | None
    purge_after: datetime | None
    systems: tuple[dict[str, Any], ...]
    credentials: tuple[ReportCredential, ...]
    access: tuple[ReportAccess, ...]
    last_access: datetime | None
    last_access_by: str | None
    certificate: Certificate | None
    # Credentials and systems deleted (`cred delete`, `system delete`), from the log:
    # {"target", "action", "at", "by", "destroyed"}.
    deleted: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = _plain(super().to_dict())  # nested records and times, JSON-ready
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

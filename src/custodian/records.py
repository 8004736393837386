"""What the service hands to its callers: plain, frozen views (never ORM rows, never secrets)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


class _Record:
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)  # type: ignore[call-overload]
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


@dataclass(frozen=True)
class TechnicianInfo(_Record):
    username: str
    role: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class CertifiedMember(_Record):
    """A technician as a key-directory certification states them; `key` is the start of
    their key's fingerprint, to compare with the member out of band."""

    username: str
    role: str
    active: bool
    key: str


@dataclass(frozen=True)
class Identity(_Record):
    """Who a session is, and the root it trusts (`custodian whoami`)."""

    username: str
    role: str
    fingerprint: str | None  # None: the vault's key directory is not certified yet
    verified_through: int  # the newest access event this client verified


@dataclass(frozen=True)
class GrantInfo(_Record):
    technician: str
    customer: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None
    write_only: bool = False  # may add credentials and versions, cannot read them


@dataclass(frozen=True)
class CustomerInfo(_Record):
    slug: str
    name: str
    status: str
    require_reason: bool
    reason_pattern: str | None
    key_version: int
    created_at: datetime
    systems: int = 0
    credentials: int = 0


@dataclass(frozen=True)
class SystemInfo(_Record):
    customer: str
    name: str
    kind: str
    host: str | None
    notes: str | None


# Which credentials a listing holds: the active ones (the default), only the retired
# ones (`cred list --retired`), or both (`--all`).
RETIRED_FILTERS = ("hide", "only", "include")


@dataclass(frozen=True)
class CredentialInfo(_Record):
    path: str
    customer: str
    system: str
    system_kind: str
    host: str | None
    name: str
    username: str | None
    url: str | None
    version: int
    fields: tuple[str, ...]
    updated_at: datetime
    retired_at: datetime | None = None  # retired (`cred retire`): kept, not listed by default


@dataclass(frozen=True)
class VersionInfo(_Record):
    version: int
    key_version: int
    fields: tuple[str, ...]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class CustomerDetail(_Record):
    customer: CustomerInfo
    systems: tuple[SystemInfo, ...]
    grants: tuple[GrantInfo, ...]


@dataclass(frozen=True)
class EventInfo(_Record):
    seq: int
    at: datetime
    actor: str
    action: str
    outcome: str
    target: str | None
    reason: str | None
    detail: str | None
    customer: str | None = None  # the customer's slug, where the event concerns one


# --- the access log (issue 3) ----------------------------------------------------------


@dataclass(frozen=True)
class LogVerification(_Record):
    """The outcome of `log verify`: `first_bad` is the first sequence number that fails."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad: int | None
    problem: str | None
    checkpoints: int
    warnings: tuple[str, ...]
    seconds: float
    trusted_through: int = 0  # incremental: signatures up to here were not re-checked
    every_signature: bool = False  # each event's signature checked, not each actor's newest


@dataclass(frozen=True)
class CheckpointInfo(_Record):
    seq: int
    head: str
    at: datetime
    signer: str
    line: str


@dataclass(frozen=True)
class CredentialUse(_Record):
    """One technician's reveals of one credential in a report."""

    path: str
    technician: str
    reveals: int
    denied: int
    last: datetime | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TechnicianTotal(_Record):
    technician: str
    reveals: int
    denied: int
    credentials: int
    last: datetime | None


@dataclass(frozen=True)
class AlertInfo(_Record):
    """An anomaly: `kind` is burst, unusual-customer, off-hours or denied-attempts."""

    kind: str
    technician: str
    at: datetime
    customer: str | None
    count: int
    detail: str


@dataclass(frozen=True)
class AccessReport(_Record):
    customer: str
    name: str | None
    since: datetime | None
    until: datetime | None
    credentials: tuple[CredentialUse, ...]
    technicians: tuple[TechnicianTotal, ...]
    alerts: tuple[AlertInfo, ...]


# --- week one (issue 19): editing, showing and deleting ----------------------------------


@dataclass(frozen=True)
class CredentialEdit:
    """What `cred edit`, `cred rename` and `cred move` change: None keeps a value, ""
    clears a text (`username`, `url`, `notes`), () clears the tags."""

    name: str | None = None
    system: str | None = None  # another system of the same customer
    username: str | None = None
    url: str | None = None
    notes: str | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SystemEdit:
    """What `system edit` and `system rename` change: None keeps, "" (or 0 for the
    port) clears."""

    name: str | None = None
    kind: str | None = None
    host: str | None = None
    port: int | None = None
    notes: str | None = None


@dataclass(frozen=True)
class AccessInfo(_Record):
    """Who can open a credential, and how: `grant` (until `expires_at`) or the
    organization key (admins, who can grant themselves)."""

    technician: str
    role: str
    how: str
    expires_at: datetime | None


@dataclass(frozen=True)
class CredentialDetail(_Record):
    """`cred show`: metadata, field names, versions and access; never a value."""

    credential: CredentialInfo
    port: int | None
    notes: str | None
    tags: tuple[str, ...]
    versions: tuple[VersionInfo, ...]
    access: tuple[AccessInfo, ...]


@dataclass(frozen=True)
class PolicyChange:
    """What `customer edit --otp-seed/--max-age` and `rotation max-age` set: None keeps
    a setting; 0 days clears an age. With `kind` (and no customer): that kind's age."""

    otp_seed: str | None = None  # "admins" or "granted"
    max_age_days: int | None = None
    kind: str | None = None

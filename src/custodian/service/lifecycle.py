"""Revocation and lifecycle (issue 4): what happens when access ends.

- Ending a grant (revoke, departure, lapse) deletes the technician's wraps, rotates the
  customer key and adds what they saw to the rotation worklist.
- Removing or demoting an admin rotates the organization key and every customer key.
- Offboarding hands the data over and sets a purge date; purging crypto-shreds a
  customer and leaves a certificate; `recover` is the break-glass path through the
  recovery code.

`LifecycleMixin` is inherited by `ActorSession` and uses its plumbing (`_tx`,
`_record`, `_require_role`, ...). `reapply_purges` needs no session: a restore calls it.
"""

from __future__ import annotations

import hmac
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..clock import as_utc
from ..crypto import KeyPair, PublicKey, RecoveryCode, SigningKey
from ..db.models import (
    AccessEvent,
    Credential,
    Customer,
    CustomerStatus,
    Grant,
    RecipientKind,
    Role,
    SecretVersion,
    System,
    Technician,
    VaultInfo,
)
from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    CustodianError,
    IntegrityError,
    NotFound,
    UsageError,
)
from ..records import _Record
from ..secret import SecretPayload
from . import keys
from .revocation import EXPOSING_ACTIONS, notify_store
from .shredding import (
    SHRED_LIST_ENV,
    Certificate,
    ShredRecord,
    after_shred,
    certificate_of,
    load_shred_list,
    mirror,
    reapply_purges,
    secure_delete,
    shred_and_certify,
    shred_customer,
    shred_list,
    shred_list_path,
)

if TYPE_CHECKING:
    from .vault import Custodian

MAX_RETENTION_DAYS = 3650


# --- records ---------------------------------------------------------------------------


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

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = _plain(super().to_dict())  # nested records and times, JSON-ready
        return plain


# --- the mixin -------------------------------------------------------------------------


class LifecycleMixin:
    """Lifecycle operations of `ActorSession` (see the module docstring)."""

    if TYPE_CHECKING:
        _vault: Custodian
        technician_id: int
        username: str
        role: Role
        _key: KeyPair
        _signer: SigningKey

        @property
        def _now(self) -> datetime: ...
        def _tx(self) -> AbstractContextManager[Session]: ...
        def _record(self, tx: Session, action: str, outcome: str = "ok", **f: object) -> None: ...
        def _refuse(self, exc: CustodianError, action: str, outcome: str, **f: object) -> None: ...
        def _require_role(self, action: str, *roles: Role) -> None: ...
        def _customer(self, tx: Session, slug: str, action: str) -> Customer: ...
        def _writable(self, tx: Session, slug: str, action: str) -> Customer: ...
        def _technician(self, tx: Session, username: str) -> Technician: ...
        def _org(self, tx: Session) -> tuple[int, KeyPair]: ...
        def _rotate_customer_key(self, tx: Session, customer: Customer) -> None: ...
        def _end_grant(
            self,
            tx: Session,
            customer: Customer,
            tech: Technician,
            grant: Grant | None,
            **kw: object,
        ) -> int: ...
        def _grant_of(self, tx: Session, customer_id: int) -> Grant | None: ...
        def _open(
            self, tx: Session, customer: Customer, cred: Credential, sv: SecretVersion
        ) -> SecretPayload: ...

    # --- contract end -----------------------------------------------------------------

    def handover(self, slug: str) -> Handover:
        """Decrypt the customer's current credentials for a handover file. Needs a grant,
        as every reveal does (admins grant themselves first); one `export` event is
        committed before anything is returned."""
        self._require_role("export", Role.ADMIN)
        try:
            with self._tx() as tx:
                customer = self._customer(tx, slug, "export")
                assert customer.id is not None
                if customer.status == CustomerStatus.PURGED:
                    raise NotFound(f"customer {slug!r} was purged: nothing to hand over")
                if self._grant_of(tx, customer.id) is None:
                    raise AccessDenied(
                        f"the handover decrypts {slug!r}, which needs a grant: run"
                        f" `custodian grant {self.username} {slug} --until 1h` first"
                    )
                systems = []
                count = 0
                for system in tx.exec(
                    select(System)
                    .where(System.customer_id == customer.id)
                    .order_by(col(System.name))
                ).all():
                    entries = []
                    for cred, sv in tx.exec(
                        select(Credential, SecretVersion)
                        .join(
                            SecretVersion,
                            (col(SecretVersion.credential_id) == col(Credential.id))
                            & (col(SecretVersion.version) == col(Credential.current_version)),
                        )
                        .where(Credential.system_id == system.id)
                        .order_by(col(Credential.name))
                    ).all():
                        payload = self._open(tx, customer, cred, sv)
                        entries.append(
                            HandoverEntry(cred.name, cred.username, cred.url, cred.notes, payload)
                        )
                    count += len(entries)
                    systems.append(
                        HandoverSystem(
                            system.name, system.kind, system.host, system.notes, tuple(entries)
                        )
                    )
                self._record(
                    tx,
                    "export",
                    customer_id=customer.id,
                    target=slug,
                    detail={"purpose": "handover", "credentials": count},
                )
                return Handover(customer.slug, customer.name, self._now, tuple(systems))
        except (AccessDenied, NotFound, IntegrityError) as exc:
            outcome = {AccessDenied: "denied", NotFound: "failed"}.get(type(exc), "integrity")
            self._refuse(exc, "export", outcome, target=slug)
            raise

    def offboard(self, slug: str, *, retention_days: int | None = None) -> OffboardResult:
        """End the contract: every grant revoked, the key rotated, the customer read-only
        and hidden from technicians, its destruction scheduled."""
        self._require_role("customer-offboard", Role.ADMIN)
        if retention_days is not None:
            _check_retention(retention_days)
        with self._tx() as tx:
            customer = self._writable(tx, slug, "customer-offboard")
            assert customer.id is not None
            days = retention_days
            if days is None:
                days = tx.exec(select(VaultInfo.retention_days)).one()
            revoked = []
            for grant, tech in tx.exec(
                select(Grant, Technician)
                .join(Technician, col(Technician.id) == col(Grant.technician_id))
                .where(Grant.customer_id == customer.id)
                .order_by(col(Technician.username))
            ).all():
                self._end_grant(
                    tx, customer, tech, grant, action="revoke", rotate=False, mark=False
                )
                revoked.append(tech.username)
            self._rotate_customer_key(tx, customer)
            customer.status = CustomerStatus.OFFBOARDED
            customer.offboarded_at = self._now
            customer.purge_after = self._now + timedelta(days=days)
            tx.add(customer)
            notify_store(self._vault.store, "on_offboard", tx, slug)
            self._record(
                tx,
                "customer-offboard",
                customer_id=customer.id,
                target=slug,
                detail={"revoked": revoked, "purge_after": customer.purge_after.isoformat()},
            )
            return OffboardResult(slug, tuple(revoked), customer.purge_after)

    def retention_days(self, days: int | None = None) -> int:
        """The default retention after offboarding; sets it when `days` is given."""
        if days is None:
            self._require_role("retention", Role.ADMIN, Role.AUDITOR)
        else:
            self._require_role("retention-set", Role.ADMIN)
        if days is not None:
            _check_retention(days)
        with self._tx() as tx:
            info = tx.exec(select(VaultInfo)).one()
            if days is not None and days != info.retention_days:
                old, info.retention_days = info.retention_days, days
                tx.add(info)
                self._record(tx, "retention-set", detail={"from": old, "to": days})
            return info.retention_days

    def customer_report(self, slug: str) -> CustomerReport:
        """What the MSP holds for a customer; never a secret value."""
        self._require_role("customer-report", Role.ADMIN, Role.AUDITOR)
        with self._tx() as tx:
            customer = self._customer(tx, slug, "customer-report")
            cid = customer.id
            names = dict(tx.exec(select(Technician.id, Technician.username)).all())
            systems = tx.exec(
                select(System).where(System.customer_id == cid).order_by(col(System.name))
            ).all()
            by_system = {s.id: s for s in systems}
            last: dict[int | None, tuple[datetime, str]] = {}
            for cred_id, at, actor in tx.exec(
                select(AccessEvent.credential_id, AccessEvent.at, AccessEvent.actor)
                .where(AccessEvent.customer_id == cid)
                .where(col(AccessEvent.action).in_(EXPOSING_ACTIONS))
                .where(AccessEvent.outcome == "ok")
                .order_by(col(AccessEvent.seq))
            ).all():
                last[cred_id] = (as_utc(at), actor)
                last[-1] = (as_utc(at), actor)
            counts: dict[int | None, int] = dict(
                tx.exec(
                    select(SecretVersion.credential_id, func.count())
                    .join(Credential, col(Credential.id) == col(SecretVersion.credential_id))
                    .where(Credential.customer_id == cid)
                    .group_by(col(SecretVersion.credential_id))
                ).all()
            )
            creds = []
            for c in tx.exec(
                select(Credential)
                .where(Credential.customer_id == cid)
                .order_by(col(Credential.system_id), col(Credential.name))
            ).all():
                seen = last.get(c.id)
                creds.append(
                    ReportCredential(
                        by_system[c.system_id].name,
                        c.name,
                        c.username,
                        c.url,
                        counts.get(c.id, 0),
                        as_utc(c.updated_at),
                        seen[0] if seen else None,
                        seen[1] if seen else None,
                    )
                )
            access = [
                ReportAccess(
                    names[g.technician_id],
                    t.role,
                    "grant",
                    names.get(g.granted_by),
                    as_utc(g.granted_at),
                    as_utc(g.expires_at) if g.expires_at else None,
                )
                for g, t in tx.exec(
                    select(Grant, Technician)
                    .join(Technician, col(Technician.id) == col(Grant.technician_id))
                    .where(Grant.customer_id == cid)
                    .order_by(col(Technician.username))
                ).all()
                if not g.expires_at or as_utc(g.expires_at) > self._now
            ]
            if customer.status != CustomerStatus.PURGED:
                access += [
                    ReportAccess(
                        a.username,
                        a.role,
                        "organization key (can grant themselves)",
                        None,
                        None,
                        None,
                    )
                    for a in tx.exec(
                        select(Technician)
                        .where(Technician.role == Role.ADMIN)
                        .where(col(Technician.active))
                        .order_by(col(Technician.username))
                    ).all()
                ]
            overall = last.get(-1)
            return CustomerReport(
                customer.slug,
                customer.name,
                customer.status,
                as_utc(customer.created_at),
                as_utc(customer.offboarded_at) if customer.offboarded_at else None,
                as_utc(customer.purge_after) if customer.purge_after else None,
                tuple({"name": s.name, "kind": s.kind, "host": s.host} for s in systems),
                tuple(creds),
                tuple(access),
                overall[0] if overall else None,
                overall[1] if overall else None,
                certificate_of(tx, customer),
            )

    # --- destruction ------------------------------------------------------------------

    def purge(self, slug: str | None = None, *, now: bool = False) -> list[Certificate]:
        """Crypto-shred `slug` (when due, or at once with `now`), or every offboarded
        customer past its date. Each customer is its own transaction."""
        self._require_role("purge", Role.ADMIN)
        with self._tx() as tx:
            if slug is not None:
                customer = self._customer(tx, slug, "purge")
                if customer.status == CustomerStatus.PURGED:
                    raise UsageError(f"customer {slug!r} is already purged")
                if not now:
                    due = customer.purge_after
                    if customer.status != CustomerStatus.OFFBOARDED or due is None:
                        raise UsageError(
                            f"customer {slug!r} is not offboarded: offboard it, or purge --now"
                        )
                    if as_utc(due) > self._now:
                        raise UsageError(
                            f"customer {slug!r} is kept until {as_utc(due):%Y-%m-%d %H:%M} UTC"
                            " (purge --now destroys it earlier)"
                        )
                ids: list[int | None] = [customer.id or 0]
            else:
                ids = list(
                    tx.exec(
                        select(Customer.id)
                        .where(Customer.status == CustomerStatus.OFFBOARDED)
                        .where(col(Customer.purge_after) <= self._now)
                        .order_by(col(Customer.slug))
                    ).all()
                )
            vault_id = tx.exec(select(VaultInfo.vault_id)).one()
        done = []
        for cid in ids:
            with self._tx() as tx, secure_delete(tx):
                target = tx.get(Customer, cid)
                assert target is not None
                done.append(
                    shred_and_certify(
                        tx,
                        self._vault.store,
                        target,
                        vault_id,
                        self._now,
                        lambda tx, **f: self._record(tx, "purge", **f),
                        self.username,
                    )
                )
            after_shred(self._vault)
            mirror(vault_id, done[-1])
        return done

    def recover(self, slug: str, code: RecoveryCode) -> int:
        """Break-glass: open the organization key with the recovery code and re-wrap every
        version of the customer key to this admin, with a grant. Returns the versions."""
        self._require_role("recover", Role.ADMIN)
        recovery = code.key_pair()
        try:
            with self._tx() as tx:
                stored = tx.exec(select(VaultInfo.recovery_public_key)).one()
                if not hmac.compare_digest(recovery.public_key.to_bytes(), stored):
                    raise AuthenticationFailed("the recovery code is not this vault's")
                customer = self._customer(tx, slug, "recover")
                assert customer.id is not None
                versions = keys.customer_versions(tx, customer.id)
                if customer.status == CustomerStatus.PURGED or not versions:
                    raise NotFound(f"customer {slug!r} was purged: its keys no longer exist")
                org_version = keys.current_org_version(tx)
                org = keys.open_wrap(tx, keys.ORG, org_version, RecipientKind.RECOVERY, 0, recovery)
                if org is None:
                    raise IntegrityError("the organization key is not wrapped to the recovery key")
                me = tx.get(Technician, self.technician_id)
                assert me is not None
                mine = PublicKey(me.public_key)
                if (
                    keys.open_wrap(
                        tx,
                        keys.ORG,
                        org_version,
                        RecipientKind.TECHNICIAN,
                        self.technician_id,
                        self._key,
                    )
                    is None
                ):
                    keys.wrap_org_to(tx, org, org_version, me)
                keys.remove_wraps(tx, customer.id, RecipientKind.TECHNICIAN, self.technician_id)
                for version in versions:
                    ckey = keys.open_wrap(
                        tx, customer.id, version, RecipientKind.ORG, org_version, org
                    )
                    if ckey is None:
                        raise IntegrityError(
                            f"customer key {version} is not wrapped to the org key"
                        )
                    keys.add_wrap(
                        tx,
                        ckey,
                        customer.id,
                        version,
                        RecipientKind.TECHNICIAN,
                        self.technician_id,
                        mine,
                    )
                grant = tx.exec(
                    select(Grant)
                    .where(Grant.technician_id == self.technician_id)
                    .where(Grant.customer_id == customer.id)
                ).first() or Grant(
                    technician_id=self.technician_id,
                    customer_id=customer.id,
                    granted_by=self.technician_id,
                    granted_at=self._now,
                )
                grant.granted_at, grant.granted_by, grant.expires_at = (
                    self._now,
                    self.technician_id,
                    None,
                )
                tx.add(grant)
                notify_store(self._vault.store, "on_grant", tx, self.username, slug)
                self._record(
                    tx,
                    "recover",
                    customer_id=customer.id,
                    target=f"{self.username}@{slug}",
                    detail={
                        "via": "recovery-code",
                        "key_versions": len(versions),
                        "warning": "break-glass access with the recovery code",
                    },
                )
                return len(versions)
        except (AuthenticationFailed, AccessDenied, NotFound, IntegrityError) as exc:
            outcome = "denied" if isinstance(exc, AccessDenied) else "failed"
            self._refuse(exc, "recover", outcome, target=f"{self.username}@{slug}")
            raise


# --- helpers ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _check_retention(days: int) -> None:
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise UsageError(f"the retention must lie between 0 and {MAX_RETENTION_DAYS} days")


__all__ = [
    "SHRED_LIST_ENV",
    "Certificate",
    "CustomerReport",
    "Handover",
    "LifecycleMixin",
    "OffboardResult",
    "ShredRecord",
    "load_shred_list",
    "reapply_purges",
    "shred_customer",
    "shred_list",
    "shred_list_path",
]

"""Contract end: the handover, offboarding, the retention default and the customer report.

Offboarding revokes every grant, rotates the customer key, makes the customer read-only
and hidden from technicians, and schedules its destruction (`purge.py`) after the
retention period. The handover decrypts the customer's current credentials for a file
(`custodian.handover` writes it); the report says what the MSP holds, never a value
(docs/lifecycle.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import col, select

from ..clock import as_utc
from ..db.models import (
    AccessEvent,
    Credential,
    CustomerStatus,
    Grant,
    Role,
    SecretVersion,
    System,
    Technician,
    VaultInfo,
)
from ..errors import AccessDenied, IntegrityError, NotFound, UsageError
from ..exchange import handover as handover_file
from . import policy, reveal, revocation
from .deletion import DELETIONS
from .offboarding_records import (
    CustomerReport,
    Handover,
    HandoverEntry,
    HandoverSystem,
    OffboardResult,
    ReportAccess,
    ReportCredential,
)
from .shredding import certificate_of

if TYPE_CHECKING:
    from .actor import Actor

MAX_RETENTION_DAYS = 3650
ORG_KEY_ACCESS = "organization key (can grant themselves)"


def handover(actor: Actor, slug: str, write: Callable[[Handover], None] | None = None) -> Handover:
    """Decrypt the customer's current credentials for a handover file. Needs a grant, as
    every reveal does (admins grant themselves first); one `export` event is committed
    before anything is returned. `write` (a staged file's writer) runs before the event
    is recorded, in the same transaction: a file that cannot be written is no export."""
    actor.require_role("export", Role.ADMIN)
    try:
        with actor.transaction() as tx:
            customer = actor.customer(tx, slug)
            assert customer.id is not None
            if customer.status == CustomerStatus.PURGED:
                raise NotFound(f"customer {slug!r} was purged: nothing to hand over")
            if actor.live_grant(tx, customer.id) is None:
                raise AccessDenied(
                    f"the handover decrypts {slug!r}, which needs a grant: run"
                    f" `custodian grant {actor.username} {slug} --until 1h` first"
                )
            systems = []
            count = 0
            for system in tx.exec(
                select(System).where(System.customer_id == customer.id).order_by(col(System.name))
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
                    payload = reveal.open_version(actor, tx, customer, cred, sv)
                    entries.append(
                        HandoverEntry(cred.name, cred.username, cred.url, cred.notes, payload)
                    )
                count += len(entries)
                systems.append(
                    HandoverSystem(
                        system.name, system.kind, system.host, system.notes, tuple(entries)
                    )
                )
            data = Handover(customer.slug, customer.name, actor.now, tuple(systems))
            if write is not None:
                write(data)
            actor.record(
                tx,
                "export",
                customer_id=customer.id,
                target=slug,
                detail={"purpose": "handover", "credentials": count},
            )
            return data
    except (AccessDenied, NotFound, IntegrityError, UsageError) as exc:
        actor.refuse(exc, "export", target=slug)


def offboard(actor: Actor, slug: str, *, retention_days: int | None = None) -> OffboardResult:
    """End the contract: every grant revoked, the key rotated, the customer read-only and
    hidden from technicians, its destruction scheduled."""
    actor.require_role("customer-offboard", Role.ADMIN)
    if retention_days is not None:
        _check_retention(retention_days)
    with actor.transaction() as tx:
        customer = actor.writable_customer(tx, slug)
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
            revocation.end_grant(
                actor, tx, customer, tech, grant, action="revoke", rotate=False, mark=False
            )
            revoked.append(tech.username)
        revocation.rotate_customer_key(actor, tx, customer)
        customer.status = CustomerStatus.OFFBOARDED
        customer.offboarded_at = actor.now
        customer.purge_after = actor.now + timedelta(days=days)
        tx.add(customer)
        actor.vault.store.on_offboard(tx, slug)
        actor.record(
            tx,
            "customer-offboard",
            customer_id=customer.id,
            target=slug,
            detail={"revoked": revoked, "purge_after": customer.purge_after.isoformat()},
        )
        return OffboardResult(slug, tuple(revoked), customer.purge_after)


def retention_days(actor: Actor, days: int | None = None) -> int:
    """The default retention after offboarding; sets it when `days` is given."""
    if days is None:
        actor.require_role("retention", Role.ADMIN, Role.AUDITOR)
    else:
        actor.require_role("retention-set", Role.ADMIN)
        _check_retention(days)
    with actor.transaction() as tx:
        info = tx.exec(select(VaultInfo)).one()
        if days is not None and days != info.retention_days:
            old, info.retention_days = info.retention_days, days
            tx.add(info)
            actor.record(tx, "retention-set", detail={"from": old, "to": days})
        return info.retention_days


def customer_report(actor: Actor, slug: str) -> CustomerReport:
    """What the MSP holds for a customer; never a secret value."""
    actor.require_role("customer-report", Role.ADMIN, Role.AUDITOR)
    with actor.transaction() as tx:
        customer = actor.customer(tx, slug)
        cid = customer.id
        names = dict(tx.exec(select(Technician.id, Technician.username)).all())
        systems = tx.exec(
            select(System).where(System.customer_id == cid).order_by(col(System.name))
        ).all()
        by_system = {s.id: s for s in systems}
        last: dict[int | None, tuple[datetime, str]] = {}
        for cred_id, at, who in tx.exec(
            select(AccessEvent.credential_id, AccessEvent.at, AccessEvent.actor)
            .where(AccessEvent.customer_id == cid)
            .where(col(AccessEvent.action).in_(revocation.EXPOSING_ACTIONS))
            .where(AccessEvent.outcome == "ok")
            .order_by(col(AccessEvent.seq))
        ).all():
            last[cred_id] = (as_utc(at), who)
            last[-1] = (as_utc(at), who)
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
                    as_utc(c.retired_at) if c.retired_at else None,
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
            if policy.grant_live(g.expires_at, actor.now)
        ]
        if customer.status != CustomerStatus.PURGED:
            access += [
                ReportAccess(a.username, a.role, ORG_KEY_ACCESS, None, None, None)
                for a in tx.exec(
                    select(Technician)
                    .where(Technician.role == Role.ADMIN)
                    .where(col(Technician.active))
                    .order_by(col(Technician.username))
                ).all()
            ]
        deleted = tuple(
            {
                "target": e.target,
                "action": e.action,
                "at": as_utc(e.at),
                "by": e.actor,
                "destroyed": json.loads(e.detail or "{}").get("destroyed", {}),
            }
            for e in tx.exec(
                select(AccessEvent)
                .where(AccessEvent.customer_id == cid)
                .where(col(AccessEvent.action).in_(DELETIONS))
                .where(AccessEvent.outcome == "ok")
                .order_by(col(AccessEvent.seq))
            ).all()
        )
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
            deleted,
        )


def _check_retention(days: int) -> None:
    if not 0 <= days <= MAX_RETENTION_DAYS:
        raise UsageError(f"the retention must lie between 0 and {MAX_RETENTION_DAYS} days")


def hand_over(actor: Actor, slug: str, path: Path, passphrase: str) -> Handover:
    """`slug`'s handover written to `path` as KDBX 4. The target and the passphrase are
    checked before anything is decrypted; the file is written to a private temporary
    file inside `handover`'s transaction, before its `export` event, and put in place
    after the commit. `offboard --handover` and the TUI's offboarding use it."""
    handover_file.check_handover_passphrase(passphrase)
    with handover_file.staged(path) as stage:
        data = handover(actor, slug, lambda d: handover_file.fill_kdbx(d, stage.tmp, passphrase))
        stage.publish()
    return data


def hand_over_json(actor: Actor, slug: str, path: Path) -> Handover:
    """`slug`'s handover written to `path` as plaintext JSON, as `hand_over` writes."""
    with handover_file.staged(path) as stage:
        data = handover(actor, slug, lambda d: handover_file.fill_json(d, stage.tmp))
        stage.publish()
    return data

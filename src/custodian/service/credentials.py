"""Systems and credentials: add them, store new versions, list them, show a history.

Writing needs no read access: a version is sealed to the customer's public key, so an admin
(or a technician) can add what they cannot read. Carrying fields over from the current
version does need it (`reveal.open_version`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import (
    Credential,
    Customer,
    SecretVersion,
    System,
    SystemKind,
    Technician,
)
from ..errors import AccessDenied, AlreadyExists, Conflict, IntegrityError, NotFound
from ..paths import CredentialPath, SystemPath
from ..records import CredentialInfo, SystemInfo, VersionInfo
from ..secret import SecretPayload
from ..storage import SecretRef
from . import (
    _listing,
    directory,
    inputs,
    keys,
    payloads,
    probes,
    reveal,
    revocation,
    rows,
    secret_policy,
    store_sync,
    views,
)

if TYPE_CHECKING:
    from .actor import Actor
    from .device_targets import TargetSettings


def add_system(
    actor: Actor,
    path: str,
    kind: SystemKind,
    *,
    host: str | None = None,
    notes: str | None = None,
    target: TargetSettings | None = None,
) -> SystemInfo:
    sp = SystemPath.parse(path)
    with probes.recorded(actor, "system-add", str(sp)), actor.transaction() as tx:
        customer = actor.writable_customer(tx, sp.customer)
        if rows.find_system(tx, customer, sp.system) is not None:
            raise AlreadyExists(f"system {str(sp)!r} already exists")
        system = System(
            customer_id=customer.id or 0,
            name=sp.system,
            kind=kind,
            host=inputs.check_text(host, "host", 255) if host else None,
            notes=notes,
            created_at=actor.now,
        )
        if target is not None:  # how rotation reaches it (device_targets.py)
            target.apply(system)
        tx.add(system)
        actor.record(tx, "system-add", customer_id=customer.id, target=str(sp))
        return views.system_info(customer.slug, system)


def add_credential(
    actor: Actor,
    path: str,
    payload: SecretPayload,
    *,
    username: str | None = None,
    url: str | None = None,
    notes: str | None = None,
) -> CredentialInfo:
    """Add a credential. Needs no read access: the payload is sealed to the customer's
    public key, so an admin can add what they cannot read."""
    cp = CredentialPath.parse(path)
    with probes.recorded(actor, "cred-add", str(cp)), actor.transaction() as tx:
        customer = actor.writable_customer(tx, cp.customer)
        system = rows.find_system(tx, customer, cp.system)
        if system is None:
            raise NotFound(f"no system {str(cp.system_path)!r}")
        if rows.find_credential(tx, system, cp.name) is not None:
            raise AlreadyExists(f"credential {str(cp)!r} already exists")
        cred = Credential(
            customer_id=customer.id or 0,
            system_id=system.id or 0,
            name=cp.name,
            username=inputs.check_text(username, "username", 255) if username else None,
            url=inputs.check_text(url, "URL", 2048) if url else None,
            notes=notes,
            created_at=actor.now,
            updated_at=actor.now,
        )
        tx.add(cred)
        tx.flush()
        write_version(actor, tx, customer, cred, payload, action="cred-add", target=str(cp))
        return views.credential_info(customer, system, cred, tuple(sorted(payload)))


def set_secret(
    actor: Actor,
    path: str,
    payload: SecretPayload,
    *,
    keep_other_fields: bool = True,
    expected_version: int | None = None,
) -> int:
    """Store a new version. Fields not given are carried over from the current version,
    which needs read access to it when it has any. With `expected_version`, a current
    version other than that one (someone changed it first) raises `Conflict` and
    nothing is written: an edit of a stale version never overwrites a newer one."""
    cp = CredentialPath.parse(path)
    with probes.recorded(actor, "cred-set", str(cp)), actor.transaction() as tx:
        customer = actor.writable_customer(tx, cp.customer)
        rows.lock(tx, customer, share=True)  # no rotation while this seals to its key
        _, cred = rows.credential(tx, customer, cp)
        rows.lock(tx, cred)  # concurrent writers of one credential queue here
        rows.check_active(cred, str(cp))
        if expected_version is not None and cred.current_version != expected_version:
            raise Conflict(
                f"{str(cp)!r} is at version {cred.current_version}, not"
                f" {expected_version}: it changed since you read it; read it again"
            )
        store_sync.sync_from_store(actor, tx, customer, cred, str(cp))
        current = rows.version(tx, cred, None)
        if keep_other_fields and current is not None:
            missing = set(current.field_names.split(",")) - set(payload)
            if missing and actor.live_grant(tx, customer.id or 0) is None:
                raise AccessDenied(
                    f"keeping the fields {', '.join(sorted(missing))} of {str(cp)!r} needs a"
                    " grant to read them; give every field, or replace them (--replace)"
                )
            if missing:
                old = reveal.open_version(actor, tx, customer, cred, current)
                payload = SecretPayload({k: v for k, v in old.items() if k in missing}).merged(
                    payload
                )
        return write_version(actor, tx, customer, cred, payload, action="cred-set", target=str(cp))


def write_version(
    actor: Actor,
    tx: Session,
    customer: Customer,
    cred: Credential,
    payload: SecretPayload,
    *,
    action: str,
    target: str,
) -> int:
    """Store `payload` as the credential's next version and record the write (`action`:
    `cred-add` or `cred-set`; the event names the version and the field names, never a
    value). Returns the version."""
    assert customer.id is not None and cred.id is not None
    rows.check_active(cred, target)
    payload = inputs.check_payload(payload, secret_policy.field_limit_of(tx))
    trust = actor.trust
    logged = trust.current_version(cred.id, seen=cred.current_version)
    if cred.current_version != logged:
        raise IntegrityError(
            f"{target!r} is at version {cred.current_version} in the database but"
            f" {logged} in the access log: the database was changed"
        )
    cred.current_version = trust.next_version(cred.id)  # never a number used before
    cred.updated_at = actor.now
    kv, public = keys.newest_customer_public(tx, trust, customer.id, customer.current_key_version)
    if kv != customer.current_key_version:
        raise IntegrityError(
            f"customer {customer.slug!r}'s key version is not the key directory's: the"
            " database was changed"
        )
    actor.stage(directory.cred_change(customer.id, cred.id, cred.current_version))
    tx.add(cred)
    row = SecretVersion(
        credential_id=cred.id,
        version=cred.current_version,
        key_version=kv,
        field_names=",".join(sorted(payload)),
        created_by=actor.technician_id,
        created_at=actor.now,
    )
    tx.add(row)
    tx.flush()
    ref = SecretRef(customer.id, customer.slug, cred.id, cred.current_version, kv)
    stored_as = payloads.write(actor.vault.store, tx, ref, payload, public)
    if stored_as is not None:
        row.kv_version = stored_as
        tx.add(row)
    revocation.clear_rotation(tx, cred)
    actor.record(
        tx,
        action,
        customer_id=customer.id,
        credential_id=cred.id,
        target=target,
        detail={"version": cred.current_version, "fields": sorted(payload)},
    )
    return cred.current_version


def history(actor: Actor, path: str) -> list[VersionInfo]:
    cp = CredentialPath.parse(path)
    with probes.recorded(actor, "cred-history", str(cp)), actor.transaction() as tx:
        customer = actor.customer(tx, cp.customer)
        _, cred = rows.credential(tx, customer, cp)
        store_sync.sync_from_store(actor, tx, customer, cred, str(cp))
        return version_infos(tx, cred)


def version_infos(tx: Session, cred: Credential) -> list[VersionInfo]:
    """Every version of `cred`, oldest first (`history`, `cred show`)."""
    names = dict(tx.exec(select(Technician.id, Technician.username)).all())
    versions = tx.exec(
        select(SecretVersion)
        .where(SecretVersion.credential_id == cred.id)
        .order_by(col(SecretVersion.version))
    ).all()
    return [
        VersionInfo(
            v.version,
            v.key_version,
            tuple(v.field_names.split(",")),
            names.get(v.created_by, "?") if v.created_by is not None else "(vault)",
            as_utc(v.created_at),
        )
        for v in versions
    ]


def list_credentials(
    actor: Actor, slug: str | None = None, *, retired: str = "hide"
) -> list[CredentialInfo]:
    """The credentials this actor may see, or one customer's. Retired ones (`cred
    retire`) are left out unless `retired` is "only" or "include" (RETIRED_FILTERS)."""
    if slug is None:
        with actor.transaction() as tx:
            return _listing.credentials(tx, actor.listing_scope, actor.now, retired=retired)
    with probes.recorded(actor, "cred-list", slug), actor.transaction() as tx:
        customer = actor.customer(tx, slug)
        return _listing.credentials(tx, None, actor.now, customer.id, retired=retired)

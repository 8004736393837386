"""Everyday changes to the inventory: rename, move and edit credentials and systems;
`cred show`; and the non-secret fields `get --field username|url|host|notes` reads.

Ids never change, so access events and the Vault store's paths (by credential id) stay
attached across a rename or a move. Every change is one transaction with one event
(`cred-rename`, `cred-move`, `cred-edit`, `system-rename`, `system-edit`) naming the new
path, the old one and which attributes changed, never their values. Refusals are
recorded as every probe is (`probes.recorded`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..db.models import Credential, Customer, Grant, Role, System, SystemKind, Technician
from ..errors import AccessDenied, AlreadyExists, NotFound, UsageError
from ..paths import CredentialPath, SystemPath, check_name
from ..records import AccessInfo, CredentialDetail, CredentialEdit, SystemEdit
from ..secret import PRIMARY_FIELD, Secret
from ..totp import SEED_ALIAS
from . import credentials, inputs, policy, probes, reveal, rows, secret_policy, views
from ._readpath import METADATA_FIELDS

if TYPE_CHECKING:
    from .actor import Actor

MAX_NOTES = 64 * 1024
ORG_KEY = "organization key (can grant themselves)"


def edit(actor: Actor, path: str, change: CredentialEdit | SystemEdit) -> str:
    """`edit_system` for a `SystemEdit`, else `edit_credential`."""
    if isinstance(change, SystemEdit):
        return edit_system(actor, path, change)
    return edit_credential(actor, path, change)


def edit_credential(actor: Actor, path: str, change: CredentialEdit) -> str:
    """Rename, move (to another system of the same customer) or edit a credential's
    metadata; returns its path after the change."""
    cp = CredentialPath.parse(path)
    with probes.recorded(actor, "cred-edit", str(cp)), actor.transaction() as tx:
        edited = credential_edit(tx, actor.writable_customer(tx, cp.customer), cp, change)
        actor.record(tx, edited.action, "ok", **edited.fields())
        return edited.target


@dataclass(frozen=True)
class Edited:
    """A change made in a transaction, as its event records it (database mode and the
    server's `served_admin` build the event from this one place)."""

    action: str
    customer_id: int | None
    credential_id: int | None
    target: str  # the path after the change
    detail: dict[str, object]

    def fields(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "credential_id": self.credential_id,
            "target": self.target,
            "detail": self.detail,
        }


def credential_edit(
    tx: Session, customer: Customer, cp: CredentialPath, change: CredentialEdit
) -> Edited:
    """`edit_credential`'s rules and change, in `tx`, on a customer the actor may change."""
    system, cred = rows.credential(tx, customer, cp)
    changed = []
    name = check_name(change.name, "credential") if change.name is not None else cred.name
    target = system
    if change.system is not None and change.system != system.name:
        found = rows.find_system(tx, customer, check_name(change.system, "system"))
        if found is None:
            raise NotFound(f"no system {customer.slug + '/' + change.system!r}")
        target, changed = found, ["system"]
    if name != cred.name:
        changed.append("name")
    if changed and rows.find_credential(tx, target, name) is not None:
        raise AlreadyExists(f"credential {f'{customer.slug}/{target.name}/{name}'!r} exists")
    cred.name, cred.system_id = name, target.id or 0
    for attr, value in _texts(change).items():
        if value != getattr(cred, attr):
            setattr(cred, attr, value)
            changed.append(attr)
    if not changed:
        raise UsageError(f"nothing to change for {str(cp)!r}")
    tx.add(cred)
    tx.flush()
    action = "cred-move" if "system" in changed else "cred-rename"
    action = action if {"system", "name"} & set(changed) else "cred-edit"
    new = f"{customer.slug}/{target.name}/{name}"
    detail: dict[str, object] = {"from": str(cp), "changed": sorted(changed)}
    return Edited(action, customer.id, cred.id, new, detail)


def _texts(change: CredentialEdit) -> dict[str, str | None]:
    """The metadata texts `change` sets, checked; "" clears one."""
    out: dict[str, str | None] = {}
    for attr, what, limit in (("username", "username", 255), ("url", "URL", 2048)):
        value = getattr(change, attr)
        if value is not None:
            out[attr] = inputs.check_text(value, what, limit) if value else None
    if change.notes is not None:
        out["notes"] = inputs.check_value(change.notes, "notes", MAX_NOTES) or None
    if change.tags is not None:
        tags = sorted({check_name(t.strip().lower(), "tag") for t in change.tags if t.strip()})
        joined = ",".join(tags)
        if len(joined) > 512:
            raise UsageError("the tags are longer than 512 characters")
        out["tags"] = joined or None
    return out


def edit_system(actor: Actor, path: str, change: SystemEdit) -> str:
    """Rename a system or edit its metadata (kind, host, port, notes); returns its path
    after the change. Its credentials follow it (their ids do not change)."""
    sp = SystemPath.parse(path)
    with probes.recorded(actor, "system-edit", str(sp)), actor.transaction() as tx:
        edited = system_edit(tx, actor.writable_customer(tx, sp.customer), sp, change)
        actor.record(tx, edited.action, "ok", **edited.fields())
        return edited.target


def system_edit(tx: Session, customer: Customer, sp: SystemPath, change: SystemEdit) -> Edited:
    """`edit_system`'s rules and change, in `tx`, on a customer the actor may change."""
    system = rows.find_system(tx, customer, sp.system)
    if system is None:
        raise NotFound(f"no system {str(sp)!r}")
    changed = []
    if change.name is not None and change.name != system.name:
        name = check_name(change.name, "system")
        if rows.find_system(tx, customer, name) is not None:
            raise AlreadyExists(f"system {customer.slug + '/' + name!r} already exists")
        system.name = name
        changed.append("name")
    values: dict[str, object] = {}
    if change.kind is not None:
        values["kind"] = _kind(change.kind)
    if change.host is not None:
        values["host"] = inputs.check_text(change.host, "host", 255) if change.host else None
    if change.port is not None:
        if not 0 <= change.port <= 65535:
            raise UsageError("the port must lie between 1 and 65535 (0 clears it)")
        values["port"] = change.port or None
    if change.notes is not None:
        values["notes"] = inputs.check_value(change.notes, "notes", MAX_NOTES) or None
    for attr, value in values.items():
        if value != getattr(system, attr):
            setattr(system, attr, value)
            changed.append(attr)
    if not changed:
        raise UsageError(f"nothing to change for {str(sp)!r}")
    tx.add(system)
    tx.flush()
    action = "system-rename" if "name" in changed else "system-edit"
    detail: dict[str, object] = {"from": str(sp), "changed": sorted(changed)}
    return Edited(action, customer.id, None, f"{customer.slug}/{system.name}", detail)


def _kind(text: str) -> SystemKind:
    try:
        return SystemKind(text)
    except ValueError:
        kinds = ", ".join(k.value for k in SystemKind)
        raise UsageError(f"unknown system kind {text[:40]!r} (one of {kinds})") from None


def show_credential(actor: Actor, path: str) -> CredentialDetail:
    """A credential's metadata, field names, versions and who can open it."""
    cp = CredentialPath.parse(path)
    with probes.recorded(actor, "cred-show", str(cp)), actor.transaction() as tx:
        customer = actor.customer(tx, cp.customer)
        detail, _ = credential_detail(tx, customer, cp)
        return replace(detail, access=tuple(_openers(actor, tx, customer)))


def credential_detail(
    tx: Session, customer: Customer, cp: CredentialPath
) -> tuple[CredentialDetail, int]:
    """`show_credential` but who can open it (`access` empty), and the credential's id;
    on a customer the actor may see."""
    system, cred = rows.credential(tx, customer, cp)
    current = rows.version(tx, cred, None)
    fields = tuple(current.field_names.split(",")) if current else ()
    detail = CredentialDetail(
        views.credential_info(customer, system, cred, fields),
        system.port,
        cred.notes,
        tuple(cred.tags.split(",")) if cred.tags else (),
        tuple(credentials.version_infos(tx, cred)),
        (),
    )
    return detail, cred.id or 0


def _openers(actor: Actor, tx: Session, customer: Customer) -> list[AccessInfo]:
    """Active technicians with a live grant, then the admins (the organization key)."""
    out = [
        AccessInfo(t.username, t.role, "grant", g.expires_at)
        for g, t in tx.exec(
            select(Grant, Technician)
            .join(Technician, col(Technician.id) == col(Grant.technician_id))
            .where(Grant.customer_id == customer.id)
            .where(col(Technician.active))
            .order_by(col(Technician.username))
        ).all()
        if policy.grant_live(g.expires_at, actor.now)
    ]
    admins = tx.exec(
        select(Technician)
        .where(Technician.role == Role.ADMIN)
        .where(col(Technician.active))
        .order_by(col(Technician.username))
    ).all()
    return out + [AccessInfo(a.username, a.role, ORG_KEY, None) for a in admins]


def read_field(
    actor: Actor,
    path: str,
    *,
    field: str = PRIMARY_FIELD,
    reason: str | None = None,
    version: int | None = None,
    action: str = "reveal",
) -> Secret:
    """`get --field`: a secret field (`reveal`), or a non-secret one (`username`, `url`,
    `host`, `notes`) under the same rules, logged as `reveal-metadata` of `PATH#FIELD`.
    A secret field of that name, where one exists, comes first."""
    if field == SEED_ALIAS:
        secret_policy.check_seed_reveal(actor, path)
    if field not in METADATA_FIELDS:
        return reveal.reveal(
            actor, path, field=field, reason=reason, version=version, action=action
        )
    cp = CredentialPath.parse(path)
    reason = inputs.check_text(reason, "reason", 500) if reason else None
    event: dict[str, object] = {"target": f"{cp}#{field}", "reason": reason}
    # Not `reveal`: a username seen is no password seen (the rotation worklist counts
    # reveals, revocation.EXPOSING_ACTIONS).
    logged = f"{action}-metadata"
    try:
        with actor.transaction() as tx:
            customer = actor.customer(tx, cp.customer)
            event["customer_id"] = customer.id
            if actor.live_grant(tx, customer.id or 0) is None:
                raise AccessDenied(f"no access to customer {cp.customer!r}")
            policy.check_reason(customer, reason)
            system, cred = rows.credential(tx, customer, cp)
            event["credential_id"] = cred.id
            current = rows.version(tx, cred, version)
            if current is None or field not in current.field_names.split(","):
                value = _metadata(system, cred)[field]
                if not value:
                    raise NotFound(f"{str(cp)!r} has no {field}")
                actor.record(tx, logged, "ok", detail={"field": field}, **event)
                return Secret(value)
    except (AccessDenied, NotFound) as exc:
        actor.refuse(exc, logged, **event)
    return reveal.reveal(actor, path, field=field, reason=reason, version=version, action=action)


def _metadata(system: System, cred: Credential) -> dict[str, str | None]:
    return {"username": cred.username, "url": cred.url, "host": system.host, "notes": cred.notes}

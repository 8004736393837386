"""Technicians: enrol, list, change or reset a passphrase, change a role, remove.

Losing the admin role (a demotion or a removal) rotates the organization key
(`revocation.rotate_org_key`); removing anyone ends their grants as `revoke` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlmodel import col, select

from ..audit.append import key_binding
from ..crypto import KdfParams, KeyPair, PassphraseLock, SigningKey
from ..db.models import Customer, Grant, KeyWrap, RecipientKind, Role, Technician
from ..errors import AlreadyExists, IntegrityError, UsageError
from ..paths import check_name
from ..records import Identity, TechnicianInfo
from . import directory, keys, revocation, rotation, views
from .enrolment import check_passphrase, enrol, lock_bundle
from .rotation import RotationEntry

if TYPE_CHECKING:
    from .actor import Actor


def add_technician(actor: Actor, username: str, role: Role, passphrase: str) -> TechnicianInfo:
    actor.require_role("tech-add", Role.ADMIN)
    check_name(username, "technician")
    check_passphrase(passphrase)
    params = actor.vault.vault_kdf()
    with actor.transaction() as tx:
        if tx.exec(select(Technician).where(Technician.username == username)).first():
            raise AlreadyExists(f"technician {username!r} already exists")
        kdf_floor(actor, params)
        tech, _, _ = enrol(tx, username, role, passphrase, params, actor.now, actor.trust.pin)
        stage_technician(actor, tech, new_keys=True)
        if role == Role.ADMIN:
            version, org = actor.org_key(tx)
            keys.wrap_org_to(tx, actor.trust, org, version, tech, actor.now)
        actor.record(
            tx,
            "tech-add",
            target=username,
            detail={"role": role.value, **key_binding(username, tech.signing_public_key)},
        )
        return views.technician_info(tech)


def stage_technician(actor: Actor, tech: Technician, *, new_keys: bool = False) -> None:
    """Stage `tech`'s role and active flag in the key directory; with `new_keys`, also the
    keys this client just generated for them (enrolment, reset). Otherwise their keys stay
    the directory's: a key a database writer put on the row is never certified."""
    assert tech.id is not None
    if new_keys:
        change = directory.tech_change(
            tech.id, tech.username, tech.role, tech.active, tech.public_key, tech.signing_public_key
        )
    else:
        entry = actor.trust.view().techs.get(tech.id)
        if entry is None:
            raise IntegrityError(f"technician {tech.username!r} is not in the key directory")
        change = directory.status_change(tech.id, entry, tech.role, tech.active)
    actor.stage(change)


def kdf_floor(actor: Actor, params: KdfParams) -> None:
    """The vault's KDF floor must be the key directory's (a database writer who lowers it
    would have keys locked weakly; one who raises it, every unlock slowed)."""
    actor.trust.check_kdf((params.memory_kib, params.iterations, params.lanes))


def whoami(actor: Actor) -> Identity:
    """This member as the key directory has them, and the root they pin."""
    pin = actor.trust.pin
    if pin is not None:
        with actor.transaction():
            pass  # catch up: the role and the head shown are verified ones
    head = actor.trust.head
    return Identity(
        actor.username,
        actor.role.value,
        pin.fingerprint() if pin else None,
        head[0] if head else 0,
    )


def list_technicians(actor: Actor) -> list[TechnicianInfo]:
    actor.require_role("tech-list", Role.ADMIN, Role.AUDITOR)
    with actor.transaction() as tx:
        rows = tx.exec(select(Technician).order_by(col(Technician.username))).all()
        return [views.technician_info(t) for t in rows]


def change_passphrase(actor: Actor, new_passphrase: str) -> None:
    """Re-lock this technician's private keys under a new passphrase; nothing else changes."""
    check_passphrase(new_passphrase)
    floor = actor.vault.vault_kdf()  # before _tx: a nested transaction deadlocks SQLite
    with actor.transaction() as tx:
        kdf_floor(actor, floor)
        me = tx.get(Technician, actor.technician_id)
        assert me is not None and me.locked_private is not None
        params = max(PassphraseLock.params_of(me.locked_private), floor)
        lock_bundle(me, actor.key, actor.signer, actor.trust.pin, new_passphrase, params)
        tx.add(me)
        actor.record(tx, "passwd", target=actor.username)


def remove_technician(
    actor: Actor, username: str, *, assume_compromised: bool = False
) -> list[RotationEntry]:
    """Disable an account for good: every grant ended as by `revoke`, its key material
    destroyed, the organization key rotated if it was an admin. The account and its
    events stay. Returns the worklist entries this departure caused."""
    actor.require_role("tech-remove", Role.ADMIN)
    with actor.transaction() as tx:
        tech = actor.technician(tx, username)
        assert tech.id is not None
        if tech.id == actor.technician_id:
            raise UsageError("you cannot remove your own account")
        if not tech.active:
            raise UsageError(f"technician {username!r} is already removed")
        was_admin = tech.role == Role.ADMIN
        grants = tx.exec(select(Grant).where(Grant.technician_id == tech.id)).all()
        tech.active = False
        tech.locked_private, tech.login_key = None, None
        tx.add(tech)
        tx.flush()
        stage_technician(actor, tech)
        for grant in grants:
            customer = tx.get(Customer, grant.customer_id)
            assert customer is not None
            revocation.end_grant(
                actor,
                tx,
                customer,
                tech,
                grant,
                action="revoke",
                assume_compromised=assume_compromised,
                rotate=not was_admin,
            )
        tx.execute(
            delete(KeyWrap)
            .where(col(KeyWrap.recipient_kind) == RecipientKind.TECHNICIAN)
            .where(col(KeyWrap.recipient_id) == tech.id)
        )
        if was_admin:
            revocation.rotate_org_key(actor, tx)
        actor.record(
            tx,
            "tech-remove",
            target=username,
            detail={"role": tech.role, "grants_ended": len(grants)},
        )
    return [e for e in rotation.rotation_list(actor) if e.technician == username]


def set_role(actor: Actor, username: str, role: Role) -> None:
    """Change a technician's role. Losing the admin role rotates the organization key."""
    actor.require_role("tech-role", Role.ADMIN)
    with actor.transaction() as tx:
        tech = actor.technician(tx, username)
        assert tech.id is not None
        if not tech.active:
            raise UsageError(f"technician {username!r} is removed")
        if tech.id == actor.technician_id and role != Role.ADMIN:
            raise UsageError("you cannot remove your own admin role")
        old = Role(tech.role)
        if old == role:
            return
        tech.role = role
        tx.add(tech)
        stage_technician(actor, tech)
        if role == Role.ADMIN:
            version, org = actor.org_key(tx)
            keys.wrap_org_to(tx, actor.trust, org, version, tech, actor.now)
        elif old == Role.ADMIN:
            tx.execute(
                delete(KeyWrap)
                .where(col(KeyWrap.customer_id).is_(None))
                .where(col(KeyWrap.recipient_kind) == RecipientKind.TECHNICIAN)
                .where(col(KeyWrap.recipient_id) == tech.id)
            )
            tx.flush()
            revocation.rotate_org_key(actor, tx)
        actor.record(tx, "tech-role", target=username, detail={"from": old.value, "to": role.value})


def reset_passphrase(actor: Actor, username: str, new_passphrase: str) -> int:
    """An admin sets a technician's passphrase (they lost theirs). Their private keys
    are locked under the old one, which nobody else can open, so they get new ones:
    each key wrapped to them (customer key versions of their grants; the organization
    key for an admin) is re-wrapped to the new key through the organization key and
    the old wraps deleted. The event binds their new signing key in the log (events
    before it verify with the old one). Their cached sessions stop working. Returns the
    number of keys re-wrapped."""
    actor.require_role("tech-reset", Role.ADMIN)
    check_passphrase(new_passphrase)
    floor = actor.vault.vault_kdf()  # before _tx: a nested transaction deadlocks SQLite
    with actor.transaction() as tx:
        kdf_floor(actor, floor)
        tech = actor.technician(tx, username)
        assert tech.id is not None and tech.locked_private is not None
        if tech.id == actor.technician_id:
            raise UsageError("change your own passphrase with `custodian passwd`")
        if not tech.active:
            raise UsageError(f"technician {username!r} is removed")
        mine = (col(KeyWrap.recipient_kind) == RecipientKind.TECHNICIAN) & (
            col(KeyWrap.recipient_id) == tech.id
        )
        held = tx.exec(select(KeyWrap.customer_id, KeyWrap.key_version).where(mine)).all()
        customer_ids = sorted({c for c, _ in held if c is not None})
        if customer_ids:  # a rotation meanwhile would wrap to the old key (PostgreSQL)
            tx.exec(
                select(Customer.id)
                .where(col(Customer.id).in_(customer_ids))
                .with_for_update(key_share=True)
            ).all()
        key, signer = KeyPair.generate(), SigningKey.generate()
        org_version, org = actor.org_key(tx)
        tech.public_key = key.public_key.to_bytes()
        tech.signing_public_key = signer.public_bytes()
        stage_technician(actor, tech, new_keys=True)
        new_wraps: list[tuple[KeyPair, int | None, int]] = []
        for customer_id, version in held:
            if customer_id is None:
                if version == org_version and actor.trust.role_of(tech.id) == Role.ADMIN:
                    new_wraps.append((org, None, version))
                continue
            if not actor.trust.live_grant(tech.id, customer_id, actor.now):
                continue  # a wrap the key directory does not grant: not carried over
            ckey = keys.customer_key_via_org(
                tx, actor.trust, customer_id, version, org_version, org
            )
            new_wraps.append((ckey, customer_id, version))
        tx.execute(delete(KeyWrap).where(mine))
        for wrapped, customer_id, version in new_wraps:
            keys.add_wrap(
                tx,
                actor.trust,
                wrapped,
                customer_id,
                version,
                RecipientKind.TECHNICIAN,
                tech.id,
                key.public_key,
                actor.now,
            )
        params = max(PassphraseLock.params_of(tech.locked_private), floor)
        lock_bundle(tech, key, signer, actor.trust.pin, new_passphrase, params)
        tech.failed_unlocks, tech.last_failed_at = 0, None
        tx.add(tech)
        actor.record(
            tx,
            "tech-reset",
            target=username,
            detail={
                "role": tech.role,
                "keys_rewrapped": len(new_wraps),
                **key_binding(username, signer.public_bytes()),
            },
        )
        return len(new_wraps)

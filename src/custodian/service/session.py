"""`ActorSession`: everything an authenticated technician does, authorized here.

Authorization lives in this module (who may do what) and, independently, in the
key hierarchy (who can open what): a check skipped here still meets a key that is
not wrapped to the actor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from .. import totp
from ..clock import as_utc
from ..crypto import KeyPair, PassphraseLock, PublicKey, SigningKey
from ..db.models import (
    Credential,
    Customer,
    CustomerStatus,
    Grant,
    RecipientKind,
    Role,
    SecretVersion,
    System,
    SystemKind,
    Technician,
)
from ..db.prepared import Tx
from ..errors import (
    AccessDenied,
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    CustodianError,
    IntegrityError,
    NotFound,
    UsageError,
)
from ..paths import CredentialPath, SystemPath, check_name, check_slug
from ..records import (
    CredentialInfo,
    CustomerDetail,
    CustomerInfo,
    GrantInfo,
    SystemInfo,
    TechnicianInfo,
    VersionInfo,
)
from ..secret import PRIMARY_FIELD, Secret, SecretPayload
from ..storage import SecretRef
from . import _listing, _readpath, audit, keys
from .importing import ImportingMixin
from .lifecycle import LifecycleMixin
from .log_review import LogReview

if TYPE_CHECKING:
    from .vault import Custodian

READERS = (Role.ADMIN, Role.AUDITOR)  # may see every customer's metadata and the whole log


class ActorSession(ImportingMixin, LifecycleMixin, LogReview):
    """An unlocked technician. Holds their private keys in memory; never prints them."""

    def __init__(
        self,
        vault: Custodian,
        technician_id: int,
        username: str,
        role: Role,
        key: KeyPair,
        signer: SigningKey,
    ) -> None:
        self._vault = vault
        self.technician_id = technician_id
        self.username = username
        self.role = role
        self._key = key
        self._signer = signer
        # Customer keys this actor has unwrapped, by (customer id, key version). Key
        # versions never change, and every use still checks the grant and the wrap.
        self._customer_keys: dict[tuple[int, int], KeyPair] = {}

    def __repr__(self) -> str:
        return f"ActorSession(username={self.username!r}, role={self.role.value!r})"

    def export(self) -> bytes:
        """The private-key bundle, for a session cache that encrypts it."""
        from .vault import pack_private

        return pack_private(self._key, self._signer)

    # --- plumbing -------------------------------------------------------------------

    @property
    def _now(self) -> datetime:
        return self._vault.clock()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._vault.db.transaction() as tx:
            active, signing_key = _readpath.account(tx, self.technician_id)
            if not active:
                raise self._disabled()
            if signing_key != self._signer.public_bytes():
                raise self._replaced()
            yield tx

    def _disabled(self) -> AccessDenied:
        return AccessDenied(f"the account {self.username!r} is disabled")

    def _replaced(self) -> AuthenticationFailed:
        """This session holds keys the technician no longer has (an admin reset their
        passphrase): it may not act, nor sign, any more."""
        return AuthenticationFailed(
            f"the keys of {self.username!r} were replaced (passphrase reset): unlock again"
        )

    def _record(self, tx: Tx, action: str, outcome: str = "ok", **fields: object) -> None:
        audit.append(
            tx,
            audit.EventDraft(action, outcome, self.username, self.technician_id, **fields),  # type: ignore[arg-type]
            self._now,
            self._signer,
        )

    def _refuse(self, exc: CustodianError, action: str, outcome: str, **fields: object) -> None:
        """Record a refused or failed attempt in its own transaction, then raise `exc`."""
        try:
            with self._vault.db.transaction() as tx:
                if _readpath.account(tx, self.technician_id)[1] == self._signer.public_bytes():
                    self._record(tx, action, outcome, detail={"error": exc.title}, **fields)
        finally:
            raise exc

    def _require_role(self, action: str, *roles: Role) -> None:
        if self.role not in roles:
            self._refuse(
                AccessDenied(f"{action} needs the role {' or '.join(r.value for r in roles)}"),
                action,
                "denied",
            )
        if self.role == Role.ADMIN:
            self._sweep_lapsed()  # lapsed grants lose their wraps at the next admin action

    def _grant_of(self, tx: Session, customer_id: int) -> Grant | None:
        grant = tx.exec(
            select(Grant)
            .where(Grant.technician_id == self.technician_id)
            .where(Grant.customer_id == customer_id)
        ).first()
        if grant is None or not _grant_live(grant.expires_at, self._now):
            return None
        return grant

    def _visible(self, tx: Session, customer: Customer) -> bool:
        if self.role in READERS:  # skip the grant query: readers see every customer
            return True
        granted = self._grant_of(tx, customer.id or 0) is not None
        return _may_see(self.role, customer.status, granted)

    def _customer(self, tx: Session, slug: str, action: str) -> Customer:
        """The customer named `slug`, as this actor may see it. A technician gets the
        same refusal for a customer that exists without a grant and one that does not."""
        check_slug(slug)
        customer = tx.exec(select(Customer).where(Customer.slug == slug)).first()
        if customer is not None and self._visible(tx, customer):
            return customer
        if self.role in READERS:
            raise NotFound(f"no customer {slug!r}")
        raise AccessDenied(f"no access to customer {slug!r}")

    def _customer_or_refuse(self, slug: str, action: str, target: str) -> Customer:
        try:
            with self._vault.db.transaction() as tx:
                return self._customer(tx, slug, action)
        except (AccessDenied, NotFound) as exc:
            outcome = "denied" if isinstance(exc, AccessDenied) else "failed"
            self._refuse(exc, action, outcome, target=target)
            raise  # unreachable: _refuse raises

    def _writable(self, tx: Session, slug: str, action: str) -> Customer:
        """A customer this actor may change: admins any active one, technicians granted ones."""
        if self.role == Role.AUDITOR:
            raise AccessDenied("auditors cannot change customer data")
        customer = self._customer(tx, slug, action)
        if customer.status != CustomerStatus.ACTIVE:
            raise AccessDenied(f"customer {slug!r} is offboarded and read-only")
        return customer

    def _technician(self, tx: Session, username: str) -> Technician:
        tech = tx.exec(select(Technician).where(Technician.username == username)).first()
        if tech is None:
            raise NotFound(f"no technician {username[:64]!r}")
        return tech

    def _org(self, tx: Session) -> tuple[int, KeyPair]:
        return keys.open_org_key(tx, self.technician_id, self._key)

    # --- technicians ----------------------------------------------------------------

    def add_technician(self, username: str, role: Role, passphrase: str) -> TechnicianInfo:
        from .vault import check_passphrase, enrol

        self._require_role("tech-add", Role.ADMIN)
        check_name(username, "technician")
        check_passphrase(passphrase)
        params = self._vault.vault_kdf()
        with self._tx() as tx:
            if tx.exec(select(Technician).where(Technician.username == username)).first():
                raise AlreadyExists(f"technician {username!r} already exists")
            tech, _ = enrol(tx, username, role, passphrase, params, self._now)
            if role == Role.ADMIN:
                version, org = self._org(tx)
                keys.wrap_org_to(tx, org, version, tech)
            self._record(
                tx,
                "tech-add",
                target=username,
                detail={"role": role.value, **audit.key_binding(username, tech.signing_public_key)},
            )
            return _tech_info(tech)

    def list_technicians(self) -> list[TechnicianInfo]:
        self._require_role("tech-list", Role.ADMIN, Role.AUDITOR)
        with self._tx() as tx:
            rows = tx.exec(select(Technician).order_by(col(Technician.username))).all()
            return [_tech_info(t) for t in rows]

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-lock this technician's private keys under a new passphrase; nothing else changes."""
        from .vault import check_passphrase, pack_private, technician_lock_context

        check_passphrase(new_passphrase)
        floor = self._vault.vault_kdf()  # before _tx: a nested transaction deadlocks SQLite
        with self._tx() as tx:
            me = tx.get(Technician, self.technician_id)
            assert me is not None and me.locked_private is not None
            params = max(PassphraseLock.params_of(me.locked_private), floor)
            me.locked_private = PassphraseLock(params).lock(
                pack_private(self._key, self._signer),
                new_passphrase,
                technician_lock_context(self.technician_id, self.username),
            )
            tx.add(me)
            self._record(tx, "passwd", target=self.username)

    # --- customers ------------------------------------------------------------------

    def add_customer(
        self,
        slug: str,
        name: str,
        *,
        require_reason: bool = False,
        reason_pattern: str | None = None,
    ) -> CustomerInfo:
        """Create a customer and its first key, wrapped to the organization key only."""
        self._require_role("customer-add", Role.ADMIN)
        check_slug(slug)
        name = _check_text(name, "customer name", 200)
        _check_pattern(reason_pattern)
        with self._tx() as tx:
            if tx.exec(select(Customer).where(Customer.slug == slug)).first():
                raise AlreadyExists(f"customer {slug!r} already exists")
            customer = Customer(
                slug=slug,
                name=name,
                require_reason=require_reason or reason_pattern is not None,
                reason_pattern=reason_pattern,
                created_at=self._now,
            )
            tx.add(customer)
            tx.flush()
            assert customer.id is not None
            org_version, org_public = keys.org_public(tx)
            keys.new_customer_key(
                tx, customer.id, 1, self._now, [(RecipientKind.ORG, org_version, org_public)]
            )
            self._record(tx, "customer-add", customer_id=customer.id, target=slug)
            return _customer_info(customer)

    def edit_customer(
        self,
        slug: str,
        *,
        name: str | None = None,
        require_reason: bool | None = None,
        reason_pattern: str | None = None,
        clear_pattern: bool = False,
    ) -> CustomerInfo:
        """Change a customer's name or reason policy. A pattern implies a required reason;
        `require_reason=False` drops the pattern too."""
        self._require_role("customer-edit", Role.ADMIN)
        name = _check_text(name, "customer name", 200) if name is not None else None
        _check_pattern(reason_pattern)
        with self._tx() as tx:
            customer = self._writable(tx, slug, "customer-edit")
            changes: dict[str, object] = {}
            if name is not None and name != customer.name:
                customer.name = changes["name"] = name
            pattern = customer.reason_pattern
            if clear_pattern or require_reason is False:
                pattern = None
            if reason_pattern is not None:
                pattern = reason_pattern
            required = customer.require_reason if require_reason is None else require_reason
            required = required or pattern is not None
            if required != customer.require_reason:
                customer.require_reason = changes["require_reason"] = required
            if pattern != customer.reason_pattern:
                customer.reason_pattern = pattern
                changes["reason_pattern"] = pattern
            if changes:
                tx.add(customer)
                self._record(
                    tx, "customer-edit", customer_id=customer.id, target=slug, detail=changes
                )
            return _customer_info(customer)

    def list_customers(self) -> list[CustomerInfo]:
        with self._tx() as tx:
            return _listing.customers(tx, self._listing_scope, self._now)

    def show_customer(self, slug: str) -> CustomerDetail:
        customer = self._customer_or_refuse(slug, "customer-show", slug)
        with self._tx() as tx:
            systems = tx.exec(
                select(System).where(System.customer_id == customer.id).order_by(col(System.name))
            ).all()
            grants = self._grants(tx, customer) if self.role in READERS else []
            count = tx.exec(select(func.count()).where(Credential.customer_id == customer.id)).one()
            return CustomerDetail(
                _customer_info(customer, systems=len(systems), credentials=count),
                tuple(_system_info(customer.slug, s) for s in systems),
                tuple(grants),
            )

    def _grants(self, tx: Session, customer: Customer) -> list[GrantInfo]:
        names = dict(tx.exec(select(Technician.id, Technician.username)).all())
        rows = tx.exec(select(Grant).where(Grant.customer_id == customer.id)).all()
        return [
            GrantInfo(
                names[g.technician_id],
                customer.slug,
                names[g.granted_by],
                as_utc(g.granted_at),
                as_utc(g.expires_at) if g.expires_at else None,
            )
            for g in rows
        ]

    # --- grants ---------------------------------------------------------------------

    def grant(self, username: str, slug: str, *, until: datetime | None = None) -> GrantInfo:
        """Give `username` access to `slug`: every customer key version is wrapped to them."""
        self._require_role("grant", Role.ADMIN)
        target = f"{username}@{slug}"
        if until is not None and as_utc(until) <= self._now:
            raise UsageError("the grant's expiry lies in the past")
        with self._tx() as tx:
            customer = self._writable(tx, slug, "grant")
            _lock(tx, customer)  # a rotation meanwhile would miss this grantee's wrap
            tech = self._technician(tx, username)
            if not tech.active:
                raise UsageError(f"technician {username!r} is disabled")
            assert customer.id is not None and tech.id is not None
            existing = tx.exec(
                select(Grant)
                .where(Grant.technician_id == tech.id)
                .where(Grant.customer_id == customer.id)
            ).first()
            org_version, org = self._org(tx)
            keys.remove_wraps(tx, customer.id, RecipientKind.TECHNICIAN, tech.id)
            for version in keys.customer_versions(tx, customer.id):
                ckey = keys.open_wrap(tx, customer.id, version, RecipientKind.ORG, org_version, org)
                if ckey is None:
                    raise IntegrityError(f"customer key {version} is not wrapped to the org key")
                keys.add_wrap(
                    tx,
                    ckey,
                    customer.id,
                    version,
                    RecipientKind.TECHNICIAN,
                    tech.id,
                    PublicKey(tech.public_key),
                )
            grant = existing or Grant(
                technician_id=tech.id,
                customer_id=customer.id,
                granted_by=self.technician_id,
                granted_at=self._now,
            )
            grant.granted_by, grant.granted_at, grant.expires_at = (
                self.technician_id,
                self._now,
                until,
            )
            tx.add(grant)
            detail = {"until": until.isoformat()} if until else None
            self._record(tx, "grant", customer_id=customer.id, target=target, detail=detail)
            self._vault.store.on_grant(tx, username, slug, until)
            return GrantInfo(username, slug, self.username, self._now, until)

    def revoke(self, username: str, slug: str, *, assume_compromised: bool = False) -> None:
        """Remove `username`'s grant and wrapped keys, and rotate the customer key so that
        nothing written from now on is sealed to a key they ever held. What they saw goes
        on the rotation worklist (everything with `assume_compromised`)."""
        self._require_role("revoke", Role.ADMIN)
        with self._tx() as tx:
            customer = self._customer(tx, slug, "revoke")
            _lock(tx, customer)
            tech = self._technician(tx, username)
            assert customer.id is not None and tech.id is not None
            grant = tx.exec(
                select(Grant)
                .where(Grant.technician_id == tech.id)
                .where(Grant.customer_id == customer.id)
            ).first()
            if grant is None:
                raise NotFound(f"{username!r} has no grant for {slug!r}")
            self._end_grant(
                tx, customer, tech, grant, action="revoke", assume_compromised=assume_compromised
            )

    def _rotate_customer_key(self, tx: Session, customer: Customer) -> None:
        assert customer.id is not None
        _lock(tx, customer)  # one rotation at a time, and none beside a grant or a write
        org_version, org_public = keys.org_public(tx)
        grantees = tx.exec(
            select(Technician)
            .join(Grant, col(Grant.technician_id) == col(Technician.id))
            .where(Grant.customer_id == customer.id)
            .where(col(Technician.active))
            .where(or_(col(Grant.expires_at).is_(None), col(Grant.expires_at) > self._now))
        ).all()
        recipients = [(RecipientKind.ORG, org_version, org_public)] + [
            (RecipientKind.TECHNICIAN, t.id or 0, PublicKey(t.public_key)) for t in grantees
        ]
        customer.current_key_version += 1
        keys.new_customer_key(tx, customer.id, customer.current_key_version, self._now, recipients)
        tx.add(customer)

    # --- systems and credentials ----------------------------------------------------

    def add_system(
        self, path: str, kind: SystemKind, *, host: str | None = None, notes: str | None = None
    ) -> SystemInfo:
        sp = SystemPath.parse(path)
        with self._tx() as tx:
            customer = self._writable(tx, sp.customer, "system-add")
            if _find_system(tx, customer, sp.system) is not None:
                raise AlreadyExists(f"system {str(sp)!r} already exists")
            system = System(
                customer_id=customer.id or 0,
                name=sp.system,
                kind=kind,
                host=_check_text(host, "host", 255) if host else None,
                notes=notes,
                created_at=self._now,
            )
            tx.add(system)
            self._record(tx, "system-add", customer_id=customer.id, target=str(sp))
            return _system_info(customer.slug, system)

    def add_credential(
        self,
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
        with self._tx() as tx:
            customer = self._writable(tx, cp.customer, "cred-add")
            system = _find_system(tx, customer, cp.system)
            if system is None:
                raise NotFound(f"no system {str(cp.system_path)!r}")
            if _find_credential(tx, system, cp.name) is not None:
                raise AlreadyExists(f"credential {str(cp)!r} already exists")
            cred = Credential(
                customer_id=customer.id or 0,
                system_id=system.id or 0,
                name=cp.name,
                username=_check_text(username, "username", 255) if username else None,
                url=_check_text(url, "URL", 2048) if url else None,
                notes=notes,
                created_at=self._now,
                updated_at=self._now,
            )
            tx.add(cred)
            tx.flush()
            version = self._write_version(tx, customer, cred, payload)
            self._record(
                tx,
                "cred-add",
                customer_id=customer.id,
                credential_id=cred.id,
                target=str(cp),
                detail={"version": version, "fields": sorted(payload)},
            )
            return _credential_info(customer, system, cred, tuple(sorted(payload)))

    def set_secret(
        self,
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
        with self._tx() as tx:
            customer = self._writable(tx, cp.customer, "cred-set")
            _lock(tx, customer, share=True)  # no rotation while this seals to its key
            _, cred = self._credential(tx, customer, cp)
            _lock(tx, cred)  # concurrent writers of one credential queue here
            if expected_version is not None and cred.current_version != expected_version:
                raise Conflict(
                    f"{str(cp)!r} is at version {cred.current_version}, not"
                    f" {expected_version}: it changed since you read it; read it again"
                )
            self._sync(tx, customer, cred, str(cp))
            current = _version(tx, cred, None)
            if keep_other_fields and current is not None:
                missing = set(current.field_names.split(",")) - set(payload)
                if missing and self._grant_of(tx, customer.id or 0) is None:
                    raise AccessDenied(
                        f"keeping the fields {', '.join(sorted(missing))} of {str(cp)!r} needs a"
                        " grant to read them; give every field, or replace them (--replace)"
                    )
                if missing:
                    old = self._open(tx, customer, cred, current)
                    payload = SecretPayload({k: v for k, v in old.items() if k in missing}).merged(
                        payload
                    )
            version = self._write_version(tx, customer, cred, payload)
            self._record(
                tx,
                "cred-set",
                customer_id=customer.id,
                credential_id=cred.id,
                target=str(cp),
                detail={"version": version, "fields": sorted(payload)},
            )
            return version

    def _write_version(
        self, tx: Session, customer: Customer, cred: Credential, payload: SecretPayload
    ) -> int:
        assert customer.id is not None and cred.id is not None
        cred.current_version += 1
        cred.updated_at = self._now
        kv = customer.current_key_version
        tx.add(cred)
        tx.add(
            SecretVersion(
                credential_id=cred.id,
                version=cred.current_version,
                key_version=kv,
                field_names=",".join(sorted(payload)),
                created_by=self.technician_id,
                created_at=self._now,
            )
        )
        tx.flush()
        ref = SecretRef(customer.id, customer.slug, cred.id, cred.current_version, kv)
        self._vault.store.put(tx, ref, payload, keys.customer_public(tx, customer.id, kv))
        self._clear_rotation(tx, cred)
        return cred.current_version

    def _sync(self, tx: Session, customer: Customer, cred: Credential, target: str) -> None:
        """Record versions written straight to the store (Vault: `bao kv put`), one event
        each. A store that refuses this actor reads leaves the history as custodian has it."""
        assert customer.id is not None and cred.id is not None
        ref = SecretRef(
            customer.id,
            customer.slug,
            cred.id,
            cred.current_version,
            customer.current_key_version,
        )
        try:
            added = self._vault.store.sync(tx, ref)
        except AccessDenied:
            return
        for version in added:
            self._record(
                tx,
                "cred-sync",
                customer_id=customer.id,
                credential_id=cred.id,
                target=target,
                detail={"version": version, "store": self._vault.store.name},
            )

    def _credential(
        self, tx: Session, customer: Customer, cp: CredentialPath
    ) -> tuple[System, Credential]:
        system = _find_system(tx, customer, cp.system)
        cred = _find_credential(tx, system, cp.name) if system else None
        if system is None or cred is None:
            raise NotFound(f"no credential {str(cp)!r}")
        return system, cred

    def _open(
        self, tx: Session, customer: Customer, cred: Credential, sv: SecretVersion
    ) -> SecretPayload:
        """Decrypt one version with this actor's own wrap of the customer key: a grant is
        needed for everyone, admins included."""
        assert customer.id is not None and cred.id is not None
        if self._grant_of(tx, customer.id) is None:
            raise AccessDenied(f"no grant for customer {customer.slug!r}")
        cid, slug, kv = customer.id, customer.slug, sv.key_version

        def customer_key() -> KeyPair:
            blob = keys.wrapped_blob(tx, cid, kv, RecipientKind.TECHNICIAN, self.technician_id)
            return self._customer_key(cid, slug, kv, blob)

        ref = SecretRef(cid, slug, cred.id, sv.version, kv, sv.kv_version)
        return self._vault.store.get(tx, ref, customer_key)

    def _customer_key(
        self, customer_id: int, slug: str, version: int, wrapped: bytes | None
    ) -> KeyPair:
        """Customer key `version`, opened from this actor's wrap. The wrap must still exist
        (a revoke or an offboarding deletes it); once opened, the key is kept in memory."""
        if wrapped is None:
            raise AccessDenied(f"no key for customer {slug!r}")
        slot = (customer_id, version)
        ckey = self._customer_keys.get(slot)
        if ckey is None:
            ckey = keys.unwrap(
                wrapped,
                customer_id,
                version,
                RecipientKind.TECHNICIAN,
                self.technician_id,
                self._key,
            )
            if len(self._customer_keys) >= _KEY_CACHE_SIZE:
                self._customer_keys.pop(next(iter(self._customer_keys)))
            self._customer_keys[slot] = ckey
        return ckey

    def reveal(
        self,
        path: str,
        *,
        field: str = PRIMARY_FIELD,
        reason: str | None = None,
        version: int | None = None,
        action: str = "reveal",
    ) -> Secret:
        """Decrypt one field. The access event commits before the value is returned; if it
        cannot be written, nothing is returned (fail closed)."""
        cp = CredentialPath.parse(path)
        reason = _check_text(reason, "reason", 500) if reason else None
        target = str(cp) + (f"#{field}" if field != PRIMARY_FIELD else "")
        event: dict[str, object] = {"target": target, "reason": reason}
        try:
            with self._vault.db.core_transaction() as tx:
                # One joined lookup (service/_readpath.py); the checks below refuse in the
                # same order, with the same messages, as `_tx`, `_customer` and `_open`.
                row = _readpath.reveal_lookup(
                    tx, self.technician_id, cp.customer, cp.system, cp.name, version or None
                )
                if row is None or not row.active:
                    raise self._disabled()
                if row.signing_key != self._signer.public_bytes():
                    raise self._replaced()
                granted = row.grant_id is not None and _grant_live(row.expires_at, self._now)
                if (
                    row.customer_id is None
                    or row.slug is None
                    or row.status is None
                    or not _may_see(self.role, row.status, granted)
                ):
                    if self.role in READERS:
                        raise NotFound(f"no customer {cp.customer!r}")
                    raise AccessDenied(f"no access to customer {cp.customer!r}")
                event["customer_id"] = row.customer_id
                if not granted:
                    raise AccessDenied(f"no access to customer {cp.customer!r}")
                _check_reason(row, reason)  # type: ignore[arg-type]  # a Row with its fields
                if row.credential_id is None:
                    raise NotFound(f"no credential {str(cp)!r}")
                event["credential_id"] = row.credential_id
                if row.version is None or row.key_version is None or row.field_names is None:
                    raise NotFound(f"no version {version} of {str(cp)!r}")
                stored = totp.stored_field(field)  # `otp` and `otp-seed` read `otp`
                if stored not in row.field_names.split(","):
                    raise NotFound(f"{str(cp)!r} has no field {field!r}")
                ref = SecretRef(
                    row.customer_id,
                    row.slug,
                    row.credential_id,
                    row.version,
                    row.key_version,
                    row.kv_version,
                )
                key = partial(
                    self._customer_key, row.customer_id, row.slug, row.key_version, row.wrapped
                )
                payload = self._vault.store.fetch(tx, ref, key)  # a remote read starts here
                self._record(tx, action, "ok", detail={"version": row.version}, **event)
        except (AccessDenied, NotFound, IntegrityError) as exc:
            self._refuse(exc, action, _outcome(exc), **event)
            raise
        # Committed: only now may the value leave. A read that fails after the commit
        # leaves the "ok" event followed by the failure (the log errs towards "seen").
        try:
            return totp.derive(field, payload()[stored], self._now)
        except CustodianError as exc:
            self._refuse(exc, action, _outcome(exc), **event)
            raise

    def list_credentials(self, slug: str | None = None) -> list[CredentialInfo]:
        with self._tx() as tx:
            if slug is None:
                return _listing.credentials(tx, self._listing_scope, self._now)
            customer = self._customer(tx, slug, "cred-list")
            return _listing.credentials(tx, None, self._now, customer.id)

    @property
    def _listing_scope(self) -> int | None:
        """Whose grants limit a listing: None for readers, who see every customer."""
        return None if self.role in READERS else self.technician_id

    def history(self, path: str) -> list[VersionInfo]:
        cp = CredentialPath.parse(path)
        with self._tx() as tx:
            customer = self._customer(tx, cp.customer, "cred-history")
            _, cred = self._credential(tx, customer, cp)
            self._sync(tx, customer, cred, str(cp))
            names = dict(tx.exec(select(Technician.id, Technician.username)).all())
            rows = tx.exec(
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
                for v in rows
            ]

    # The access log (events, report, alerts, verify, checkpoint): `LogReview`.


# --- helpers ----------------------------------------------------------------------------

_KEY_CACHE_SIZE = 4096  # unwrapped customer keys one session keeps


def _lock(tx: Session, row: Customer | Credential, *, share: bool = False) -> None:
    """Lock `row` until the transaction ends and reload it (PostgreSQL: FOR NO KEY UPDATE,
    or FOR SHARE; SQLite's BEGIN IMMEDIATE already serializes every writer)."""
    model = type(row)
    tx.exec(
        select(model)
        .where(model.id == row.id)
        .with_for_update(read=share, key_share=not share)
        .execution_options(populate_existing=True)
    ).one()


def _outcome(exc: CustodianError) -> str:
    """How a refused or failed reveal is recorded."""
    return {AccessDenied: "denied", IntegrityError: "integrity"}.get(type(exc), "failed")


def _grant_live(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or as_utc(expires_at) > now


def _may_see(role: Role, status: str, granted: bool) -> bool:
    """Who sees a customer at all: admins and auditors every one; a technician an active
    customer they hold a live grant for. `_visible` and `reveal` both ask this."""
    return role in READERS or (status == CustomerStatus.ACTIVE and granted)


def _check_text(value: str | None, what: str, limit: int) -> str:
    if value is None or not value.strip():
        raise UsageError(f"the {what} is empty")
    if len(value) > limit:
        raise UsageError(f"the {what} is longer than {limit} characters")
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise UsageError(f"the {what} contains control characters")
    return value.strip()


def _check_pattern(pattern: str | None) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"invalid reason pattern: {exc.msg}") from None


def _check_reason(customer: Customer, reason: str | None) -> None:
    if not customer.require_reason:
        return
    if not reason:
        raise AccessDenied(f"customer {customer.slug!r} requires a reason (--reason)")
    if customer.reason_pattern and not re.fullmatch(customer.reason_pattern, reason):
        raise AccessDenied(
            f"the reason does not match customer {customer.slug!r}'s pattern "
            f"{customer.reason_pattern!r}"
        )


def _find_system(tx: Session, customer: Customer, name: str) -> System | None:
    return tx.exec(
        select(System).where(System.customer_id == customer.id).where(System.name == name)
    ).first()


def _find_credential(tx: Session, system: System, name: str) -> Credential | None:
    return tx.exec(
        select(Credential).where(Credential.system_id == system.id).where(Credential.name == name)
    ).first()


def _version(tx: Session, cred: Credential, version: int | None) -> SecretVersion | None:
    return tx.exec(
        select(SecretVersion)
        .where(SecretVersion.credential_id == cred.id)
        .where(SecretVersion.version == (version or cred.current_version))
    ).first()


def _tech_info(t: Technician) -> TechnicianInfo:
    return TechnicianInfo(t.username, t.role, t.active, as_utc(t.created_at))


def _customer_info(c: Customer, *, systems: int = 0, credentials: int = 0) -> CustomerInfo:
    return CustomerInfo(
        c.slug,
        c.name,
        c.status,
        c.require_reason,
        c.reason_pattern,
        c.current_key_version,
        as_utc(c.created_at),
        systems,
        credentials,
    )


def _system_info(slug: str, s: System) -> SystemInfo:
    return SystemInfo(slug, s.name, s.kind, s.host, s.notes)


def _credential_info(
    customer: Customer, s: System, c: Credential, fields: tuple[str, ...]
) -> CredentialInfo:
    return CredentialInfo(
        f"{customer.slug}/{s.name}/{c.name}",
        customer.slug,
        s.name,
        s.kind,
        s.host,
        c.name,
        c.username,
        c.url,
        c.current_version,
        fields,
        as_utc(c.updated_at),
    )

"""Keeping SQL and the payload store consistent: `doctor` (find and repair drift) and
`migrate` (move every payload between the SQL store and Vault).

Both are admin operations. `migrate` must open every payload; it does so through the
organization key (admins hold it), never through a grant, and the access log records
the migration and each credential it moved as `migrate` events. Work is done one
credential per transaction, so an interrupted migration resumes where it stopped.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..clock import as_utc
from ..crypto import KeyPair, open_sealed
from ..db.models import (
    Credential,
    Customer,
    CustomerStatus,
    Grant,
    RecipientKind,
    Role,
    SecretVersion,
    Technician,
)
from ..errors import IntegrityError, UsageError
from ..storage import SecretRef, SqlSecretStore
from ..storage import config as backend_config
from . import keys

if TYPE_CHECKING:
    from ..storage.vault import VaultSecretStore
    from .session import ActorSession

Progress = Callable[[int, int], None]
BATCH = 100  # credentials per transaction: an interruption loses at most one batch's work


@dataclass(frozen=True)
class Drift:
    """One inconsistency between SQL and the store, and whether it was repaired."""

    kind: str  # missing-payload | orphan-payload | unrecorded-version | access
    target: str
    detail: str
    repaired: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "target": self.target,
            "detail": self.detail,
            "repaired": self.repaired,
        }


@dataclass(frozen=True)
class MigrationResult:
    to: str
    credentials: int
    versions: int
    already_done: int


def _admin(actor: ActorSession, action: str) -> None:
    actor._require_role(action, Role.ADMIN)


def _live_credentials(tx: Session) -> list[tuple[Customer, Credential]]:
    rows = tx.exec(
        select(Customer, Credential)
        .join(Credential, col(Credential.customer_id) == col(Customer.id))
        .where(col(Customer.status).in_([CustomerStatus.ACTIVE, CustomerStatus.OFFBOARDED]))
        .order_by(col(Credential.id))
    ).all()
    return list(rows)


def _versions(tx: Session, credential_id: int) -> list[SecretVersion]:
    return list(
        tx.exec(
            select(SecretVersion)
            .where(SecretVersion.credential_id == credential_id)
            .order_by(col(SecretVersion.version))
        ).all()
    )


# --- doctor -------------------------------------------------------------------------------


def doctor(actor: ActorSession, *, repair: bool = False) -> list[Drift]:
    """Every drift between SQL and the payload store; with `repair`, fix what can be."""
    _admin(actor, "doctor")
    store = actor._vault.store
    found: list[Drift] = []
    if store.name == "vault":
        found += _doctor_vault(actor, store, repair)  # type: ignore[arg-type]
    else:
        found += _doctor_sql(actor)
    with actor._tx() as tx:
        actor._record(
            tx,
            "doctor",
            detail={
                "repair": repair,
                "found": len(found),
                "repaired": sum(d.repaired for d in found),
                "store": store.name,
            },
        )
    return found


def _doctor_sql(actor: ActorSession) -> list[Drift]:
    out = []
    with actor._tx() as tx:
        for customer, cred in _live_credentials(tx):
            for sv in _versions(tx, cred.id or 0):
                if sv.ciphertext is None:
                    out.append(
                        Drift(
                            "missing-payload",
                            _name(tx, customer, cred, sv.version),
                            "no sealed payload in SQL"
                            + (" (it is in Vault: migrate --to sql)" if sv.kv_version else ""),
                        )
                    )
    return out


def _doctor_vault(actor: ActorSession, store: VaultSecretStore, repair: bool) -> list[Drift]:
    out: list[Drift] = []
    with actor._tx() as tx:
        creds = [(c.slug, cr.id or 0, c.id or 0) for c, cr in _live_credentials(tx)]
    known: dict[str, set[int]] = {}
    for slug, cred_id, _ in creds:
        known.setdefault(slug, set()).add(cred_id)
    # Payloads without a credential.
    for slug, ids in store.stored_paths().items():
        for cred_id in ids:
            if cred_id in known.get(slug, set()):
                continue
            if repair:
                store.delete_path(slug, cred_id)
            out.append(
                Drift(
                    "orphan-payload",
                    f"{store.mount}/{store.path(slug, cred_id)}",
                    "stored in Vault for no credential; deleted"
                    if repair
                    else "stored in Vault for no credential",
                    repair,
                )
            )
    # Credentials whose versions are missing from Vault, or Vault versions not recorded.
    for slug, cred_id, _ in creds:
        alive = store.versions(slug, cred_id)
        with actor._tx() as tx:
            customer = tx.exec(select(Customer).where(Customer.slug == slug)).one()
            cred = tx.get(Credential, cred_id)
            assert cred is not None
            rows = _versions(tx, cred_id)
            dead = [sv for sv in rows if not sv.kv_version or not alive.get(sv.kv_version)]
            for sv in dead:
                out.append(_missing(tx, customer, cred, sv, rows, dead, repair))
            if repair and dead and len(dead) < len(rows):
                for sv in dead:
                    tx.delete(sv)
                cred.current_version = max(sv.version for sv in rows if sv not in dead)
                tx.add(cred)
            recorded = max((sv.kv_version or 0 for sv in rows), default=0)
            newer = [n for n, ok in alive.items() if ok and n > recorded]
            if newer:
                target = _name(tx, customer, cred, None)
                if repair:
                    actor._sync(tx, customer, cred, target)
                out.append(
                    Drift(
                        "unrecorded-version",
                        target,
                        f"KV versions {newer} are not in custodian's history"
                        + ("; recorded as new versions" if repair else ""),
                        repair,
                    )
                )
    out += _doctor_access(actor, store, repair)
    return out


def _missing(
    tx: Session,
    customer: Customer,
    cred: Credential,
    sv: SecretVersion,
    rows: list[SecretVersion],
    dead: list[SecretVersion],
    repair: bool,
) -> Drift:
    target = _name(tx, customer, cred, sv.version)
    if len(dead) == len(rows):
        return Drift(
            "missing-payload",
            target,
            "no version of this credential is left in Vault: set a new value"
            " with `custodian cred set`",
        )
    return Drift(
        "missing-payload",
        target,
        "gone from Vault; version dropped from the history"
        if repair
        else "gone from Vault (deleted or destroyed there)",
        repair,
    )


def _doctor_access(actor: ActorSession, store: VaultSecretStore, repair: bool) -> list[Drift]:
    """Vault policy attachments must equal custodian's live grants."""
    out = []
    with actor._tx() as tx:
        rows = tx.exec(
            select(Technician.username, Customer.slug, Grant.expires_at)
            .join(Grant, col(Grant.technician_id) == col(Technician.id))
            .join(Customer, col(Customer.id) == col(Grant.customer_id))
            .where(col(Technician.active))
            .where(Customer.status == CustomerStatus.ACTIVE)
        ).all()
    now = actor._now
    wanted = {(u, s): until for u, s, until in rows if until is None or as_utc(until) > now}
    attached = {(u, s) for u, slugs in store.attached().items() for s in slugs}
    for tech, slug in sorted(wanted.keys() - attached):
        if repair:
            store.set_access(tech, slug, attach=True, until=wanted[tech, slug])
        out.append(
            Drift(
                "access",
                f"{tech}@{slug}",
                "granted in custodian, not in Vault" + ("; policy attached" if repair else ""),
                repair,
            )
        )
    for tech, slug in sorted(attached - wanted.keys()):
        if repair:
            store.set_access(tech, slug, attach=False)
            store.revoke_tokens(tech)
        out.append(
            Drift(
                "access",
                f"{tech}@{slug}",
                "Vault grants access custodian does not (revoked or expired)"
                + ("; policy detached, tokens revoked" if repair else ""),
                repair,
            )
        )
    return out


def _name(tx: Session, customer: Customer, cred: Credential, version: int | None) -> str:
    from ..db.models import System

    system = tx.get(System, cred.system_id)
    base = f"{customer.slug}/{system.name if system else '?'}/{cred.name}"
    return base if version is None else f"{base} v{version}"


# --- migrate ------------------------------------------------------------------------------


def migrate(
    actor: ActorSession,
    target: backend_config.BackendConfig,
    *,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> MigrationResult:
    """Move every payload to `target` (`sql` or `vault`), verifying each. Resumable: run
    it again after an interruption, with the same target."""
    _admin(actor, "migrate")
    vault = actor._vault
    with actor._tx() as tx:
        current = backend_config.load(tx)
        if current.migrating_to not in (None, target.kind):
            raise UsageError(
                f"a migration to {current.migrating_to} is unfinished: finish it first"
            )
        if current.kind == target.kind and current.migrating_to is None:
            raise UsageError(f"payloads are already in {target.kind}")
        # During the migration the row keeps the Vault side's settings (source or target).
        vault_side = target if target.kind == "vault" else current
        pending = replace(vault_side, kind=current.kind, migrating_to=target.kind)
        if current.migrating_to is None:
            pending = backend_config.with_address(
                pending, backend_config.build_store(replace(vault_side, migrating_to=None))
            )
        backend_config.save(tx, pending)
        actor._record(tx, "migrate", detail={"to": target.kind, "state": "started"})
    vault_store: VaultSecretStore = backend_config.build_store(  # type: ignore[assignment]
        replace(pending, kind="vault", migrating_to=None)
    )
    sql_store = SqlSecretStore()
    if target.kind == "sql":
        vault.store = vault_store  # the source: picks up outside writes before moving
    with actor._tx() as tx:
        todo = [cr.id or 0 for _, cr in _live_credentials(tx)]
    moved = versions = done_before = 0
    for start in range(0, len(todo), batch):
        with actor._tx() as tx:
            opener = _KeyOpener(actor, tx)
            counts = {}
            for cred_id in todo[start : start + batch]:
                count = _migrate_one(
                    actor, tx, opener, cred_id, target.kind, vault_store, sql_store
                )
                if count is None:
                    done_before += 1
                elif count:
                    counts[cred_id] = count
            if counts:
                actor._record(
                    tx,
                    "migrate",
                    detail={
                        "to": target.kind,
                        "credentials": len(counts),
                        "versions": sum(counts.values()),
                        "ids": f"{min(counts)}..{max(counts)}",
                    },
                )
        moved += len(counts)
        versions += sum(counts.values())
        if progress is not None:
            progress(min(start + batch, len(todo)), len(todo))
    if target.kind == "sql":
        _sweep_vault(actor, vault_store)
    else:  # existing grants become Vault policy attachments
        _doctor_access(actor, vault_store, repair=True)
    with actor._tx() as tx:
        backend_config.save(tx, replace(pending, kind=target.kind, migrating_to=None))
        actor._record(
            tx,
            "migrate",
            detail={
                "to": target.kind,
                "state": "finished",
                "credentials": moved,
                "versions": versions,
                "already_done": done_before,
            },
        )
    vault.store = vault_store if target.kind == "vault" else sql_store
    return MigrationResult(target.kind, moved, versions, done_before)


class _KeyOpener:
    """Customer keys opened through the organization key (admins only), per transaction."""

    def __init__(self, actor: ActorSession, tx: Session) -> None:
        self._tx = tx
        self._org_version, self._org = actor._org(tx)
        self._keys: dict[tuple[int, int], KeyPair] = {}

    def __call__(self, customer_id: int, version: int) -> KeyPair:
        slot = (customer_id, version)
        if slot not in self._keys:
            key = keys.open_wrap(
                self._tx, customer_id, version, RecipientKind.ORG, self._org_version, self._org
            )
            if key is None:
                raise IntegrityError(f"customer key {version} is not wrapped to the org key")
            self._keys[slot] = key
        return self._keys[slot]


def _migrate_one(
    actor: ActorSession,
    tx: Session,
    opener: _KeyOpener,
    cred_id: int,
    to: str,
    vault_store: VaultSecretStore,
    sql_store: SqlSecretStore,
) -> int | None:
    """Move one credential's versions; None if nothing was left to do."""
    cred = tx.get(Credential, cred_id)
    assert cred is not None
    customer = tx.get(Customer, cred.customer_id)
    assert customer is not None and customer.id is not None
    if to == "sql":
        actor._sync(tx, customer, cred, f"{customer.slug}/{cred.id}")
    rows = _versions(tx, cred_id)
    pending = [sv for sv in rows if (sv.ciphertext is None) == (to == "sql")]
    if not pending:
        return None
    cid = customer.id

    def open_key(version: int) -> KeyPair:
        return opener(cid, version)

    for sv in pending:
        ref = SecretRef(customer.id, customer.slug, cred_id, sv.version, sv.key_version)
        if to == "vault":
            if sv.ciphertext is None:
                continue  # nothing stored anywhere (a purged payload)
            payload = _payload_of(
                open_sealed(sv.ciphertext, open_key(sv.key_version), ref.context())
            )
            vault_store.put(tx, ref, payload, None)  # type: ignore[arg-type]
            tx.flush()
            tx.refresh(sv)
            check = vault_store.read(customer.slug, cred_id, sv.kv_version or 0)
        else:
            if not sv.kv_version:
                continue
            payload_or_none = vault_store.read(customer.slug, cred_id, sv.kv_version)
            if payload_or_none is None:
                raise IntegrityError(
                    f"{_name(tx, customer, cred, sv.version)} is gone"
                    " from Vault: run `custodian doctor` first"
                )
            payload = payload_or_none
            public = keys.customer_public(tx, customer.id, sv.key_version)
            sql_store.put(tx, ref, payload, public)
            tx.flush()
            tx.refresh(sv)
            sv.kv_version = None
            tx.add(sv)
            check = _payload_of(
                open_sealed(sv.ciphertext or b"", open_key(sv.key_version), ref.context())
            )
        if check is None or not hmac.compare_digest(check.to_bytes(), payload.to_bytes()):
            raise IntegrityError(
                f"{_name(tx, customer, cred, sv.version)} did not verify after the move"
            )
    return len(pending)


def _sweep_vault(actor: ActorSession, store: VaultSecretStore) -> None:
    """After moving to SQL: nothing of custodian's is left in Vault."""
    for slug, ids in store.stored_paths().items():
        for cred_id in ids:
            store.delete_path(slug, cred_id)
    for tech, attached in store.attached().items():
        for slug in attached:
            store.set_access(tech, slug, attach=False)
        store.revoke_tokens(tech)


def _payload_of(raw: bytes):  # type: ignore[no-untyped-def]
    from ..secret import SecretPayload

    return SecretPayload.from_bytes(raw)

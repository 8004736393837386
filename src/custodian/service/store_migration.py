"""Moving every payload between the SQL store and Vault: `migrate` (an admin operation).

It must open every payload; it does so through the organization key (admins hold it),
never through a grant, and the access log records the migration and each credential it
moved as `migrate` events. Work is done one batch of credentials per transaction, so an
interrupted migration resumes where it stopped. Payloads are sealed and opened through
`payloads.py`, as every other write and read; the store's view of grants is set by
`store_admin.reconcile_access`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlmodel import Session

from ..crypto import KeyPair
from ..db.models import Credential, Customer, Role
from ..errors import IntegrityError, UsageError
from ..storage import SecretRef, SecretStore, SqlSecretStore
from ..storage import config as backend_config
from ..storage.hashicorp import VaultSecretStore
from . import credentials, keys, payloads
from .store_admin import label, live_credentials, reconcile_access, versions_of

if TYPE_CHECKING:
    from .actor import Actor

Progress = Callable[[int, int], None]
BATCH = 100  # credentials per transaction: an interruption loses at most one batch's work


@dataclass(frozen=True)
class MigrationResult:
    to: str
    credentials: int
    versions: int
    already_done: int


def migrate(
    actor: Actor,
    target: backend_config.BackendConfig,
    *,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> MigrationResult:
    """Move every payload to `target` (`sql` or `vault`), verifying each. Resumable: run
    it again after an interruption, with the same target."""
    actor.require_role("migrate", Role.ADMIN)
    with actor.transaction() as tx:
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
        actor.record(tx, "migrate", detail={"to": target.kind, "state": "started"})
    vault_store = backend_config.build_vault_store(replace(pending, migrating_to=None))
    sql_store = SqlSecretStore()
    if target.kind == "sql":
        actor.vault.store = vault_store  # the source: picks up outside writes before moving
    with actor.transaction() as tx:
        todo = [cr.id or 0 for _, cr in live_credentials(tx)]
    moved = versions = done_before = 0
    for start in range(0, len(todo), batch):
        with actor.transaction() as tx:
            opener = _key_opener(actor, tx)
            counts = {}
            for cred_id in todo[start : start + batch]:
                to = vault_store if target.kind == "vault" else sql_store
                count = _migrate_one(actor, tx, opener, cred_id, vault_store, to)
                if count is None:
                    done_before += 1
                elif count:
                    counts[cred_id] = count
            if counts:
                actor.record(
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
        _sweep_vault(vault_store)
    else:  # existing grants become Vault policy attachments
        reconcile_access(actor, vault_store, repair=True)
    with actor.transaction() as tx:
        backend_config.save(tx, replace(pending, kind=target.kind, migrating_to=None))
        actor.record(
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
    actor.vault.store = vault_store if target.kind == "vault" else sql_store
    return MigrationResult(target.kind, moved, versions, done_before)


KeyOpener = Callable[[int, int], KeyPair]


def _key_opener(actor: Actor, tx: Session) -> KeyOpener:
    """Customer keys opened through the organization key (admins only), for one
    transaction: (customer id, key version) -> key pair."""
    org_version, org = actor.org_key(tx)
    opened: dict[tuple[int, int], KeyPair] = {}

    def open_key(customer_id: int, version: int) -> KeyPair:
        slot = (customer_id, version)
        if slot not in opened:
            opened[slot] = keys.customer_key_via_org(
                tx, actor.trust, customer_id, version, org_version, org
            )
        return opened[slot]

    return open_key


def _migrate_one(
    actor: Actor,
    tx: Session,
    opener: KeyOpener,
    cred_id: int,
    vault_store: VaultSecretStore,
    to: SecretStore,
) -> int | None:
    """Move one credential's versions to `to`; None if nothing was left to do."""
    cred = tx.get(Credential, cred_id)
    assert cred is not None
    customer = tx.get(Customer, cred.customer_id)
    assert customer is not None and customer.id is not None
    to_sql = to is not vault_store
    if to_sql:
        credentials.sync_from_store(actor, tx, customer, cred, f"{customer.slug}/{cred.id}")
    rows = versions_of(tx, cred_id)
    pending = [sv for sv in rows if (sv.ciphertext is None) == to_sql]
    if not pending:
        return None
    cid = customer.id
    for sv in pending:
        ref = SecretRef(cid, customer.slug, cred_id, sv.version, sv.key_version, sv.kv_version)

        def open_key(version: int = sv.key_version) -> KeyPair:
            return opener(cid, version)

        if to_sql:
            if not sv.kv_version:
                continue
            found = vault_store.read_fields(customer.slug, cred_id, sv.kv_version)
            if found is None:
                raise IntegrityError(
                    f"{label(tx, customer, cred, sv.version)} is gone"
                    " from Vault: run `custodian doctor` first"
                )
            payload = payloads.decode(found)
        else:
            if sv.ciphertext is None:
                continue  # nothing stored anywhere (a purged payload)
            payload = payloads.read(SqlSecretStore(), tx, ref, open_key)()
        public = keys.customer_public(tx, actor.trust, cid, sv.key_version)
        stored_as = payloads.write(to, tx, ref, payload, public)
        sv.kv_version = stored_as
        if not to_sql:
            sv.ciphertext = None
        tx.add(sv)
        tx.flush()
        check = payloads.read(to, tx, replace(ref, kv_version=stored_as), open_key)()
        if not hmac.compare_digest(check.to_bytes(), payload.to_bytes()):
            raise IntegrityError(
                f"{label(tx, customer, cred, sv.version)} did not verify after the move"
            )
    return len(pending)


def _sweep_vault(store: VaultSecretStore) -> None:
    """After moving to SQL: nothing of custodian's is left in Vault."""
    for slug, ids in store.stored_paths().items():
        for cred_id in ids:
            store.delete_path(slug, cred_id)
    for tech, attached in store.attached().items():
        for slug in attached:
            store.set_access(tech, slug, attach=False)
        store.revoke_tokens(tech)

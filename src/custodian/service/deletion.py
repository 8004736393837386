"""Deleting a credential or a system: its versions destroyed as a purge destroys a
customer's, the deletion kept in the access log and in `customer report`.

A credential's payloads are sealed to its customer's key, which its other credentials
share, so a deletion cannot destroy a key: it destroys the payloads themselves. The
version rows go with `secure_delete` (SQLite overwrites them) and the file is rewritten
afterwards (`after_shred`: VACUUM, WAL checkpoint), as a purge does; the store drops its
copies (Vault: every KV version and the metadata). One transaction per deletion, one
event (`cred-delete`, `system-delete`) naming what was destroyed; admins only.

So that restoring an older backup does not bring a deleted credential back, each
deletion is also appended to a list outside the database (`deletion_list_path`, beside
the purges' destruction list), and a restore deletes again what it names
(`reapply_deletions`), each with a signed `delete-reapply` event and the directory's
`uncred` change, as `shredding.reapply_purges` does for purged customers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import (
    Credential,
    Customer,
    Role,
    RotationItem,
    SecretVersion,
    System,
    VaultInfo,
)
from ..errors import NotFound, UsageError
from ..paths import CredentialPath, SystemPath
from ..storage import SecretStore
from . import directory, probes, rows
from .shredding import after_shred, append_entry, deletion_list_path, secure_delete

if TYPE_CHECKING:
    from .actor import Actor

# The events `customer report` lists (a restore's `delete-reapply` stands for a deletion
# whose own event the older backup's log does not hold).
DELETIONS = ("cred-delete", "system-delete", "delete-reapply")


@dataclass(frozen=True)
class DeletionRecord:
    """One deletion as kept outside the database. Ids, not paths, say what was deleted
    (they survive renames and moves); `target` is the path it had, for the log."""

    vault_id: str
    customer_id: int
    target: str
    credential_ids: tuple[int, ...]
    system_id: int | None  # a system deletion
    deleted_at: str  # ISO 8601, UTC
    deleted_by: str


def delete(actor: Actor, path: str) -> dict[str, int]:
    """Delete the credential (`SLUG/SYSTEM/NAME`) or the system with every credential in
    it (`SLUG/SYSTEM`) at `path`; returns what was destroyed."""
    actor.require_role("delete", Role.ADMIN)
    action, target = deletion_target(path)
    with (
        probes.recorded(actor, action, target),
        actor.transaction() as tx,
        secure_delete(tx),
    ):
        customer = actor.writable_customer(tx, target.split("/")[0])
        deleted = delete_in(
            tx, actor.vault.store, customer, target, actor.stage, actor.username, actor.now
        )
        actor.record(tx, action, "ok", **deleted.fields())
    after_shred(actor.vault)
    deleted.mirror()
    return deleted.counts


def deletion_target(path: str) -> tuple[str, str]:
    """The event's action (`cred-delete`, `system-delete`) and the path it names."""
    depth = path.count("/")
    if depth not in (1, 2):
        raise UsageError(f"malformed path {path[:200]!r}: expected SLUG/SYSTEM[/NAME]")
    if depth == 2:
        return "cred-delete", str(CredentialPath.parse(path))
    return "system-delete", str(SystemPath.parse(path))


@dataclass(frozen=True)
class Deleted:
    """A deletion made in a transaction: what its event records (database mode and the
    server's `served_delete` build the event from this one place)."""

    customer_id: int
    credential_id: int | None  # a credential's deletion
    target: str
    counts: dict[str, int]
    entry: DeletionRecord

    def fields(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "credential_id": self.credential_id,
            "target": self.target,
            "detail": {"destroyed": self.counts},
        }

    def mirror(self) -> None:
        """Append the deletion to the list outside the database (after the commit)."""
        append_entry(deletion_list_path(self.entry.vault_id), dict(self.entry.__dict__))


def delete_in(
    tx: Session,
    store: SecretStore,
    customer: Customer,
    target: str,
    stage: Callable[[dict[str, object]], None],
    username: str,
    now: datetime,
) -> Deleted:
    """`delete`'s destruction in `tx`, on a customer the actor may change: `stage` gets
    each credential's key-directory change (`uncred`)."""
    if target.count("/") == 2:
        _, cred = rows.credential(tx, customer, CredentialPath.parse(target))
        creds, system = [cred], None
    else:
        system = rows.find_system(tx, customer, target.split("/")[1])
        if system is None:
            raise NotFound(f"no system {target!r}")
        creds = list(tx.exec(select(Credential).where(Credential.system_id == system.id)))
    vault_id = tx.exec(select(VaultInfo.vault_id)).one()
    entry = DeletionRecord(
        vault_id,
        customer.id or 0,
        target,
        tuple(c.id or 0 for c in creds),
        system.id if system is not None else None,
        now.isoformat(),
        username,
    )
    counts = {"credentials": 0, "secret_versions": 0, "payloads": 0}
    for cred in creds:
        for key, n in _destroy(tx, store, stage, customer, cred).items():
            counts[key] += n
    if system is not None:
        tx.delete(system)
        counts["systems"] = 1
    credential_id = creds[0].id if system is None else None
    return Deleted(customer.id or 0, credential_id, target, counts, entry)


def load_deletion_list(path: Path) -> list[DeletionRecord]:
    """The deletions a mirror file lists; a line that is not one: `UsageError`."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            record = DeletionRecord(
                str(data["vault_id"]),
                int(data["customer_id"]),
                str(data["target"]),
                tuple(int(i) for i in data["credential_ids"]),
                None if data["system_id"] is None else int(data["system_id"]),
                datetime.fromisoformat(data["deleted_at"]).isoformat(),
                str(data["deleted_by"]),
            )
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{path}: line {number} is not a deletion-list entry") from None
        records.append(record)
    return records


def reapply_deletions(actor: Actor, records: Iterable[DeletionRecord] = ()) -> list[str]:
    """Delete again every credential and system a deletion destroyed that a restored
    backup brought back (admins; `backups.record_restore` calls it).

    Sources: the mirror file (`deletion_list_path`) and `records`; entries of other
    vaults are ignored. A credential or system matches by id, and only if it was created
    before the deletion; a system goes only once no credential is left in it (one moved
    out after the backup and kept stays, with its system). One transaction per entry,
    with a `delete-reapply` event signed by `actor`. Idempotent; returns the targets
    deleted again."""
    actor.require_role("delete", Role.ADMIN)
    vault = actor.vault
    with vault.db.transaction() as tx:
        vault_id = tx.exec(select(VaultInfo.vault_id)).one()
    entries: list[DeletionRecord] = []
    mirror = deletion_list_path(vault_id)
    if mirror is not None and mirror.exists():
        entries += load_deletion_list(mirror)
    entries.extend(records)
    redone = []
    for entry in entries:
        if entry.vault_id != vault_id:
            continue
        with actor.transaction() as tx, secure_delete(tx):
            counts = _delete_again(actor, tx, entry)
            if counts is None:
                continue
            actor.record(
                tx,
                "delete-reapply",
                customer_id=entry.customer_id,
                target=entry.target,
                detail={"destroyed": counts, "deleted_at": entry.deleted_at},
            )
        after_shred(vault)
        redone.append(entry.target)
    return redone


def _delete_again(actor: Actor, tx: Session, entry: DeletionRecord) -> dict[str, int] | None:
    """What `entry` deleted that is here again, deleted in `tx`; None if nothing is."""
    deleted_at = as_utc(datetime.fromisoformat(entry.deleted_at))
    customer = tx.get(Customer, entry.customer_id)
    if customer is None:
        return None

    def here(row: Credential | System | None) -> bool:
        return (
            row is not None
            and row.customer_id == customer.id
            and as_utc(row.created_at) <= deleted_at
        )

    counts = {"credentials": 0, "secret_versions": 0, "payloads": 0}
    for cred_id in entry.credential_ids:
        cred = tx.get(Credential, cred_id)
        if cred is not None and here(cred):
            for key, n in _destroy(tx, actor.vault.store, actor.stage, customer, cred).items():
                counts[key] += n
    if entry.system_id is not None:
        system = tx.get(System, entry.system_id)
        if (
            system is not None
            and here(system)
            and tx.exec(select(Credential.id).where(Credential.system_id == system.id)).first()
            is None
        ):
            tx.delete(system)
            counts["systems"] = 1
    return counts if any(counts.values()) else None


def _destroy(
    tx: Session,
    store: SecretStore,
    stage: Callable[[dict[str, object]], None],
    customer: Customer,
    cred: Credential,
) -> dict[str, int]:
    assert customer.id is not None and cred.id is not None

    def gone(stmt: Any) -> int:
        return int(tx.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    gone(sql_delete(RotationItem).where(col(RotationItem.credential_id) == cred.id))
    stage(directory.uncred_change(customer.id, cred.id))
    payloads = store.destroy_credential(tx, customer.id, customer.slug, cred.id)
    versions = gone(sql_delete(SecretVersion).where(col(SecretVersion.credential_id) == cred.id))
    tx.delete(cred)
    tx.flush()
    return {"credentials": 1, "secret_versions": versions, "payloads": payloads}

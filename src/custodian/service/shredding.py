"""Crypto-shredding and the destruction list (issue 4), shared by `purge` and a restore.

`shred_customer` deletes a customer's keys, wraps, payloads and inventory inside a
transaction; `reapply_purges` shreds again, after a restore, every customer a purge
destroyed (docs/lifecycle.md, "The destruction list").
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, text
from sqlmodel import Session, col, select

from ..clock import as_utc
from ..db.models import (
    AccessEvent,
    Credential,
    Customer,
    CustomerKey,
    CustomerStatus,
    Grant,
    KeyWrap,
    PendingRotation,
    RotationItem,
    SecretVersion,
    ShreddedCustomer,
    System,
    VaultInfo,
)
from ..errors import UsageError
from ..records import _Record
from ..storage import SecretStore
from . import directory

if TYPE_CHECKING:
    from .actor import Actor
    from .vault import Custodian

SHRED_LIST_ENV = "CUSTODIAN_SHRED_LIST"


@dataclass(frozen=True)
class Certificate(_Record):
    """The certificate of destruction: kept after the data is gone."""

    customer: str
    customer_id: int
    name: str
    shredded_at: datetime
    shredded_by: str
    event_seq: int | None
    destroyed: dict[str, int]


# --- shredding, shared by purge and restore ------------------------------------------------


def shred_customer(tx: Session, store: SecretStore, customer: Customer) -> dict[str, int]:
    """Delete every key version, wrap, payload and inventory row of `customer` inside
    `tx`. The customer row stays, marked purged, so the log and the certificate name it."""
    cid = customer.id
    assert cid is not None
    cred_ids = select(Credential.id).where(Credential.customer_id == cid)

    def gone(stmt: Any) -> int:
        return int(tx.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    counts = {
        "rotation_items": gone(delete(RotationItem).where(col(RotationItem.customer_id) == cid))
    }
    gone(delete(PendingRotation).where(col(PendingRotation.customer_id) == cid))
    counts["payloads"] = store.destroy_customer(tx, cid, customer.slug)
    counts["secret_versions"] = gone(
        delete(SecretVersion).where(col(SecretVersion.credential_id).in_(cred_ids))
    )
    counts["credentials"] = gone(delete(Credential).where(col(Credential.customer_id) == cid))
    counts["systems"] = gone(delete(System).where(col(System.customer_id) == cid))
    counts["grants"] = gone(delete(Grant).where(col(Grant.customer_id) == cid))
    counts["key_wraps"] = gone(delete(KeyWrap).where(col(KeyWrap.customer_id) == cid))
    counts["key_versions"] = gone(delete(CustomerKey).where(col(CustomerKey.customer_id) == cid))
    customer.status = CustomerStatus.PURGED
    tx.add(customer)
    tx.flush()
    return counts


def shred_and_certify(
    tx: Session,
    store: SecretStore,
    customer: Customer,
    vault_id: str,
    now: datetime,
    record: Callable[..., None],
    by: str,
) -> Certificate:
    counts = shred_customer(tx, store, customer)
    record(tx, customer_id=customer.id, target=customer.slug, detail={"destroyed": counts})
    seq = tx.exec(select(func.max(AccessEvent.seq))).one()
    row = ShreddedCustomer(
        vault_id=vault_id,
        customer_id=customer.id or 0,
        slug=customer.slug,
        name=customer.name,
        shredded_at=now,
        shredded_by=by,
        event_seq=seq,
        detail=json.dumps(counts, sort_keys=True),
    )
    tx.add(row)
    return _cert_of(row)


def _cert_of(row: ShreddedCustomer) -> Certificate:
    return Certificate(
        row.slug,
        row.customer_id,
        row.name,
        as_utc(row.shredded_at),
        row.shredded_by,
        row.event_seq,
        json.loads(row.detail or "{}"),
    )


def certificate_of(tx: Session, customer: Customer) -> Certificate | None:
    row = tx.exec(
        select(ShreddedCustomer)
        .where(ShreddedCustomer.customer_id == customer.id)
        .order_by(col(ShreddedCustomer.id).desc())
    ).first()
    return _cert_of(row) if row else None


@contextmanager
def secure_delete(tx: Session) -> Iterator[None]:
    """On SQLite, deleted rows are overwritten with zeros rather than left in free pages."""
    if tx.get_bind().dialect.name == "sqlite":
        tx.connection().exec_driver_sql("PRAGMA secure_delete=ON")
    yield


def after_shred(vault: Custodian) -> None:
    """Best effort: push the deletions out of the WAL (SQLite) or dead tuples (PostgreSQL)."""
    engine = vault.db.engine
    try:
        if engine.dialect.name == "sqlite":
            # Free pages still hold copies of rows that B-tree balancing moved: VACUUM
            # rewrites the file without them, and the checkpoint empties the WAL.
            raw = engine.raw_connection()
            try:
                driver = raw.driver_connection
                assert driver is not None
                driver.execute("VACUUM")
                driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM customer_key, key_wrap, secret_version"))
    except Exception:  # noqa: S110  (the purge itself is committed; this only tidies)
        pass


# --- the destruction list outside the database -------------------------------------------


@dataclass(frozen=True)
class ShredRecord:
    """One entry of the destruction list, as kept outside the database."""

    vault_id: str
    customer_id: int
    slug: str
    shredded_at: str
    shredded_by: str


def shred_list_path(vault_id: str) -> Path | None:
    """Where purges are mirrored outside the database: $CUSTODIAN_SHRED_LIST, or a file
    in the user data directory. An empty $CUSTODIAN_SHRED_LIST turns the mirror off."""
    configured = os.environ.get(SHRED_LIST_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    import platformdirs

    return Path(platformdirs.user_data_dir("custodian")) / f"shredded-{vault_id}.jsonl"


def deletion_list_path(vault_id: str) -> Path | None:
    """Where deletions (`cred delete`, `system delete`) are mirrored: beside the purges'
    file, `<stem>.deletions<suffix>` (a file of its own: an older custodian reading the
    purges' file must never take a deletion for a whole customer's purge)."""
    purges = shred_list_path(vault_id)
    return purges.with_name(f"{purges.stem}.deletions{purges.suffix}") if purges else None


def append_entry(path: Path | None, entry: dict[str, object]) -> None:
    """Append one JSON line to a destruction-list file, synced; a failure only warns (the
    destruction itself is committed, and recorded in the database)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        import sys

        print(
            f"custodian: warning: could not append to the destruction list {path}", file=sys.stderr
        )


def mirror(vault_id: str, cert: Certificate) -> None:
    entry = ShredRecord(
        vault_id, cert.customer_id, cert.customer, cert.shredded_at.isoformat(), cert.shredded_by
    )
    append_entry(shred_list_path(vault_id), dict(entry.__dict__))


def load_shred_list(path: Path) -> list[ShredRecord]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            records.append(ShredRecord(**{k: data[k] for k in ShredRecord.__dataclass_fields__}))
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{path}: line {number} is not a destruction-list entry") from None
    return records


def shred_list(vault: Custodian) -> list[ShredRecord]:
    """The destruction list held in the database."""
    with vault.db.transaction() as tx:
        return [
            ShredRecord(
                r.vault_id, r.customer_id, r.slug, as_utc(r.shredded_at).isoformat(), r.shredded_by
            )
            for r in tx.exec(select(ShreddedCustomer).order_by(col(ShreddedCustomer.id))).all()
        ]


def reapply_purges(actor: Actor, records: Iterable[ShredRecord] = ()) -> list[str]:
    """Shred again every customer a purge destroyed that a restored backup brought back.

    Sources: the `shredded_customer` table, the mirror file (`shred_list_path`) and
    `records` (e.g. the list read from the database being replaced). Entries of other
    vaults are ignored; a customer matches by slug. Returns the slugs shredded again.
    """
    vault = actor.vault
    with vault.db.transaction() as tx:
        vault_id = tx.exec(select(VaultInfo.vault_id)).one()
    wanted = {r.slug: r for r in shred_list(vault) if r.vault_id == vault_id}
    mirror = shred_list_path(vault_id)
    if mirror is not None and mirror.exists():
        wanted.update({r.slug: r for r in load_shred_list(mirror) if r.vault_id == vault_id})
    wanted.update({r.slug: r for r in records if r.vault_id == vault_id})
    redone = []
    for slug, entry in sorted(wanted.items()):
        with actor.transaction() as tx, secure_delete(tx):
            customer = tx.exec(select(Customer).where(Customer.slug == slug)).first()
            if customer is None or customer.id is None:
                continue
            created = as_utc(customer.created_at)
            if created > datetime.fromisoformat(entry.shredded_at):
                continue  # a new customer that reuses the slug after the purge
            holds = tx.exec(
                select(func.count())
                .select_from(CustomerKey)
                .where(CustomerKey.customer_id == customer.id)
            ).one()
            listed = tx.exec(
                select(ShreddedCustomer.id).where(ShreddedCustomer.customer_id == customer.id)
            ).first()
            if not holds and customer.status == CustomerStatus.PURGED and listed:
                continue

            def record(tx: Session, **fields: object) -> None:
                actor.record(tx, "purge-reapply", "ok", **fields)

            actor.stage(directory.purge_change(customer.id))

            if listed:
                counts = shred_customer(tx, vault.store, customer)
                record(tx, customer_id=customer.id, target=slug, detail={"destroyed": counts})
            else:
                shred_and_certify(
                    tx, vault.store, customer, vault_id, vault.clock(), record, entry.shredded_by
                )
            redone.append(slug)
        after_shred(vault)
    return redone

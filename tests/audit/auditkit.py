"""Audit-log test helpers: an attacker's tools.

The attacker has write access to the database (not to anyone's private key): they drop
the append-only triggers first, then edit rows, and may recompute the hash chain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from custodian.audit import append as audit
from custodian.crypto import SigningKey
from custodian.db.models import AccessEvent

EVENTS = AccessEvent.__table__  # type: ignore[attr-defined]
CUSTOMER_PATH = "acme/dc01/admin"


def drop_triggers(kit: Any) -> None:
    if kit.backend == "postgres":
        kit.sql("DROP TRIGGER IF EXISTS access_event_append_only ON access_event")
        kit.sql("DROP TRIGGER IF EXISTS access_event_no_truncate ON access_event")
    else:
        kit.sql("DROP TRIGGER IF EXISTS access_event_no_update")
        kit.sql("DROP TRIGGER IF EXISTS access_event_no_delete")


def rows(kit: Any) -> list[Any]:
    """Every event row, through the table's types (times as datetimes on SQLite too)."""
    with kit.vault.db.engine.begin() as conn:
        return list(conn.execute(select(EVENTS).order_by(EVENTS.c.seq)).all())


def seq_of(kit: Any, action: str, actor: str, nth: int = 0) -> int:
    found = [r.seq for r in rows(kit) if r.action == action and r.actor == actor]
    return found[nth]


def head(kit: Any) -> tuple[int, bytes]:
    seq, digest = kit.sql("SELECT seq, head FROM log_head")[0]
    return seq, bytes(digest)


def canonical(row: Any) -> bytes:
    """The canonical bytes of an event row (audit.canonical_values)."""
    return audit.canonical_values(
        row.seq,
        row.at,
        row.actor_id,
        row.actor,
        row.action,
        row.outcome,
        row.customer_id,
        row.target,
        row.credential_id,
        row.reason,
        row.detail,
    )


def rehash(row: Any, prev: bytes, prev_signature: bytes | None) -> bytes:
    return audit.chain_hash(prev, prev_signature, canonical(row))


def recompute_chain(kit: Any, resign: dict[int, SigningKey] | None = None) -> None:
    """What a database-only attacker can do: make every prev_hash/hash consistent again
    (and re-sign the events whose seq is in `resign` with a key they hold), then move
    the log head to the last event."""
    prev, prev_sig = audit.GENESIS, None
    last = 0
    for row in rows(kit):
        digest = rehash(row, prev, prev_sig)
        params: dict[str, Any] = {"p": prev, "h": digest, "s": row.seq}
        sql = "UPDATE access_event SET prev_hash = :p, hash = :h"
        signature = row.signature
        if resign and row.seq in resign:
            sql += ", signature = :sig"
            params["sig"] = signature = resign[row.seq].sign(digest)
        kit.sql(sql + " WHERE seq = :s", **params)
        prev, prev_sig, last = digest, signature and bytes(signature), row.seq
    kit.sql("UPDATE log_head SET seq = :s, head = :h", s=last, h=prev)


def shift(kit: Any, from_seq: int, by: int) -> None:
    """Renumber events >= from_seq by `by` (through negatives: no transient duplicates)."""
    kit.sql("UPDATE access_event SET seq = -(seq + :by) WHERE seq >= :f", by=by, f=from_seq)
    kit.sql("UPDATE access_event SET seq = -seq WHERE seq < 0")


def insert_row(kit: Any, values: dict[str, Any]) -> None:
    with kit.vault.db.engine.begin() as conn:
        conn.execute(insert(EVENTS).values(**values))


def write_events(url: str, user: str, bundle: bytes, count: int, per_tx: int = 1) -> None:
    """A writer process's body: append `count` events (0: until killed) as `user`, `per_tx`
    per transaction, through the same `audit.append` every service call uses."""
    from sqlmodel import select as sm_select

    from custodian.db.models import Technician
    from custodian.service import Custodian
    from custodian.service.enrolment import unpack_private

    _, signer = unpack_private(bundle)
    with Custodian.open(url) as vault:
        with vault.db.transaction() as tx:
            tech_id = tx.exec(sm_select(Technician.id).where(Technician.username == user)).one()
        done = 0
        while count == 0 or done < count:
            with vault.db.transaction() as tx:
                for _ in range(per_tx if count == 0 else min(per_tx, count - done)):
                    draft = audit.EventDraft("load-test", "ok", user, tech_id, detail={"n": done})
                    audit.append(tx, draft, vault.clock(), signer)
                    done += 1

"""Audit-log test helpers: an attacker's tools.

The attacker has write access to the database (not to anyone's private key): they drop
the append-only triggers first, then edit rows, and may recompute the hash chain. They
compute hashes the way docs/audit-format.md describes (`canonical`, `chain_hash`), with
no help from custodian's own code.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from sqlalchemy import insert, select, update

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


# The hash format, written again from docs/audit-format.md ("Canonical encoding and
# hash") and not imported from the code it checks: a field the code stopped hashing
# still changes these hashes, so the tests built on them notice.
GENESIS = bytes(32)
HASHED = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "outcome",
    "customer_id",
    "target",
    "credential_id",
    "reason",
    "detail",
)


def canonical(row: Any) -> bytes:
    """The documented canonical bytes of an event: the UTF-8 JSON array of the eleven
    HASHED values, `at` as ISO 8601 in UTC (a naive time is UTC, as the table stores it),
    no spaces, non-ASCII kept, `detail` as its JSON text."""
    values = [getattr(row, name) for name in HASHED]
    at = values[1]
    values[1] = (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat()
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev: bytes, prev_signature: bytes | None, canonical_bytes: bytes) -> bytes:
    """Format v2: SHA-256("custodian-log-v2" 0x00 prev_hash len(prev_sig) prev_sig canonical)."""
    sig = prev_signature or b""
    return hashlib.sha256(
        b"custodian-log-v2\x00" + prev + bytes([len(sig)]) + sig + canonical_bytes
    ).digest()


def chain_hash_v1(prev: bytes, canonical_bytes: bytes) -> bytes:
    """Format v1: SHA-256("custodian-log-v1" 0x00 prev_hash canonical)."""
    return hashlib.sha256(b"custodian-log-v1\x00" + prev + canonical_bytes).digest()


def rehash(row: Any, prev: bytes, prev_signature: bytes | None) -> bytes:
    return chain_hash(prev, prev_signature, canonical(row))


def recompute_chain(kit: Any, resign: dict[int, SigningKey] | None = None) -> None:
    """What a database-only attacker can do: make every prev_hash/hash consistent again
    (and re-sign the events whose seq is in `resign` with a key they hold), then move
    the log head to the last event."""
    prev, prev_sig = GENESIS, None
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


def edit(kit: Any, seq: int, **values: Any) -> None:
    """Set columns of event `seq` through the table's types (a time as a datetime)."""
    with kit.vault.db.engine.begin() as conn:
        conn.execute(update(EVENTS).where(EVENTS.c.seq == seq).values(**values))


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

    _, signer, _ = unpack_private(bundle)
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

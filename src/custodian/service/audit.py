"""Appending to the access log: one hash-chained, signed, serialized sequence of events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from ..clock import as_utc
from ..crypto import SigningKey
from ..db.models import AccessEvent, LogHead

GENESIS = b"\x00" * 32
CHAIN_TAG = b"custodian-log-v1\x00"


@dataclass(frozen=True)
class EventDraft:
    """What a caller says about an event; sequence, hash and signature are added on append."""

    action: str
    outcome: str
    actor: str
    actor_id: int | None = None
    customer_id: int | None = None
    target: str | None = None
    credential_id: int | None = None
    reason: str | None = None
    detail: dict[str, object] | None = None


def canonical(event: AccessEvent) -> bytes:
    """The exact bytes an event's hash covers (docs/audit-format.md)."""
    fields = [
        event.seq,
        as_utc(event.at).isoformat(),
        event.actor_id,
        event.actor,
        event.action,
        event.outcome,
        event.customer_id,
        event.target,
        event.credential_id,
        event.reason,
        event.detail,
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash: bytes, event: AccessEvent) -> bytes:
    return hashlib.sha256(CHAIN_TAG + prev_hash + canonical(event)).digest()


def append(
    tx: Session, draft: EventDraft, at: datetime, signer: SigningKey | None = None
) -> int:
    """Append one event inside `tx` and return its sequence number. Locks the log head,
    so concurrent appends queue. Core statements built once: this is on every reveal."""
    seq, prev = tx.execute(_LOCK_HEAD).one()
    detail = (
        json.dumps(draft.detail, sort_keys=True, separators=(",", ":")) if draft.detail else None
    )
    row: dict[str, object] = {
        "seq": seq + 1, "at": at, "actor_id": draft.actor_id, "actor": draft.actor,
        "action": draft.action, "outcome": draft.outcome, "customer_id": draft.customer_id,
        "target": draft.target, "credential_id": draft.credential_id, "reason": draft.reason,
        "detail": detail, "prev_hash": prev,
    }
    # Hash the plain values: building an ORM AccessEvent costs more than the insert.
    row["hash"] = digest = link_hash(prev, SimpleNamespace(**row))  # type: ignore[arg-type]
    row["signature"] = signer.sign(digest) if signer else None
    tx.execute(_INSERT_EVENT, row)
    tx.execute(_MOVE_HEAD, {"new_seq": seq + 1, "new_head": digest})
    return seq + 1


_head = LogHead.__table__  # type: ignore[attr-defined]
_events = AccessEvent.__table__  # type: ignore[attr-defined]
_LOCK_HEAD = select(_head.c.seq, _head.c.head).where(_head.c.id == 1).with_for_update()
_INSERT_EVENT = insert(_events)
_MOVE_HEAD = (
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=bindparam("new_seq"), head=bindparam("new_head"))
)

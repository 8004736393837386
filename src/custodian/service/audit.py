"""Appending to the access log: one hash-chained, signed, serialized sequence of events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

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
) -> AccessEvent:
    """Append one event inside `tx`. Locks the log head, so concurrent appends queue."""
    head = tx.exec(select(LogHead).where(LogHead.id == 1).with_for_update()).one()
    event = AccessEvent(
        seq=head.seq + 1,
        at=at,
        actor_id=draft.actor_id,
        actor=draft.actor,
        action=draft.action,
        outcome=draft.outcome,
        customer_id=draft.customer_id,
        target=draft.target,
        credential_id=draft.credential_id,
        reason=draft.reason,
        detail=json.dumps(draft.detail, sort_keys=True, separators=(",", ":"))
        if draft.detail
        else None,
        prev_hash=head.head,
        hash=b"",
    )
    event.hash = link_hash(head.head, event)
    event.signature = signer.sign(event.hash) if signer else None
    head.seq, head.head = event.seq, event.hash
    tx.add(event)
    tx.add(head)
    tx.flush()
    return event

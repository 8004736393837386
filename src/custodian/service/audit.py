"""Appending to the access log: one hash-chained, signed, serialized sequence of events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from ..clock import as_utc
from ..crypto import SigningKey
from ..db.models import AccessEvent, LogHead
from ..db.prepared import Prepared, datetime_codec
from ..errors import IntegrityError

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


# Events that carry no signature: nobody is authenticated when they happen (a failed
# unlock; a restore into an empty database and the purges it re-applies, backup.py).
# Every other event must be signed by its actor (docs/audit-format.md, "Signatures").
UNSIGNED_ACTIONS = frozenset({("unlock", "failed"), ("restore", "ok"), ("purge-reapply", "ok")})

# The detail key that binds a technician's Ed25519 public key in the log itself, so that
# verification does not have to trust the technician table.
KEY_BINDING = "signing_key"


def key_binding(username: str, public: bytes) -> dict[str, object]:
    """The `detail` entry recording that `username` signs with `public` from now on."""
    return {KEY_BINDING: {"technician": username, "public": public.hex()}}


def canonical_values(
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    outcome: str,
    customer_id: int | None,
    target: str | None,
    credential_id: int | None,
    reason: str | None,
    detail: str | None,
) -> bytes:
    """The exact bytes an event's hash covers (docs/audit-format.md)."""
    fields = [
        seq, as_utc(at).astimezone(UTC).isoformat(), actor_id, actor, action, outcome,
        customer_id, target, credential_id, reason, detail,
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(event: AccessEvent) -> bytes:
    return canonical_values(
        event.seq, event.at, event.actor_id, event.actor, event.action, event.outcome,
        event.customer_id, event.target, event.credential_id, event.reason, event.detail,
    )


def chain_hash(prev_hash: bytes, canonical_bytes: bytes) -> bytes:
    return hashlib.sha256(CHAIN_TAG + prev_hash + canonical_bytes).digest()


def link_hash(prev_hash: bytes, event: AccessEvent) -> bytes:
    return chain_hash(prev_hash, canonical(event))


def append(
    tx: Session | Connection, draft: EventDraft, at: datetime, signer: SigningKey | None = None
) -> int:
    """Append one event inside `tx` and return its sequence number. Locks the log head,
    so concurrent appends queue. Prepared statements: this is on every reveal."""
    head = _LOCK_HEAD.one(tx, {})
    if head is None:
        raise IntegrityError("the access log has no head row: the vault is damaged")
    seq, prev = head[0], bytes(head[1])
    detail = (
        json.dumps(draft.detail, sort_keys=True, separators=(",", ":")) if draft.detail else None
    )
    row: dict[str, object] = {
        "seq": seq + 1, "at": at, "actor_id": draft.actor_id, "actor": draft.actor,
        "action": draft.action, "outcome": draft.outcome, "customer_id": draft.customer_id,
        "target": draft.target, "credential_id": draft.credential_id, "reason": draft.reason,
        "detail": detail, "prev_hash": prev,
    }
    digest = chain_hash(
        prev,
        canonical_values(
            seq + 1, at, draft.actor_id, draft.actor, draft.action, draft.outcome,
            draft.customer_id, draft.target, draft.credential_id, draft.reason, detail,
        ),
    )
    row["hash"] = digest
    row["signature"] = signer.sign(digest) if signer else None
    row["at"] = datetime_codec(tx)[0](at)
    _INSERT_EVENT.run(tx, row).close()
    _MOVE_HEAD.run(tx, {"new_seq": seq + 1, "new_head": digest}).close()
    return seq + 1


_head = LogHead.__table__  # type: ignore[attr-defined]
_events = AccessEvent.__table__  # type: ignore[attr-defined]
_LOCK_HEAD = Prepared(select(_head.c.seq, _head.c.head).where(_head.c.id == 1).with_for_update())
_INSERT_EVENT = Prepared(insert(_events).values({c.name: bindparam(c.name) for c in _events.c}))
_MOVE_HEAD = Prepared(
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=bindparam("new_seq"), head=bindparam("new_head"))
)

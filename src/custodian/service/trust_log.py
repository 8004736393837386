"""The access log as a client's trust reads it: the statements that fetch what is new
since a verified head, the root event's directory, and the replay of one event (its hash
link, its signature by the key the directory gives its actor, and its key-directory
changes, each allowed by the directory at that point: `directory.apply`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from ..audit.append import UNSIGNED_ACTIONS, canonical_values, chain_hash, signed_here
from ..crypto import verify_signature
from ..db.models import AccessEvent, LogHead
from ..db.prepared import Prepared, Tx, datetime_codec
from ..errors import IntegrityError
from .directory import Change, Directory, apply, follow_names
from .pin import Pin
from .trust_state import Head

_ev = AccessEvent.__table__  # type: ignore[attr-defined]
_hd = LogHead.__table__  # type: ignore[attr-defined]
_EVENTS_COLUMNS = (
    _ev.c.seq,
    _ev.c.at,
    _ev.c.actor_id,
    _ev.c.actor,
    _ev.c.action,
    _ev.c.outcome,
    _ev.c.customer_id,
    _ev.c.target,
    _ev.c.credential_id,
    _ev.c.reason,
    _ev.c.detail,
    _ev.c.prev_hash,
    _ev.c.hash,
    _ev.c.signature,
)
EVENTS_FROM = Prepared(
    select(*_EVENTS_COLUMNS)
    .where(_ev.c.seq >= bindparam("seq"), _ev.c.seq <= bindparam("head"))
    .order_by(_ev.c.seq)
)
_HEAD_ROW = select(_hd.c.seq, _hd.c.head).where(_hd.c.id == 1).subquery()
# The common case in one round trip: the events from this client's head up to the log
# head, each row carrying the head row's sequence and hash.
_EVENTS_TO_HEAD = Prepared(
    select(*_EVENTS_COLUMNS, _HEAD_ROW.c.seq.label("head_seq"), _HEAD_ROW.c.head)
    .select_from(_ev.join(_HEAD_ROW, _ev.c.seq <= _HEAD_ROW.c.seq))
    .where(_ev.c.seq >= bindparam("seq"))
    .order_by(_ev.c.seq)
)
_HEAD = Prepared(select(_hd.c.seq, _hd.c.head).where(_hd.c.id == 1))


def new_events(tx: Tx, start: int, limit: int | None) -> tuple[list[Any], Any] | None:
    """The events from `start` (the client's head) up to the log head, or to `limit` (the
    event before this transaction's own), and the head row: one statement in the common
    case. None: nothing to read below `limit`."""
    rows: list[Any] = []
    if limit is None:
        rows = fetch(_EVENTS_TO_HEAD, tx, {"seq": start})
    if rows and rows[0][0] == start:
        return [r[:14] for r in rows], rows[-1][14:16]
    head_row = _HEAD.one(tx, {})
    if head_row is None:
        raise IntegrityError("the access log has no head row: the vault is damaged")
    last = int(head_row[0]) if limit is None else min(limit, int(head_row[0]))
    if last < start:
        if limit is not None:
            return None  # nothing committed by others before this transaction's own
        raise IntegrityError(
            f"the access log went back from event {start} to {head_row[0]}: events"
            " were removed (a restore of an older backup, or a database writer)"
        )
    # Up to the head just read: on PostgreSQL a writer may commit more meanwhile (a row
    # past the head written outside custodian is the next append's refusal).
    return fetch(EVENTS_FROM, tx, {"seq": start, "head": last}), head_row


def decoder(tx: Tx) -> Any:
    """How this dialect's stored event times read back as datetimes."""
    return datetime_codec(tx)[1]


def root(pin: Pin, row: Any, decode_at: Any) -> tuple[Directory, Head]:
    """The directory the pinned root event states, and the head it starts."""
    if bytes(row[12]) != pin.hash:
        raise IntegrityError(
            "the vault's root event is not the one pinned in your key: this is not the"
            " vault you enrolled in, or its log was rewritten"
        )
    directory = Directory()
    at: datetime = decode_at(row[1])
    for change in changes_of(row[10]):
        apply(directory, change, None, at, root=True)
    if directory.vault_id != pin.vault_id:
        raise IntegrityError("the vault's root event names another vault")
    return directory, (int(row[0]), bytes(row[12]), _opt(row[13]))


def replay(
    directory: Directory, head: Head, row: Any, decode_at: Any, *, every_byte: bool = False
) -> tuple[Head, int]:
    """Check one event after `head` and apply its changes to `directory`; the new head
    and how many changes it made. `every_byte`: hash and verify this process's own
    events too (`log verify` through a server)."""
    seq, at_raw, actor_id, actor, action, outcome, cid, target, cred, reason, detail = row[:11]
    prev, digest, signature = bytes(row[11]), bytes(row[12]), _opt(row[13])
    at: datetime = decode_at(at_raw)
    if seq != head[0] + 1 or prev != head[1]:
        raise IntegrityError(f"event {seq} does not link to event {head[0]}")
    changes = changes_of(detail)
    entry = directory.techs.get(actor_id) if isinstance(actor_id, int) else None
    if (
        not every_byte
        and not changes
        and signature is not None
        and entry is not None
        and signed_here(bytes.fromhex(entry.sign), seq, digest, signature)
    ):
        # This process appended it with this hash and signature, and it changes no
        # key: nothing here depends on re-hashing it (`log verify` checks every byte).
        follow_names(directory, action, outcome, target, cred, detail)
        return (seq, digest, signature), 0
    canonical = canonical_values(
        seq,
        at,
        actor_id,
        actor,
        action,
        outcome,
        cid,
        target,
        cred,
        reason,
        detail,
    )
    if chain_hash(prev, head[2], canonical) != digest:
        raise IntegrityError(f"event {seq} does not match its hash")
    if signature is None:
        if (action, outcome) not in UNSIGNED_ACTIONS or changes:
            raise IntegrityError(f"event {seq} ({action}) is not signed")
    else:
        if entry is None:
            raise IntegrityError(f"event {seq} is signed by an account the directory lacks")
        public = bytes.fromhex(entry.sign)
        if not signed_here(public, seq, digest, signature) and not verify_signature(
            public, signature, digest
        ):
            raise IntegrityError(f"event {seq} is not signed by {entry.name!r}")
    for change in changes:
        apply(directory, change, actor_id, at, root=False)
    follow_names(directory, action, outcome, target, cred, detail)
    return (seq, digest, signature), len(changes)


def fetch(statement: Prepared, tx: Tx, params: dict[str, Any]) -> list[Any]:
    cursor = statement.run(tx, params)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _opt(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def changes_of(detail: object) -> list[Change]:
    if not isinstance(detail, str) or '"dir"' not in detail:
        return []
    try:
        changes = json.loads(detail).get("dir")
    except (ValueError, AttributeError):
        raise IntegrityError("an event's detail is malformed") from None
    if changes is None:
        return []
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise IntegrityError("an event's key-directory changes are malformed")
    return changes

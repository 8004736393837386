"""Appending to the access log: one hash-chained, signed, serialized sequence of events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, literal_column, select, union_all, update
from sqlalchemy import exc as exc_db

from ..clock import as_utc
from ..crypto import SigningKey, verify_signature
from ..db.models import AccessEvent, LogHead
from ..db.prepared import Prepared, Tx, connection_of, datetime_codec
from ..errors import IntegrityError

GENESIS = b"\x00" * 32
CHAIN_TAG = b"custodian-log-v1\x00"
CHAIN_TAG_V2 = b"custodian-log-v2\x00"


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


# The one event that carries no signature: a failed unlock, when nobody is authenticated.
# Every other event must be signed by its actor (docs/audit-format.md, "Signatures"),
# restores and the purges they re-apply included (signed by the restoring admin).
UNSIGNED_ACTIONS = frozenset({("unlock", "failed")})
# Vaults whose log began before the key directory (an init event without "dir") also
# hold unsigned restores from older versions; `log verify` accepts those there only.
LEGACY_UNSIGNED_ACTIONS = UNSIGNED_ACTIONS | {("restore", "ok"), ("purge-reapply", "ok")}

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
    return _CANONICAL.encode(
        [
            seq,
            as_utc(at).astimezone(UTC).isoformat(),
            actor_id,
            actor,
            action,
            outcome,
            customer_id,
            target,
            credential_id,
            reason,
            detail,
        ]
    ).encode()


# One encoder, built once: `json.dumps` with options builds a new one per call, which on
# a million-event verification costs more than the hashing.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: bytes, prev_signature: bytes | None, canonical_bytes: bytes) -> bytes:
    """The link hash (format v2): it covers the previous event's hash *and signature*, so
    every signature vouches for every byte before it, signatures included."""
    sig = prev_signature or b""
    return hashlib.sha256(
        CHAIN_TAG_V2 + prev_hash + bytes([len(sig)]) + sig + canonical_bytes
    ).digest()


def chain_hash_v1(prev_hash: bytes, canonical_bytes: bytes) -> bytes:
    """The link hash of events written before format v2 (verified, never written)."""
    return hashlib.sha256(CHAIN_TAG + prev_hash + canonical_bytes).digest()


def append(tx: Tx, draft: EventDraft, at: datetime, signer: SigningKey | None = None) -> int:
    """Append one event inside `tx` and return its sequence number. Locks the log head,
    so concurrent appends queue. Prepared statements: this is on every reveal.

    A signed append first checks the actor's own newest signed event (`_check_own_tail`):
    nobody signs over an event forged in their name, which is what lets `log verify`
    check one signature per actor (docs/audit-format.md, "Why one signature per actor")."""
    seq, prev = _locked_head(tx)
    prev_signature, own_tail = _tails(tx, seq, draft.actor)
    if signer is not None:
        _check_own_tail(tx, draft.actor, signer, own_tail)
    row, digest = _row(tx, draft, at, seq, prev, prev_signature)
    signature = signer.sign(digest) if signer else None
    row["hash"], row["signature"] = digest, signature
    _write_at(tx, row, seq, digest)
    if signer is not None and signature is not None:
        _own_last[signer.public_bytes()] = (seq + 1, digest, signature)
    return seq + 1


@dataclass(frozen=True)
class SigningHead:
    """Where an event signed elsewhere (a server's client) will go: after event `seq`,
    whose hash and signature its own hash covers (`chain_hash`)."""

    seq: int
    hash: bytes
    signature: bytes | None


def signing_head(tx: Tx) -> SigningHead:
    """The log head as a remote signer needs it (read without locking)."""
    head = _HEAD.one(tx, {})
    if head is None:
        raise IntegrityError("the access log has no head row: the vault is damaged")
    seq = int(head[0])
    return SigningHead(seq, bytes(head[1]), _tails(tx, seq, "")[0])


def event_digest(draft: EventDraft, at: datetime, head: SigningHead) -> bytes:
    """The hash an event appended after `head` gets: what its actor signs."""
    detail = encode_detail(draft.detail)
    return chain_hash(head.hash, head.signature, _canonical(draft, at, head.seq + 1, detail))


class HeadMoved(Exception):
    """Another event was appended since the remote signer read the head: it signs again."""


def append_presigned(
    tx: Tx, draft: EventDraft, at: datetime, head: SigningHead, public: bytes, signature: bytes
) -> int:
    """Append an event its actor signed elsewhere, over `event_digest(draft, at, head)`:
    only while the log head is still `head` (else `HeadMoved`), and only if the signature
    verifies with `public`, the actor's key."""
    seq, prev = _locked_head(tx)
    if (seq, prev) != (head.seq, head.hash):
        raise HeadMoved(seq)
    prev_signature, _ = _tails(tx, seq, draft.actor)
    row, digest = _row(tx, draft, at, seq, prev, prev_signature)
    if prev_signature != head.signature or not verify_signature(public, signature, digest):
        raise IntegrityError("the event's signature does not verify with the actor's key")
    row["hash"], row["signature"] = digest, signature
    _write_at(tx, row, seq, digest)
    return seq + 1


def encode_detail(detail: dict[str, object] | None) -> str | None:
    """An event's detail as stored and hashed: sorted, compact JSON."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":")) if detail else None


def _locked_head(tx: Tx) -> tuple[int, bytes]:
    head = _LOCK_HEAD.one(tx, {})
    if head is None:
        raise IntegrityError("the access log has no head row: the vault is damaged")
    return int(head[0]), bytes(head[1])


def _canonical(draft: EventDraft, at: datetime, seq: int, detail: str | None) -> bytes:
    return canonical_values(
        seq,
        at,
        draft.actor_id,
        draft.actor,
        draft.action,
        draft.outcome,
        draft.customer_id,
        draft.target,
        draft.credential_id,
        draft.reason,
        detail,
    )


def _row(
    tx: Tx, draft: EventDraft, at: datetime, seq: int, prev: bytes, prev_signature: bytes | None
) -> tuple[dict[str, object], bytes]:
    """The row of the event after `seq`, and its hash."""
    detail = encode_detail(draft.detail)
    row: dict[str, object] = {
        "seq": seq + 1,
        "at": datetime_codec(tx)[0](at),
        "actor_id": draft.actor_id,
        "actor": draft.actor,
        "action": draft.action,
        "outcome": draft.outcome,
        "customer_id": draft.customer_id,
        "target": draft.target,
        "credential_id": draft.credential_id,
        "reason": draft.reason,
        "detail": detail,
        "prev_hash": prev,
    }
    return row, chain_hash(prev, prev_signature, _canonical(draft, at, seq + 1, detail))


def _write_at(tx: Tx, row: dict[str, object], seq: int, digest: bytes) -> None:
    try:
        _write(tx, row, {"new_seq": seq + 1, "new_head": digest})
    except exc_db.IntegrityError as exc:  # Prepared.run raises SQLAlchemy's DBAPIError
        if not _duplicate_key(exc):
            raise
        raise past_the_head(seq) from exc


def past_the_head(head: int) -> IntegrityError:
    """The refusal when the event table holds a row after the log head's sequence."""
    return IntegrityError(
        f"the access log cannot take event {head + 1}: the event table holds a row the"
        f" log head ({head}) does not account for, written outside custodian"
        " (run `custodian log verify`)"
    )


def _duplicate_key(exc: exc_db.IntegrityError) -> bool:
    """A unique key already taken (PostgreSQL's SQLSTATE 23505, SQLite's UNIQUE), not some
    other refusal such as a trigger's."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


# The newest event each signing key appended from this process: when the actor's newest
# signed event in the log is exactly that one, its signature needs no check.
_own_last: dict[bytes, tuple[int, bytes, bytes]] = {}


def remember_signed(public: bytes, seq: int, digest: bytes, signature: bytes) -> None:
    """A server appended event `seq`, which this process signed (`append_presigned`)."""
    _own_last[public] = (seq, digest, signature)


def signed_here(public: bytes, seq: int, digest: bytes, signature: bytes) -> bool:
    """Whether this process itself appended event `seq` with this hash and signature under
    `public` (its signature needs no check)."""
    return _own_last.get(public) == (seq, digest, signature)


def _tails(tx: Tx, seq: int, actor: str) -> tuple[bytes | None, tuple[int, bytes, bytes] | None]:
    """The signature of event `seq` (the head), and (seq, hash, signature) of `actor`'s
    newest signed event: one statement, after the lock, so that on PostgreSQL it sees the
    event the writer we waited for committed (a join in the locking statement would not)."""
    cursor = _TAILS.run(tx, {"seq": seq, "actor": actor})
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    prev_signature, own = None, None
    for which, n, digest, signature in rows:
        if which == 0 and signature is not None:
            prev_signature = bytes(signature)
        elif which == 1:
            own = (int(n), bytes(digest), bytes(signature))
    return prev_signature, own


def _check_own_tail(
    tx: Tx, actor: str, signer: SigningKey, found: tuple[int, bytes, bytes] | None
) -> None:
    """Refuse to sign over an event in `actor`'s name that `actor`'s key did not sign;
    `found` is their newest signed event (`_tails`)."""
    if found is None:
        return
    seq, digest, signature = found
    public = signer.public_bytes()
    if _own_last.get(public) == (seq, digest, signature):
        return
    if not verify_signature(public, signature, digest) and not _rebound(tx, actor, seq, public):
        raise IntegrityError(
            f"the access log holds an event in {actor!r}'s name (seq {seq}) that their key"
            " did not sign, so nothing was recorded: an auditor should run `custodian log"
            " verify`"
        )


_head = LogHead.__table__  # type: ignore[attr-defined]
_events = AccessEvent.__table__  # type: ignore[attr-defined]
_LOCK_HEAD = Prepared(select(_head.c.seq, _head.c.head).where(_head.c.id == 1).with_for_update())
_HEAD = Prepared(select(_head.c.seq, _head.c.head).where(_head.c.id == 1))


def _rebound(tx: Tx, actor: str, after: int, public: bytes) -> bool:
    """Whether an event after `after` binds `actor` to `public`: their keys were replaced
    (a passphrase reset), so their newest event was signed with the old key. Such a
    binding forged by a database writer is itself caught: it is its claimed signer's
    newest event, or that signer's next append refuses to sign over it."""
    cursor = _BINDINGS_AFTER.run(tx, {"after": after, "actor": actor})
    try:
        for (detail,) in cursor.fetchall():
            bound = json.loads(detail).get(KEY_BINDING, {})
            if bound.get("technician") == actor and bound.get("public") == public.hex():
                return True
    finally:
        cursor.close()
    return False


_OWN_TAIL = (
    select(_events.c.seq, _events.c.hash, _events.c.signature)
    .where(_events.c.actor == bindparam("actor"), _events.c.signature.is_not(None))
    .order_by(_events.c.seq.desc())
    .limit(1)
    .subquery()
)
_TAILS = Prepared(  # row 0: the head event; row 1: the actor's newest signed event
    union_all(
        select(literal_column("0"), _events.c.seq, _events.c.hash, _events.c.signature).where(
            _events.c.seq == bindparam("seq")
        ),
        select(literal_column("1"), _OWN_TAIL.c.seq, _OWN_TAIL.c.hash, _OWN_TAIL.c.signature),
    )
)


def _write(tx: Tx, row: dict[str, object], head: dict[str, object]) -> None:
    """Insert the event and move the head to it: one statement on PostgreSQL (the insert
    as a data-modifying WITH), two on SQLite, which has none."""
    if connection_of(tx).dialect.name == "postgresql":
        _INSERT_AND_MOVE.run(tx, {**row, **head}).close()
    else:
        _INSERT_EVENT.run(tx, row).close()
        _MOVE_HEAD.run(tx, head).close()


_INSERT = insert(_events).values({c.name: bindparam(c.name) for c in _events.c})
_MOVE = (
    update(_head)
    .where(_head.c.id == 1)
    .values(seq=bindparam("new_seq"), head=bindparam("new_head"))
)
_INSERT_EVENT = Prepared(_INSERT)
_MOVE_HEAD = Prepared(_MOVE)
_INSERT_AND_MOVE = Prepared(_MOVE.add_cte(_INSERT.cte("event")))
_BINDINGS_AFTER = Prepared(  # the rare path: an actor whose keys were replaced
    select(_events.c.detail).where(
        _events.c.seq > bindparam("after"),
        _events.c.target == bindparam("actor"),
        _events.c.outcome == "ok",
        _events.c.signature.is_not(None),
        _events.c.detail.contains(f'"{KEY_BINDING}"'),
    )
)

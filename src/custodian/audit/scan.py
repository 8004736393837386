"""Scanning one range of the access log: numbering, links, hashes, and what comes next.

`scan_range` checks everything that depends only on the events of its range and on the
event just before it, so a large log is scanned in parallel processes, one range each.
What depends on the whole log (the keys bound so far, each actor's newest signature,
checkpoints, the head) is decided from the ranges' `Scan` summaries in verify.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from ..db.engine import create_db_engine
from ..db.models import AccessEvent
from ..db.prepared import Prepared
from .append import (
    GENESIS,
    KEY_BINDING,
    UNSIGNED_ACTIONS,
    canonical_values,
    chain_hash,
    chain_hash_v1,
)

BATCH = 5000  # events per query


class _Event(NamedTuple):
    """An `access_event` row as scanned: the eleven canonical fields, in the order
    `append.canonical_values` takes them, then the link, the hash and the signature."""

    seq: int
    at: Any  # SQLite: text; PostgreSQL: a datetime
    actor_id: int | None
    actor: str
    action: str
    outcome: str
    customer_id: int | None
    target: str | None
    credential_id: int | None
    reason: str | None
    detail: str | None
    prev_hash: bytes
    hash: bytes
    signature: bytes | None


_events = AccessEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = [_events.c[name] for name in _Event._fields]
# Rows straight from the driver: SQLAlchemy's per-row result processing would cost more
# than hashing them (times arrive as SQLite's text or as datetimes from PostgreSQL).
_ROWS = Prepared(
    select(*_COLUMNS)
    .where(_events.c.seq >= bindparam("lo"), _events.c.seq <= bindparam("hi"))
    .order_by(_events.c.seq)
    .limit(bindparam("n"))
)
_LINK = Prepared(select(_events.c.hash, _events.c.signature).where(_events.c.seq == bindparam("s")))


@dataclass
class Signer:
    """One actor's signed events in a range: the first, and the newest with its signature."""

    first: int
    newest: int
    signature: bytes
    digest: bytes


@dataclass
class Scan:
    """What one range holds, for verify.py to decide with the others."""

    lo: int
    last: int  # the last seq scanned without a problem (lo - 1 when none)
    last_hash: bytes = GENESIS
    problem: tuple[int, str] | None = None
    first_v1: int | None = None  # format v1 (signatures not chained): older logs
    first_v2: int | None = None
    signers: dict[str, Signer] = field(default_factory=dict)
    items: list[tuple[int, str, bytes, bytes]] = field(default_factory=list)  # one by one
    bindings: list[tuple[int, str, bytes, str]] = field(default_factory=list)
    hashes: dict[int, bytes] = field(default_factory=dict)  # at the checkpoints' seqs


@dataclass(frozen=True)
class ScanJob:
    lo: int
    hi: int
    wanted: frozenset[int]  # checkpoint seqs whose hashes are wanted
    trusted_through: int  # signatures up to here are pinned by a checkpoint
    every_signature: bool
    unsigned: frozenset[tuple[str, str]] = UNSIGNED_ACTIONS  # (action, outcome) allowed unsigned


def scan_range(source: Engine | str, job: ScanJob) -> Scan:
    """Scan events `job.lo..job.hi`; `source` is an engine, or a URL (in a worker)."""
    engine = _engine(source)
    scan = Scan(job.lo, job.lo - 1)
    with engine.connect() as conn:
        if job.lo == 1:
            running, running_sig = GENESIS, None
        else:
            link = _LINK.one(conn, {"s": job.lo - 1})
            if link is None:
                scan.problem = (job.lo - 1, f"event {job.lo - 1} is missing")
                return scan
            running, running_sig = bytes(link[0]), _bytes(link[1])
        conn.rollback()
    scan.last_hash = running
    expected = job.lo
    while expected <= job.hi and scan.problem is None:
        with engine.connect() as conn:
            cursor = _ROWS.run(conn, {"lo": expected, "hi": job.hi, "n": BATCH})
            rows = cursor.fetchall()
            cursor.close()
            conn.rollback()
        if not rows:
            break
        expected, running, running_sig = _scan_rows(scan, job, rows, expected, running, running_sig)
    return scan  # ending before job.hi is for the caller to judge (a gap, or a cut tail)


def _scan_rows(
    scan: Scan,
    job: ScanJob,
    rows: list[Any],
    expected: int,
    running: bytes,
    running_sig: bytes | None,
) -> tuple[int, bytes, bytes | None]:
    for row in rows:
        event = _Event._make(row)
        seq, at, actor, action, outcome = event[0], event[1], event[3], event[4], event[5]
        if seq != expected:
            scan.problem = (expected, f"event {expected} is missing")
            break
        if bytes(event.prev_hash) != running:
            scan.problem = (seq, "prev_hash does not link to the previous event")
            break
        if isinstance(at, str):  # SQLite: the text SQLAlchemy stored
            try:
                at = datetime.fromisoformat(at)
            except ValueError:
                scan.problem = (seq, "the event's time is not a valid timestamp")
                break
        canonical = canonical_values(seq, at, *event[2:11])
        stored = bytes(event.hash)
        legacy = False
        if stored == chain_hash(running, running_sig, canonical):
            scan.first_v2 = scan.first_v2 or seq
        elif stored == chain_hash_v1(running, canonical):
            if scan.first_v2 is not None:
                scan.problem = (seq, "a format-v1 hash after format v2 began")
                break
            scan.first_v1, legacy = scan.first_v1 or seq, True
        else:
            scan.problem = (seq, "the hash does not match the event's contents")
            break
        signature = _bytes(event.signature)
        if signature is None:
            if (action, outcome) not in job.unsigned:
                scan.problem = (seq, f"unsigned, but a {action!r} event must be signed")
                break
        else:
            _signed(scan, job, seq, actor, signature, stored, legacy)
            binding = _binding(event.detail) if outcome == "ok" else None
            if binding is not None:
                # The first admin introduces their own key with the init event itself.
                own = seq == 1 and action == "init" and binding[0] == actor
                scan.bindings.append((0 if own else seq, *binding, _role(action, event.detail)))
        if seq in job.wanted:
            scan.hashes[seq] = stored
        running, running_sig, expected = stored, signature, seq + 1
        scan.last, scan.last_hash = seq, stored
    return expected, running, running_sig


def _signed(
    scan: Scan, job: ScanJob, seq: int, actor: str, signature: bytes, digest: bytes, legacy: bool
) -> None:
    signer = scan.signers.get(actor)
    if signer is None:
        scan.signers[actor] = signer = Signer(seq, 0, b"", b"")  # newest 0: none to check
    if seq <= job.trusted_through:
        return
    if job.every_signature or legacy:
        scan.items.append((seq, actor, signature, digest))
    else:
        signer.newest, signer.signature, signer.digest = seq, signature, digest


def _binding(detail: str | None) -> tuple[str, bytes] | None:
    if not detail or KEY_BINDING not in detail:
        return None
    try:
        value = json.loads(detail).get(KEY_BINDING)
        return str(value["technician"]), bytes.fromhex(value["public"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _role(action: str, detail: str | None) -> str:
    if action == "init":
        return "admin"
    try:
        return str(json.loads(detail or "{}").get("role", ""))
    except ValueError:
        return ""


def _bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


_engines: dict[str, Engine] = {}  # a worker process's engine, made on its first job


def _engine(source: Engine | str) -> Engine:
    if isinstance(source, Engine):
        return source
    engine = _engines.get(source)
    if engine is None:
        engine = _engines[source] = create_db_engine(source)
    return engine

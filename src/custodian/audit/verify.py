"""Verifying the access log: the chain, the signatures, the log head and checkpoints.

The log is scanned in ranges (scan.py; in parallel processes for a large log), in
batches (constant memory); this module puts the ranges together and checks what spans
them. The first failing sequence number is what is reported; docs/audit-format.md says
what each check detects and what it cannot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from ..crypto import first_bad_signature
from ..db.models import AccessEvent, LogHead, Technician
from ..errors import IntegrityError, UsageError
from ..records import LogVerification
from .append import GENESIS, LEGACY_UNSIGNED_ACTIONS, UNSIGNED_ACTIONS
from .checkpoint import Checkpoint
from .scan import Scan, ScanJob, scan_range

SIGNATURE_CHUNK = 2000  # signatures per worker task
SCAN_SPAN = 25_000  # events per scanned range (one worker task)
PARALLEL_FROM = 50_000  # below this many events a process pool costs more than it saves


@dataclass
class _Problems:
    """Failures found so far; only the one with the lowest sequence number is reported."""

    first: tuple[int, str] | None = None
    warnings: list[str] = field(default_factory=list)

    def add(self, seq: int, what: str) -> None:
        if self.first is None or seq < self.first[0]:
            self.first = (seq, what)

    def before(self, seq: int) -> bool:
        return self.first is not None and self.first[0] <= seq


@dataclass
class _Keys:
    """Who signs with which key: bound in the log itself (init, tech-add), else the table."""

    from_log: dict[str, bytes] = field(default_factory=dict)
    from_table: dict[str, bytes] = field(default_factory=dict)
    table_used: set[str] = field(default_factory=set)

    def of_table(self, actor: str) -> bytes | None:
        """An actor's key from the table, for events before any binding of theirs."""
        key = self.from_table.get(actor)
        if key is not None:
            self.table_used.add(actor)
        return key


class _Signatures:
    """Signature checks, in chunks, on a process pool when the log is large."""

    def __init__(self, problems: _Problems, executor: Executor | None) -> None:
        self._problems = problems
        self._executor = executor
        self._chunk: list[tuple[int, bytes, bytes, bytes]] = []
        self._pending: list[tuple[int, Future[int | None]]] = []

    def add(self, seq: int, public: bytes, signature: bytes, data: bytes) -> None:
        self._chunk.append((seq, public, signature, data))
        if len(self._chunk) >= SIGNATURE_CHUNK:
            self.flush()

    def flush(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk:
            return
        if self._executor is None:
            self._report(first_bad_signature(chunk))
            return
        self._pending.append((chunk[0][0], self._executor.submit(first_bad_signature, chunk)))
        limit = 2 * (getattr(self._executor, "_max_workers", 2) or 2)
        while len(self._pending) > limit:  # bounded memory: wait for the oldest chunk
            self._report(self._pending.pop(0)[1].result())

    def finish(self) -> None:
        self.flush()
        for _, future in self._pending:
            self._report(future.result())
        self._pending.clear()

    def _report(self, bad: int | None) -> None:
        if bad is not None:
            self._problems.add(bad, "the signature does not verify with the actor's key")


def verify_log(
    engine: Engine,
    *,
    vault_id: str,
    checkpoints: Iterable[Checkpoint] = (),
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    incremental: bool = False,
    every_signature: bool = False,
) -> LogVerification:
    """Check the whole log up to the head as it stands when verification starts.

    Every hash, link, key binding and checkpoint is checked; of the signatures, each
    actor's newest one (every earlier byte is under it, docs/audit-format.md) and every
    signature of a format-v1 event. `every_signature` checks each event's signature too;
    a failure found without it is re-checked with it, to report the first bad event.
    `workers`: processes for signature checks (default: one per CPU when many are due,
    0 to check in this process). `incremental`: signatures up to the newest checkpoint are
    not checked again (its hash pins every byte they sign; checkpoints are only issued
    after a verification succeeded); the chain, hashes and bindings still are."""
    result = _verify(
        engine, vault_id, list(checkpoints), workers, progress, incremental, every_signature
    )
    if result.ok or every_signature:
        return result
    return _verify(engine, vault_id, list(checkpoints), workers, None, incremental, True)


def _verify(
    engine: Engine,
    vault_id: str,
    checkpoints: list[Checkpoint],
    workers: int | None,
    progress: Callable[[int, int], None] | None,
    incremental: bool,
    every_signature: bool,
) -> LogVerification:
    started = time.perf_counter()
    anchor = max(checkpoints, key=lambda c: c.seq) if incremental and checkpoints else None
    if incremental and anchor is None:
        raise UsageError("incremental verification needs a checkpoint")
    for cp in checkpoints:
        if cp.vault_id != vault_id:
            raise UsageError(f"the checkpoint at seq {cp.seq} belongs to another vault")
    with engine.connect() as conn:
        head = conn.execute(
            select(LogHead.__table__.c.seq, LogHead.__table__.c.head)  # type: ignore[attr-defined]
        ).one_or_none()
        if head is None:
            raise IntegrityError("the access log has no head row: the vault is damaged")
        head_seq, head_hash = head
        beyond, first_event = _edges(conn)
        tech = Technician.__table__  # type: ignore[attr-defined]
        keys = _Keys(
            from_table=dict(conn.execute(select(tech.c.username, tech.c.signing_public_key)).all())
        )
        conn.rollback()
    trusted_through = anchor.seq if anchor is not None else 0
    if workers is None:
        workers = (os.cpu_count() or 1) if head_seq >= PARALLEL_FROM else 0
    executor = _pool(workers) if workers > 1 else None
    problems = _Problems()
    signatures = _Signatures(problems, executor)
    merged = _Merged()
    jobs = [
        ScanJob(
            lo,
            min(lo + SCAN_SPAN - 1, head_seq),
            frozenset(cp.seq for cp in checkpoints),
            trusted_through,
            every_signature,
            _unsigned_allowed(first_event),
        )
        for lo in range(1, head_seq + 1, SCAN_SPAN)
    ]
    try:
        for job, scan in zip(jobs, _scans(engine, jobs, executor), strict=True):
            merged.add(scan, problems)
            if problems.first is None and scan.last < job.hi < head_seq:
                problems.add(scan.last + 1, f"event {scan.last + 1} is missing")
            if progress is not None:
                progress(merged.checked, head_seq)
            if problems.first is not None:
                break
        if problems.first is None and merged.last < head_seq:
            problems.add(
                merged.last + 1, f"the log ends at {merged.last} but its head says {head_seq}"
            )
        if problems.first is None and head_seq > 0 and merged.last_hash != bytes(head_hash):
            problems.add(head_seq, "the log head's hash does not match this event")
        if beyond > head_seq:
            problems.add(head_seq + 1, f"event {beyond} lies past the log head ({head_seq})")
        _check_first(first_event, vault_id, problems)
        merged.check_signatures(keys, problems, signatures)
        signatures.finish()
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    last = merged.last
    for cp in checkpoints:
        digest = merged.hashes.get(cp.seq)
        if digest is not None and digest != cp.head:
            problems.add(cp.seq, "the event differs from the checkpoint")
        if cp.seq > last and not problems.before(last + 1):
            problems.add(
                last + 1, f"the log ends at {last}, before checkpoint seq {cp.seq} (truncated)"
            )
        signer_key = keys.from_log.get(cp.signer) or keys.from_table.get(cp.signer)
        if signer_key != cp.key:
            problems.add(
                min(cp.seq, last + 1) or 1,
                f"the checkpoint at seq {cp.seq} is not signed by {cp.signer!r}'s key",
            )
    if anchor is not None and merged.roles.get(anchor.signer) not in ("admin", "auditor"):
        problems.add(
            min(anchor.seq, last + 1) or 1,
            f"the checkpoint at seq {anchor.seq} is not by an admin or auditor"
            " enrolled in the log: verify without --incremental",
        )
    if keys.table_used:
        problems.warnings.append(
            "keys taken from the technician table (not bound in the log): "
            + ", ".join(sorted(keys.table_used))
        )
    for name, key in sorted(keys.from_log.items()):
        if name in keys.from_table and keys.from_table[name] != key:
            problems.warnings.append(
                f"the technician table holds another signing key for {name!r} than the log"
            )
    first = problems.first
    return LogVerification(
        ok=first is None,
        every_signature=every_signature,
        checked=merged.checked,
        head_seq=head_seq,
        head_hash=bytes(head_hash).hex(),
        first_bad=first[0] if first else None,
        problem=first[1] if first else None,
        checkpoints=len(checkpoints),
        warnings=tuple(problems.warnings),
        seconds=round(time.perf_counter() - started, 3),
        trusted_through=trusted_through,
    )


def _scans(engine: Engine, jobs: list[ScanJob], executor: Executor | None) -> Iterator[Scan]:
    """The ranges' scans in order: on the pool (a bounded number in flight) or here."""
    if executor is None:
        for job in jobs:
            yield scan_range(engine, job)
        return
    url = engine.url.render_as_string(hide_password=False)
    limit = 2 * (getattr(executor, "_max_workers", 2) or 2)
    pending: list[Future[Scan]] = []
    for job in jobs:
        pending.append(executor.submit(scan_range, url, job))
        if len(pending) >= limit:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


@dataclass
class _Merged:
    """The ranges' scans put together, in order."""

    checked: int = 0
    last: int = 0
    last_hash: bytes = GENESIS
    first_v2: int | None = None
    signers: dict[str, list[int]] = field(default_factory=dict)  # actor -> [first, ...]
    newest: dict[str, tuple[int, bytes, bytes]] = field(default_factory=dict)
    items: list[tuple[int, str, bytes, bytes]] = field(default_factory=list)
    bindings: list[tuple[int, str, bytes, str]] = field(default_factory=list)
    hashes: dict[int, bytes] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    def add(self, scan: Scan, problems: _Problems) -> None:
        if scan.problem is not None:
            problems.add(*scan.problem)
        if scan.first_v1 is not None and self.first_v2 is not None:
            problems.add(scan.first_v1, "a format-v1 hash after format v2 began")
        self.first_v2 = self.first_v2 or scan.first_v2
        self.checked += scan.last - scan.lo + 1
        if scan.last >= scan.lo:
            self.last, self.last_hash = scan.last, scan.last_hash
        for actor, signer in scan.signers.items():
            self.signers.setdefault(actor, [signer.first])
            if signer.newest:
                self.newest[actor] = (signer.newest, signer.signature, signer.digest)
        self.items += scan.items
        self.bindings += scan.bindings
        self.hashes.update(scan.hashes)
        for _, technician, _, role in scan.bindings:
            self.roles[technician] = role

    def check_signatures(self, keys: _Keys, problems: _Problems, signatures: _Signatures) -> None:
        """Every signer must have a key where they first sign; then the signatures due:
        each actor's newest, and the events to be checked one by one."""
        bound: dict[str, list[tuple[int, bytes]]] = {}
        for seq, technician, public, _ in sorted(self.bindings, key=lambda b: b[0]):
            bound.setdefault(technician, []).append((seq, public))
            keys.from_log[technician] = public

        def key_at(actor: str, seq: int) -> bytes | None:
            found = [public for at, public in bound.get(actor, ()) if at < seq]
            return found[-1] if found else keys.of_table(actor)

        for actor, (first, *_) in self.signers.items():
            if key_at(actor, first) is None:
                problems.add(first, f"signed by {actor!r}, whose key is unknown")
        due = [(seq, actor, sig, digest) for actor, (seq, sig, digest) in self.newest.items()]
        for seq, actor, sig, digest in sorted(self.items + due):
            key = key_at(actor, seq)
            if key is not None:
                signatures.add(seq, key, sig, digest)


def _pool(workers: int) -> Executor:
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


def _edges(conn: Connection) -> tuple[int, tuple[str, str | None] | None]:
    """The highest sequence number in the table (a row past the head was written outside
    custodian) and the first event's action and detail."""
    events = AccessEvent.__table__  # type: ignore[attr-defined]
    beyond = conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one()
    first = conn.execute(select(events.c.action, events.c.detail).where(events.c.seq == 1)).first()
    return int(beyond), (first[0], first[1]) if first is not None else None


def _unsigned_allowed(first: tuple[str, str | None] | None) -> frozenset[tuple[str, str]]:
    """Which events may be unsigned: a failed unlock; in a log that began before the key
    directory (its init names no "dir"), also the restores older versions left unsigned."""
    detail = first[1] if first is not None else None
    return UNSIGNED_ACTIONS if detail and '"dir"' in detail else LEGACY_UNSIGNED_ACTIONS


def _check_first(first: tuple[str, str | None] | None, vault_id: str, problems: _Problems) -> None:
    """The first event is the vault's own `init`, naming its id: an initialized vault's log
    is never empty, and a log cannot be swapped for another vault's."""
    if first is None:
        problems.add(1, "the log has no first event, but the vault was initialized (emptied?)")
        return
    action, detail = first
    try:
        named = json.loads(detail or "{}").get("vault_id")
    except (ValueError, AttributeError):
        named = None
    if action != "init" or named != vault_id:
        problems.add(1, "the first event is not this vault's init event")

"""Verifying the access log: the chain, every signature, the log head and checkpoints.

One pass in sequence order, in batches (constant memory). The first failing sequence
number is what is reported; docs/audit-format.md says what each check detects and what
it cannot.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..crypto import SigningKey, first_bad_signature, verify_signature
from ..db.models import AccessEvent, LogHead, Technician
from ..errors import UsageError
from ..records import CheckpointInfo, LogVerification
from . import audit

BATCH = 5000  # events per query
SIGNATURE_CHUNK = 2000  # signatures per worker task
PARALLEL_FROM = 20_000  # below this many events a process pool costs more than it saves

_events = AccessEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = [
    _events.c[name]
    for name in (
        "seq", "at", "actor_id", "actor", "action", "outcome", "customer_id", "target",
        "credential_id", "reason", "detail", "prev_hash", "hash", "signature",
    )
]


# --- checkpoints --------------------------------------------------------------------------

CHECKPOINT_PREFIX = "custodian-checkpoint v1"
CHECKPOINT_TAG = b"custodian-checkpoint-v1\x00"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log had `seq` events ending in `head` at `at`."""

    vault_id: str
    seq: int
    head: bytes
    at: datetime
    signer: str
    key: bytes
    signature: bytes

    def body(self) -> str:
        return (
            f"{CHECKPOINT_PREFIX} vault={self.vault_id} seq={self.seq} head={self.head.hex()}"
            f" at={self.at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            f" signer={quote(self.signer, safe='')} key={self.key.hex()}"
        )

    def line(self) -> str:
        return f"{self.body()} sig={self.signature.hex()}"

    @classmethod
    def make(
        cls, vault_id: str, seq: int, head: bytes, at: datetime, signer: str, key: SigningKey
    ) -> Checkpoint:
        unsigned = cls(vault_id, seq, head, at.replace(microsecond=0), signer,
                       key.public_bytes(), b"")
        signature = key.sign(CHECKPOINT_TAG + unsigned.body().encode())
        return cls(vault_id, seq, head, unsigned.at, signer, unsigned.key, signature)

    @classmethod
    def parse(cls, line: str) -> Checkpoint:
        """Parse and check the line's own signature; UsageError if it is not a valid one."""
        if not line.startswith(CHECKPOINT_PREFIX + " "):
            raise UsageError("not a custodian checkpoint line")
        try:
            parts = dict(p.split("=", 1) for p in line[len(CHECKPOINT_PREFIX) + 1 :].split())
            cp = cls(
                parts["vault"], int(parts["seq"]), bytes.fromhex(parts["head"]),
                datetime.strptime(parts["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
                unquote(parts["signer"]), bytes.fromhex(parts["key"]),
                bytes.fromhex(parts["sig"]),
            )
        except (KeyError, ValueError):
            raise UsageError("a checkpoint line is malformed") from None
        if len(cp.head) != 32 or cp.seq < 0:
            raise UsageError("a checkpoint line is malformed")
        if not verify_signature(cp.key, cp.signature, CHECKPOINT_TAG + cp.body().encode()):
            raise UsageError(f"the checkpoint at seq {cp.seq} carries a bad signature")
        return cp

    def info(self) -> CheckpointInfo:
        return CheckpointInfo(self.seq, self.head.hex(), self.at, self.signer, self.line())


def read_checkpoints(text: str) -> list[Checkpoint]:
    """Every checkpoint line in `text` (other lines, e.g. an email's, are ignored)."""
    found = [
        Checkpoint.parse(line.strip())
        for line in text.splitlines()
        if line.strip().startswith(CHECKPOINT_PREFIX)
    ]
    if not found:
        raise UsageError("the checkpoint file holds no checkpoint line")
    return found


# --- verification -------------------------------------------------------------------------


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

    def of(self, actor: str) -> bytes | None:
        if actor in self.from_log:
            return self.from_log[actor]
        key = self.from_table.get(actor)
        if key is not None:
            self.table_used.add(actor)
        return key


def _binding(detail: str | None) -> tuple[str, bytes] | None:
    if not detail or audit.KEY_BINDING not in detail:
        return None
    try:
        value = json.loads(detail).get(audit.KEY_BINDING)
        return str(value["technician"]), bytes.fromhex(value["public"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


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
) -> LogVerification:
    """Check the whole log up to the head as it stands when verification starts.

    `workers`: processes for signature checks (default: one per CPU for large logs, 0 to
    check in this process). `incremental`: signatures up to the newest checkpoint are
    not checked again (its hash pins every byte they sign; checkpoints are only issued
    after a verification succeeded); the chain, hashes and bindings still are."""
    started = time.perf_counter()
    checkpoints = list(checkpoints)
    anchor = max(checkpoints, key=lambda c: c.seq) if incremental and checkpoints else None
    if incremental and anchor is None:
        raise UsageError("incremental verification needs a checkpoint")
    for cp in checkpoints:
        if cp.vault_id != vault_id:
            raise UsageError(f"the checkpoint at seq {cp.seq} belongs to another vault")
    with engine.connect() as conn:
        head_seq, head_hash = conn.execute(
            select(LogHead.__table__.c.seq, LogHead.__table__.c.head)  # type: ignore[attr-defined]
        ).one()
        tech = Technician.__table__  # type: ignore[attr-defined]
        keys = _Keys(from_table=dict(
            conn.execute(select(tech.c.username, tech.c.signing_public_key)).all()
        ))
        conn.rollback()
    wanted = {cp.seq: cp for cp in checkpoints}
    problems = _Problems()
    trusted_through = anchor.seq if anchor is not None else 0
    roles: dict[str, str] = {}
    if workers is None:
        to_sign = head_seq - min(trusted_through, head_seq)
        workers = (os.cpu_count() or 1) if to_sign >= PARALLEL_FROM else 0
    executor = _pool(workers) if workers > 1 else None
    signatures = _Signatures(problems, executor)
    expected, running, checked = 1, audit.GENESIS, 0
    try:
        while expected <= head_seq and problems.first is None:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(*_COLUMNS)
                    .where(_events.c.seq >= expected)
                    .where(_events.c.seq <= head_seq)
                    .order_by(_events.c.seq)
                    .limit(BATCH)
                ).all()
                conn.rollback()
            if not rows:
                break
            for row in rows:
                (seq, at, actor_id, actor, action, outcome, customer_id, target,
                 credential_id, reason, detail, prev_hash, stored_hash, signature) = row
                if seq != expected:
                    problems.add(expected, f"event {expected} is missing (the next is {seq})")
                    break
                if bytes(prev_hash) != running:
                    problems.add(seq, "prev_hash does not link to the previous event")
                    break
                digest = audit.chain_hash(running, audit.canonical_values(
                    seq, at, actor_id, actor, action, outcome, customer_id, target,
                    credential_id, reason, detail,
                ))
                if bytes(stored_hash) != digest:
                    problems.add(seq, "the hash does not match the event's contents")
                    break
                binding = _binding(detail) if outcome == "ok" else None
                if signature is None:
                    if (action, outcome) not in audit.UNSIGNED_ACTIONS:
                        problems.add(seq, f"unsigned, but a {action!r} event must be signed")
                        break
                else:
                    key: bytes | None = None
                    if seq == 1 and action == "init" and binding and binding[0] == actor:
                        key = binding[1]  # the first admin introduces their own key
                    else:
                        key = keys.of(actor)
                    if key is None:
                        problems.add(seq, f"signed by {actor!r}, whose key is unknown")
                        break
                    if seq > trusted_through:
                        signatures.add(seq, key, bytes(signature), digest)
                if binding is not None and signature is not None:
                    keys.from_log[binding[0]] = binding[1]
                    roles[binding[0]] = _role(action, detail)
                named = wanted.get(seq)
                if named is not None and named.head != digest:
                    problems.add(seq, "the event differs from the checkpoint")
                    break
                running, expected, checked = digest, seq + 1, checked + 1
            if progress is not None:
                progress(checked, head_seq)
        if problems.first is None and expected <= head_seq:
            problems.add(expected, f"the log ends at {expected - 1} but its head says {head_seq}")
        if problems.first is None and head_seq > 0 and running != bytes(head_hash):
            problems.add(head_seq, "the log head's hash does not match this event")
        signatures.finish()
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    last = expected - 1
    for cp in checkpoints:
        if cp.seq > last and not problems.before(last + 1):
            problems.add(last + 1, f"the log ends at {last}, before checkpoint seq {cp.seq}"
                                   " (truncated)")
        signer_key = keys.from_log.get(cp.signer) or keys.from_table.get(cp.signer)
        if signer_key != cp.key:
            problems.add(min(cp.seq, last + 1) or 1,
                         f"the checkpoint at seq {cp.seq} is not signed by {cp.signer!r}'s key")
    if anchor is not None and roles.get(anchor.signer) not in ("admin", "auditor"):
        problems.add(min(anchor.seq, last + 1) or 1,
                     f"the checkpoint at seq {anchor.seq} is not by an admin or auditor"
                     " enrolled in the log: verify without --incremental")
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
        checked=checked,
        head_seq=head_seq,
        head_hash=bytes(head_hash).hex(),
        first_bad=first[0] if first else None,
        problem=first[1] if first else None,
        checkpoints=len(checkpoints),
        warnings=tuple(problems.warnings),
        seconds=round(time.perf_counter() - started, 3),
        trusted_through=trusted_through,
    )


def _role(action: str, detail: str | None) -> str:
    if action == "init":
        return "admin"
    try:
        return str(json.loads(detail or "{}").get("role", ""))
    except ValueError:
        return ""


def _pool(workers: int) -> Executor:
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))

"""Access-log benchmarks (issue 3), on SQLite and PostgreSQL:

1. `log verify` throughput (events/s) on a 1,000,000-event log: chain, hashes, each
   actor's newest Ed25519 signature, head. Target: >= 50,000 events/s on 2 cores. Also
   `--every-signature` (one check per event) and `--incremental`, for comparison.
2. A filtered query (one customer, one month) on that log through the service
   (`ActorSession.events`). Target: < 100 ms.
3. Append throughput with 8 concurrent writer processes on PostgreSQL (one event per
   committed transaction, each through `audit.append`).

    .venv/bin/python benchmarks/bench_log.py [--events 1000000] [--quick] [--no-pg]

The log is generated in bulk here only: real technicians' keys, correctly chained hashes
and real signatures (signed in order: each hash covers the previous signature), inserted
with executemany / COPY.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import Size  # noqa: E402
from custodian.audit import append as audit  # noqa: E402
from custodian.audit.verify import verify_log  # noqa: E402
from custodian.crypto import KdfParams, SigningKey  # noqa: E402
from custodian.db.models import AccessEvent, Role  # noqa: E402
from custodian.service import Custodian  # noqa: E402

PASS = "benchmark passphrase"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TECHS = 20
CUSTOMERS = 200
CHUNK = 50_000
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
COLUMNS = [c.name for c in AccessEvent.__table__.columns]  # type: ignore[attr-defined]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Target:
    label: str
    url: str
    pg_name: str | None = None


def pg_database() -> Target | None:
    try:
        import psycopg

        name = f"custodian_benchlog_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    except Exception as exc:
        say(f"PostgreSQL unavailable, skipped: {type(exc).__name__}")
        return None
    return Target("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name)


def drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


# --- a vault with real technicians and customers ---------------------------------------


@dataclass
class Seed:
    signers: dict[str, tuple[int, bytes]]  # username -> (technician id, Ed25519 seed)
    customers: list[tuple[int, str]]  # (id, slug)
    admin_bundle: bytes


def seed_vault(url: str) -> Seed:
    with Custodian.open(url, create=True) as vault:
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        signers = {}
        for i in range(TECHS):
            name = f"tech{i:02d}"
            admin.add_technician(name, Role.TECHNICIAN, PASS)
            tech = vault.unlock(name, PASS)
            signers[name] = (tech.technician_id, tech._signer.private_bytes())
        customers = []
        for i in range(CUSTOMERS):
            slug = f"cust{i:03d}"
            admin.add_customer(slug, f"Customer {i}")
        with vault.db.transaction() as tx:
            from sqlmodel import select

            from custodian.db.models import Customer

            customers = [(c.id, c.slug) for c in tx.exec(select(Customer)).all()]
        return Seed(signers, customers, admin.export())


# --- bulk generation -----------------------------------------------------------------


def generate(
    seed: Seed, start_seq: int, prev: bytes, prev_sig: bytes | None, count: int
) -> Iterator[list[dict[str, object]]]:
    """Chunks of rows continuing the chain after (start_seq, prev, prev_sig). Signed in
    order: each hash covers the previous event's signature (log format v2)."""
    rng = random.Random(42)
    names = sorted(seed.signers)
    keys = {name: SigningKey(seed.signers[name][1]) for name in names}
    step = SPAN / count
    seq, at = start_seq, START
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        rows: list[dict[str, object]] = []
        for _ in range(n):
            seq += 1
            at += step
            actor = names[rng.randrange(len(names))]
            tech_id = seed.signers[actor][0]
            cust_id, slug = seed.customers[rng.randrange(len(seed.customers))]
            target, reason = f"{slug}/dc01/admin", f"INC{seq:07d}"
            digest = audit.chain_hash(
                prev,
                prev_sig,
                audit.canonical_values(
                    seq,
                    at,
                    tech_id,
                    actor,
                    "reveal",
                    "ok",
                    cust_id,
                    target,
                    cust_id * 10,
                    reason,
                    '{"version":1}',
                ),
            )
            prev_sig = keys[actor].sign(digest)
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor_id": tech_id,
                    "actor": actor,
                    "action": "reveal",
                    "outcome": "ok",
                    "customer_id": cust_id,
                    "target": target,
                    "credential_id": cust_id * 10,
                    "reason": reason,
                    "detail": '{"version":1}',
                    "prev_hash": prev,
                    "hash": digest,
                    "signature": prev_sig,
                }
            )
            prev = digest
        done += n
        yield rows


def insert(url: str, rows: list[dict[str, object]]) -> None:
    from custodian.db.engine import create_db_engine

    engine = create_db_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                with cur.copy(f"COPY access_event ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row([row[c] for c in COLUMNS])
                raw.commit()
            finally:
                raw.close()
        else:
            from sqlalchemy import insert as sa_insert

            with engine.begin() as conn:
                conn.execute(sa_insert(AccessEvent.__table__), rows)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def set_head(url: str, seq: int, digest: bytes) -> None:
    from sqlalchemy import text

    from custodian.db.engine import create_db_engine

    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE log_head SET seq = :s, head = :h"), {"s": seq, "h": digest})
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE access_event"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def head_of(url: str) -> tuple[int, bytes, bytes | None]:
    """The log head: seq, hash, and the signature of the event it names."""
    from sqlalchemy import text

    from custodian.db.engine import create_db_engine

    engine = create_db_engine(url)
    with engine.connect() as conn:
        seq, digest, sig = conn.execute(
            text(
                "SELECT h.seq, h.head, e.signature FROM log_head h"
                " LEFT JOIN access_event e ON e.seq = h.seq"
            )
        ).one()
    engine.dispose()
    return seq, bytes(digest), bytes(sig) if sig is not None else None


# --- the measurements ------------------------------------------------------------------


def measure_verify(
    url: str, workers: int | None, every_signature: bool = False
) -> tuple[float, int, float]:
    vault = Custodian.open(url)
    try:
        t = time.perf_counter()
        result = verify_log(
            vault.db.engine,
            vault_id=vault.vault_id(),
            workers=workers,
            every_signature=every_signature,
        )
        seconds = time.perf_counter() - t
    finally:
        vault.close()
    if not result.ok:
        raise SystemExit(f"the generated log does not verify: {result}")
    return seconds, result.checked, result.checked / seconds


def measure_incremental(url: str, seed: Seed) -> tuple[float, int, float]:
    """`verify --incremental` against a checkpoint at the head: chain, hashes and
    bindings of every event, no signature re-checked."""
    from custodian.audit.checkpoint import Checkpoint
    from custodian.service.vault import unpack_private

    _, signer, _ = unpack_private(seed.admin_bundle)
    seq, digest, _ = head_of(url)
    vault = Custodian.open(url)
    try:
        cp = Checkpoint.make(vault.vault_id(), seq, digest, datetime.now(UTC), "admin", signer)
        t = time.perf_counter()
        result = verify_log(
            vault.db.engine, vault_id=vault.vault_id(), checkpoints=[cp], incremental=True
        )
        seconds = time.perf_counter() - t
    finally:
        vault.close()
    if not result.ok:
        raise SystemExit(f"the generated log does not verify: {result}")
    return seconds, result.checked, result.checked / seconds


def measure_query(url: str, seed: Seed, samples: int = 20) -> tuple[float, float, int]:
    vault = Custodian.open(url)
    try:
        admin = vault.resume("admin", seed.admin_bundle)
        rng = random.Random(7)
        times, sizes = [], []
        for _ in range(samples):
            _, slug = seed.customers[rng.randrange(len(seed.customers))]
            month = rng.randrange(12)
            since = datetime(2025, month + 1, 1, tzinfo=UTC)
            until = datetime(2025 + (month + 1) // 12, (month + 1) % 12 + 1, 1, tzinfo=UTC)
            t = time.perf_counter()
            events = admin.events(customer=slug, since=since, until=until)
            times.append(time.perf_counter() - t)
            sizes.append(len(events))
    finally:
        vault.close()
    times.sort()
    return (
        statistics.median(times) * 1000,
        times[int(len(times) * 0.95) - 1] * 1000,
        int(statistics.median(sizes)),
    )


def _writer(
    url: str,
    user: str,
    tech_id: int,
    seed_bytes: bytes,
    seconds: float,
    counter: multiprocessing.sharedctypes.Synchronized,
) -> None:  # type: ignore[name-defined]
    signer = SigningKey(seed_bytes)
    with Custodian.open(url) as vault:
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            with vault.db.transaction() as tx:
                audit.append(
                    tx, audit.EventDraft("bench-append", "ok", user, tech_id), vault.clock(), signer
                )
            n += 1
        with counter.get_lock():
            counter.value += n


def measure_appends(
    url: str, seed: Seed, writers: int = 8, seconds: float = 10.0
) -> tuple[float, int]:
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("q", 0)
    names = sorted(seed.signers)[:writers]
    procs = [
        ctx.Process(
            target=_writer, args=(url, n, seed.signers[n][0], seed.signers[n][1], seconds, counter)
        )
        for n in names
    ]
    t = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t
    return counter.value / wall, counter.value


# --- the run ---------------------------------------------------------------------------


def run(
    events: int,
    pg: bool,
    append_seconds: float,
    progress: Callable[[str], None] = say,
    sqlite: bool = True,
    verify: bool = True,
) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="logbench-"))
    targets = [Target("SQLite", f"sqlite:///{work / 'vault.db'}")] if sqlite else []
    if pg and (made := pg_database()):
        targets.append(made)
    lines = [
        f"# access-log benchmark, {events:,} events, {os.cpu_count()} CPUs,"
        f" load {os.getloadavg()[0]:.1f} at start",
        "| measure | database | figure | notes |",
        "| --- | --- | --- | --- |",
    ]
    try:
        seeds = {}
        for t in targets:
            progress(f"{t.label}: seeding a vault ({TECHS} technicians, {CUSTOMERS} customers)")
            seeds[t.label] = seed_vault(t.url)
        for t in targets:
            seed = seeds[t.label]
            start_seq, prev, prev_sig = head_of(t.url)
            gen_t = time.perf_counter()
            seq, last = start_seq, prev
            for rows in generate(seed, start_seq, prev, prev_sig, events):
                insert(t.url, rows)
                seq, last = rows[-1]["seq"], rows[-1]["hash"]  # type: ignore[assignment]
                progress(f"{t.label}: {seq - start_seq:,}/{events:,} events written")
            set_head(t.url, seq, last)  # type: ignore[arg-type]
            gen_s = time.perf_counter() - gen_t
            progress(f"{t.label}: generated in {gen_s:.0f} s")
            if verify:
                secs, checked, rate = measure_verify(t.url, None)
                lines.append(
                    f"| verify throughput | {t.label} | {rate:,.0f} events/s |"
                    f" {checked:,} events in {secs:.1f} s: every hash and link, each"
                    f" actor's newest signature (target >= 50,000/s) |"
                )
                progress(f"{t.label}: verify {rate:,.0f} events/s")
                secs, checked, rate = measure_verify(t.url, None, every_signature=True)
                lines.append(
                    f"| verify --every-signature | {t.label} | {rate:,.0f} events/s |"
                    f" {checked:,} events in {secs:.1f} s, one Ed25519 check per event"
                    f" on {os.cpu_count()} processes |"
                )
                progress(f"{t.label}: verify --every-signature {rate:,.0f} events/s")
            secs, checked, rate = measure_incremental(t.url, seed)
            lines.append(
                f"| verify --incremental (checkpoint at head) | {t.label} |"
                f" {rate:,.0f} events/s | {checked:,} events in {secs:.1f} s; chain,"
                f" hashes, bindings; signatures pinned by the checkpoint |"
            )
            progress(f"{t.label}: incremental verify {rate:,.0f} events/s; querying")
            p50, p95, size = measure_query(t.url, seed)
            lines.append(
                f"| one customer, one month | {t.label} | p50 {p50:.1f} ms |"
                f" p95 {p95:.1f} ms; ~{size} events returned; 20 queries"
                f" (target < 100 ms) |"
            )
            if t.pg_name is not None:
                progress(f"{t.label}: 8 concurrent writers for {append_seconds:.0f} s")
                rate_a, total = measure_appends(t.url, seed, 8, append_seconds)
                lines.append(
                    f"| append, 8 writer processes | {t.label} | {rate_a:,.0f}"
                    f" events/s | {total:,} events, one committed transaction each |"
                )
    finally:
        for t in targets:
            if t.pg_name:
                drop_pg(t.pg_name)
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-verify", action="store_true", help="skip the verify figure")
    parser.add_argument("--append-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    events = 100_000 if args.quick else args.events
    for line in run(
        events,
        not args.no_pg,
        args.append_seconds,
        sqlite=not args.no_sqlite,
        verify=not args.no_verify,
    ):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def runner_rows(size: Size, pg: bool) -> list[str]:
    """This benchmark's rows in the common runner's table (benchmarks/run.py): events in
    the log and seconds of appending (`--quick`: 100,000 and 5 s; `--smoke`: 2,000, 1 s)."""
    events, append_seconds = {
        "full": (1_000_000, 10.0),
        "quick": (100_000, 5.0),
        "smoke": (2_000, 1.0),
    }[size]
    lines = run(events, pg, append_seconds)
    out = []
    for line in lines[3:]:
        measure, database, figure, notes = (c.strip() for c in line.strip("|").split("|"))
        out.append(f"| {measure}, {database} | {figure} | - | - | {notes} |")
    return out

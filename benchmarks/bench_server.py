"""Reveals through `custodian serve` (issue 18), against direct database mode and OpenBao.

One vault on SQLite with `entries` credentials (200; `--smoke`: 20) of four customers,
technician `alice` granted all four; the server is its own process (`custodian serve
--quiet` on a free loopback port, tests/server/loadkit.py), stopped by PID at the end.
An OpenBao dev server holds the same entries in KV v2, with a file audit device declared
in a config file beside `-dev` (OpenBao 2 refuses `audit enable` over the API).

1. Latency: `RemoteSession.reveal` (an in-process client: prepare, the client verifies
   the log and the version and signs the access event, commit appends it durably and
   returns the sealed version, the client opens it) against `ActorSession.reveal` on the
   same database (direct mode), alternated in blocks of 100. Target: p50 under 3 ms.
   The server runs with `--rate-limit 0`: every client here is the same member.
2. Audited reads per second with `clients` concurrent clients (50): `PROCESSES` client
   processes of `clients / PROCESSES` threads, each thread with a client of its own
   (`RemoteSession`, or an hvac client with its own HTTP session), logged in before the
   clock starts, reading random entries for `seconds`; every read checks its value.
   Against OpenBao the same, KV v2 `read_secret_version`, each read written to the audit
   file. Target: ratio at least 1.0. The servers' own CPU time per read is in the notes.
   Then custodian alone with 20 clients, who queue less for the signing slot (not
   in `--quick`, which keeps to the 50).
3. Cold `custodian --server URL get` as a whole process against `bao kv get` (on the
   audited server), after `custodian --server URL unlock` started the session agent:
   each `get` is a new process that asks the agent, which reveals through the server.

    .venv/bin/python -m benchmarks --only server [--quick]
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests.vault.baokit, tests.server.loadkit
    sys.path.insert(0, str(ROOT))

from benchmarks import Size  # noqa: E402
from benchmarks.cold import Entry, make_entries, pick, time_process  # noqa: E402
from custodian.crypto import KdfParams  # noqa: E402
from custodian.db.models import Role  # noqa: E402
from custodian.exchange.importers import ImportItem  # noqa: E402
from custodian.secret import Secret  # noqa: E402
from custodian.service import Custodian  # noqa: E402
from tests.server.loadkit import ServerProcess, process_cpu  # noqa: E402
from tests.vault.baokit import BaoServer, bao_binary, start_bao  # noqa: E402

PASS = "benchmark passphrase"
USER = "alice"
PROCESSES = 5  # client processes; the clients are threads spread over them
TARGET_P50_MS = 3.0


@dataclass(frozen=True)
class Sizes:
    entries: int
    samples: int  # timed reveals of each kind (latency)
    clients: int
    seconds: float  # how long the clients read (throughput)
    cold_runs: int
    few: int  # clients of the second rate, fewer than the first's (0: none)


SIZES: dict[str, Sizes] = {
    "full": Sizes(200, 2_000, 50, 10.0, 10, 20),
    "quick": Sizes(200, 100, 50, 1.0, 3, 0),
    "smoke": Sizes(20, 20, 4, 0.5, 2, 2),
}


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the two stores ---------------------------------------------------------------------


def seed_vault(db: str, entries: Sequence[Entry]) -> None:
    """A vault holding `entries`, `alice` granted every customer, her key pinned (one
    unlock against the database, which a member needs before logging in to a server)."""
    with Custodian.open(db, create=True) as vault:
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        admin.add_technician(USER, Role.TECHNICIAN, PASS)
        admin.import_items(
            (
                ImportItem(
                    f"bench:{i}",
                    e.customer,
                    e.system,
                    e.name,
                    {"password": Secret(e.value)},
                    customer_name=e.customer.title(),
                )
                for i, e in enumerate(entries, 1)
            ),
            source="server benchmark",
        )
        for slug in sorted({e.customer for e in entries}):
            admin.grant(USER, slug)
        vault.unlock(USER, PASS)


@contextmanager
def audited_bao(work: Path, entries: Sequence[Entry]) -> Iterator[BaoServer]:
    """`bao server -dev` with a file audit device, holding `entries` in KV v2."""
    audit = work / "bao-audit"
    audit.mkdir()
    config = work / "audit.hcl"
    config.write_text(
        f'audit "file" "to-file" {{\n  options {{ file_path = "{audit / "audit.log"}" }}\n}}\n'
    )
    server = start_bao(work, config=config)
    try:
        kv = server.client().secrets.kv.v2
        for e in entries:
            kv.create_or_update_secret(e.path, {"password": e.value}, mount_point="secret")
        yield server
    finally:
        server.stop()


# --- 1. latency -----------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    remote: list[float]  # seconds
    direct: list[float]
    client_cpu: list[float]  # this thread's CPU seconds per remote reveal
    server_cpu: float  # the server process's CPU seconds per remote reveal


def measure_latency(db: str, server: ServerProcess, entries: Sequence[Entry], n: int) -> Latency:
    from custodian.remote import RemoteVault

    remote_vault = RemoteVault(server.url)
    remote = remote_vault.unlock(USER, PASS)
    vault = Custodian.open(db)
    direct = vault.unlock(USER, PASS)
    rng = random.Random(20261206)  # a benchmark's sample, not a secret
    try:
        warm = {e.customer: e for e in entries}.values()  # one entry of each customer
        for e in warm:  # every customer key unwrapped, connections warm, on both sides
            assert remote.reveal(e.path).reveal() == e.value
            assert direct.reveal(e.path).reveal() == e.value
        out: dict[str, list[float]] = {"remote": [], "direct": [], "cpu": []}
        server_cpu = 0.0
        for _ in range(max(1, n // 100)):  # alternate in blocks, so drift hits both alike
            block = rng.choices(list(entries), k=min(100, n))
            cpu0 = process_cpu(server.pid or 0)
            for e in block:
                c, t = time.thread_time(), time.perf_counter()
                value = remote.reveal(e.path)
                out["remote"].append(time.perf_counter() - t)
                out["cpu"].append(time.thread_time() - c)
                assert value.reveal() == e.value
            server_cpu += process_cpu(server.pid or 0) - cpu0
            for e in block:
                t = time.perf_counter()
                value = direct.reveal(e.path)
                out["direct"].append(time.perf_counter() - t)
                assert value.reveal() == e.value
        return Latency(out["remote"], out["direct"], out["cpu"], server_cpu / len(out["remote"]))
    finally:
        vault.close()
        remote_vault.close()


# --- 2. throughput ----------------------------------------------------------------------


def _custodian_reader(target: dict[str, Any]) -> Callable[[], Callable[[Entry], str]]:
    def connect() -> Callable[[Entry], str]:
        from custodian.remote import RemoteVault

        session = RemoteVault(target["url"]).unlock(USER, PASS)
        return lambda e: session.reveal(e.path).reveal()

    return connect


def _bao_reader(target: dict[str, Any]) -> Callable[[], Callable[[Entry], str]]:
    def connect() -> Callable[[Entry], str]:
        import hvac

        client = hvac.Client(url=target["url"], token=target["token"], timeout=30)
        kv = client.secrets.kv.v2

        def read(e: Entry) -> str:
            data = kv.read_secret_version(
                path=e.path, mount_point="secret", raise_on_deleted_version=True
            )
            return str(data["data"]["data"]["password"])

        return read

    return connect


def client_process(
    kind: str,
    target: dict[str, Any],
    entries: list[Entry],
    threads: int,
    seconds: float,
    seed: int,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One client process (spawned): `threads` clients, each logged in before `ready`,
    reading random entries for `seconds` after `go`; puts (reads, errors, first error)."""
    os.environ.update(target.get("env", {}))
    connect = (_custodian_reader if kind == "custodian" else _bao_reader)(target)
    readers = [connect() for _ in range(threads)]
    counts = [0] * threads
    errors: list[str] = []
    start = threading.Event()

    def run(i: int) -> None:
        rng = random.Random(seed * 1000 + i)  # a benchmark's sample, not a secret
        start.wait()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            e = rng.choice(entries)
            try:
                if readers[i](e) != e.value:
                    errors.append("a wrong value")
                    continue
            except Exception as exc:  # counted and named in the row, never hidden
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if time.monotonic() > end:  # a read that outlasted the window does not count
                break
            counts[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    ready.put(threads)
    go.wait()
    start.set()
    for w in workers:
        w.join()
    results.put((sum(counts), len(errors), errors[0] if errors else ""))


@dataclass(frozen=True)
class Rate:
    reads: int
    seconds: float
    errors: int
    first_error: str
    server_cpu: float  # the server process's CPU seconds per read

    @property
    def per_second(self) -> float:
        return self.reads / self.seconds


def measure_rate(
    kind: str, target: dict[str, Any], pid: int, entries: Sequence[Entry], size: Sizes
) -> Rate:
    """`size.clients` clients in `PROCESSES` spawned processes, reading for `size.seconds`."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = min(PROCESSES, size.clients)
    per = [size.clients // processes + (i < size.clients % processes) for i in range(processes)]
    procs = [
        context.Process(
            target=client_process,
            args=(kind, target, list(entries), n, size.seconds, i, ready, go, results),
            daemon=True,
        )
        for i, n in enumerate(per)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:  # every client logged in, connected, waiting
            _wait_for(ready, procs, kind, time.monotonic() + 300)
        cpu0 = process_cpu(pid)
        go.set()
        got = [results.get(timeout=size.seconds + 120) for _ in procs]
        cpu = process_cpu(pid) - cpu0
    except queue.Empty:
        raise RuntimeError(f"a {kind} client process did not report (see stderr)") from None
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    reads = sum(g[0] for g in got)
    errors = sum(g[1] for g in got)
    first = next((g[2] for g in got if g[2]), "")
    return Rate(reads, size.seconds, errors, first, cpu / max(1, reads))


def _wait_for(ready: Any, procs: list[Any], kind: str, deadline: float) -> None:
    """The next process's "ready", failing at once if a client process died first (its
    traceback is on stderr) rather than at the deadline."""
    while True:
        try:
            ready.get(timeout=0.5)
            return
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                why = f"exit {dead[0]}" if dead else "timed out"
                raise RuntimeError(f"a {kind} client process failed to log in ({why})") from None


# --- the part -------------------------------------------------------------------------


def runner_rows(size: Size, pg: bool = True) -> list[str]:
    """This part's rows in the common runner's table (benchmarks/run.py); SQLite only."""
    sizes = SIZES[size]
    work = Path(tempfile.mkdtemp(prefix="sbench-"))
    saved_env = {k: os.environ.get(k) for k in ("CUSTODIAN_STATE_DIR",)}
    os.environ["CUSTODIAN_STATE_DIR"] = str(work / "state")  # clients' verified heads
    try:
        return _rows(work, sizes)
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(work, ignore_errors=True)


def _rows(work: Path, sizes: Sizes) -> list[str]:
    say = _say
    entries = make_entries(sizes.entries)
    db = str(work / "vault.db")
    say(f"  server: seeding {sizes.entries} entries")
    seed_vault(db, entries)
    rows = []
    # No per-member request limit: the benchmark's clients are one member, a team's are many.
    with ServerProcess(db, work / "serve.log", args=("--rate-limit", "0")) as server:
        say(f"  server: latency, {sizes.samples} reveals each way")
        lat = measure_latency(db, server, entries, sizes.samples)
        say(f"  server: {sizes.clients} clients for {sizes.seconds:g} s")
        env = {"CUSTODIAN_STATE_DIR": str(work / "state")}
        target = {"url": server.url, "env": env}
        ours = measure_rate("custodian", target, server.pid or 0, entries, sizes)
        few = None
        if sizes.few:
            say(f"  server: {sizes.few} clients for {sizes.seconds:g} s")
            few = measure_rate(
                "custodian", target, server.pid or 0, entries, replace(sizes, clients=sizes.few)
            )
        say(f"  server: cold get through the server, {sizes.cold_runs} runs")
        picks = pick(entries, sizes.cold_runs)
        cold_env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
        cold_env.update(
            CUSTODIAN_USER=USER,
            CUSTODIAN_STATE_DIR=str(work / "state"),
            XDG_RUNTIME_DIR=str(work),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        script = str(Path(sys.executable).parent / "custodian")
        # `unlock` through the server starts the session agent (as a technician's day
        # starts); each timed `get` is a new process that asks it (agent/client.py).
        unlock = subprocess.run(
            [script, "--server", server.url, "unlock", "--ttl", "1h"],
            env={**cold_env, "CUSTODIAN_PASSPHRASE": PASS},
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=True,
        )
        assert b"session agent pid" in unlock.stderr, unlock.stderr
        try:
            cold_ours = time_process(
                lambda e: [script, "--server", server.url, "get", e.path], picks, cold_env
            )
        finally:
            subprocess.run(
                [script, "--server", server.url, "lock"],
                env=cold_env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
    say("  server: OpenBao with a file audit device")
    with audited_bao(work, entries) as bao:
        theirs = measure_rate(
            "bao", {"url": bao.addr, "token": bao.root_token}, bao.pid, entries, sizes
        )
        binary = str(bao_binary())
        cold_theirs = time_process(
            lambda e: [binary, "kv", "get", "-mount=secret", "-field=password", e.path],
            picks,
            bao.env(),
        )
        audited = sum(1 for _ in (work / "bao-audit" / "audit.log").open())

    ms = [s * 1000 for s in lat.remote]
    dms = [s * 1000 for s in lat.direct]
    p50, p95, d50, d95 = (
        statistics.median(ms),
        _pct(ms, 0.95),
        statistics.median(dms),
        _pct(dms, 0.95),
    )
    met = "met" if p50 < TARGET_P50_MS else "NOT met"
    rows.append(
        f"| reveal through the server (loopback, SQLite), p50 | {p50:.2f} ms (p95 {p95:.2f} ms)"
        f" | direct DB mode `ActorSession.reveal` p50 {d50:.2f} ms (p95 {d95:.2f} ms) |"
        f" {p50 / d50:.2f} | `RemoteSession.reveal` in process, the server its own process:"
        " prepare, the client verifies and signs the event, commit appends it durably"
        " (synchronous=FULL), the client opens the sealed version; target p50 under"
        f" {TARGET_P50_MS:g} ms: {met}; client CPU p50 {_pct(lat.client_cpu, 0.5) * 1000:.2f}"
        f" ms, server CPU {lat.server_cpu * 1000:.2f} ms a reveal; {len(ms):,} of each,"
        f" alternated in blocks of 100, {sizes.entries} credentials |"
    )
    ratio = ours.per_second / theirs.per_second
    verdict = "met" if ratio >= 1.0 else "NOT met"
    rows.append(
        f"| audited reads per second, {sizes.clients} concurrent clients |"
        f" {_rate(ours)} | OpenBao KV v2 read, file audit device:"
        f" {_rate(theirs)} | {ratio:.3f} | {sizes.clients} clients"
        f" ({min(PROCESSES, sizes.clients)} processes of threads, a client each) for"
        f" {sizes.seconds:g} s each,"
        f" {sizes.entries} entries, every value checked; custodian: `RemoteSession.reveal`"
        " (event signed by the client, committed by the server, SQLite; all clients are"
        " one member, so the server runs with `--rate-limit 0`), server CPU"
        f" {ours.server_cpu * 1000:.2f} ms a read, {ours.errors} errors{_first(ours)};"
        f" OpenBao: hvac, server CPU {theirs.server_cpu * 1000:.2f} ms a read,"
        f" {theirs.errors} errors{_first(theirs)}, {audited:,} audit lines;"
        f" target ratio >= 1.0: {verdict} |"
    )
    if few is not None:
        rows.append(
            f"| audited reads per second, {sizes.few} concurrent clients (custodian alone) |"
            f" {_rate(few)} | - | - | as above with {sizes.few} clients (fewer clients"
            " queue less for the signing slot); server CPU"
            f" {few.server_cpu * 1000:.2f} ms a read, {few.errors} errors{_first(few)} |"
        )
    rows.append(
        "| cold `custodian get` through the server (session agent) vs `bao kv get` |"
        f" {cold_ours:.1f} ms | {cold_theirs:.1f} ms | {cold_ours / cold_theirs:.2f} |"
        f" median of {sizes.cold_runs} each, a new process per get, a different entry each"
        " run; after `custodian --server URL unlock`, each get asks the session agent,"
        " which reveals through the server; `bao kv get` on the audited dev server |"
    )
    return rows


def _rate(rate: Rate) -> str:
    """Reads a second, with a decimal when there are few (a stalled server's 0.4/s)."""
    return f"{rate.per_second:,.1f}/s" if rate.per_second < 10 else f"{rate.per_second:,.0f}/s"


def _first(rate: Rate) -> str:
    return f" (first: {rate.first_error.replace('|', '/')})" if rate.first_error else ""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

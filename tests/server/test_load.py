"""Load (issue 18): 50 concurrent clients for 60 seconds of mixed reveals and log reads
against the real `custodian serve` process, on SQLite and on PostgreSQL, with the server
killed (SIGKILL, as a crash) and started again on the same port in the middle. Clients
retry connection errors across the restart (and log in again: the new process has a new
token secret).

Afterwards, for each client (its reveals carry the reason `load N`): every value it got
has its access event (`reveal`/`ok` events >= values, and at most one more per
interrupted commit); `custodian log verify` passes; every event committed before the kill
is still there, unchanged. Refused requests ("the server is busy") are counted and
printed, not failed: the test pins what is committed, not how fast; but every client
must get values (before its fix, 40 or more concurrent reveals stalled the server: its
thread pool filled with prepares waiting for the signing slot).

    LOAD_SECONDS=10 .venv/bin/pytest -q -m slow tests/server/test_load.py -s
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from custodian.errors import BackendUnavailable, Conflict, RateLimited
from custodian.remote import RemoteSession, RemoteVault
from custodian.service import Custodian
from tests.cli import conftest as cli_fixtures
from tests.cli.clikit import CANARY, CRED, SA, SWITCH, TECH_PASS, Cli
from tests.server.loadkit import ServerProcess

# The CLI tests' vault (ada, ben, dora; acme, globex, initech), on SQLite and PostgreSQL.
both, template_vault = cli_fixtures.both, cli_fixtures.template_vault

CLIENTS = 50
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))  # the issue asks for 60
LOG_READS = 0.3  # share of operations that are log reads (RemoteSession.sync)
RETRY_PAUSE = 0.05  # seconds between tries while the server is down
DOWN_FOR_AT_MOST = 60.0  # a client gives up if the server stays unreachable this long


@dataclass
class Client:
    """One client's tally; `values` counts reveals that returned the right value."""

    n: int
    values: int = 0
    log_reads: int = 0
    interrupted: int = 0  # reveals that ended in a connection error (maybe committed)
    busy: int = 0  # reveals refused: Conflict ("the server is busy") or 429 (rate limit)
    logins: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return f"load {self.n}"


def _connect(url: str, client: Client, deadline: float) -> tuple[RemoteVault, RemoteSession]:
    while True:
        remote = RemoteVault(url)
        try:
            session = remote.unlock("ben", TECH_PASS)
            client.logins += 1
            return remote, session
        except BackendUnavailable:
            remote.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(RETRY_PAUSE)


def _work(url: str, client: Client, ready: threading.Barrier, ends: list[float]) -> None:
    """Log in, wait for every client, then mixed reveals and log reads until `ends[0]`
    (set by the test when all are ready), retrying connection errors."""
    rng = random.Random(client.n)  # a test's sample, not a secret
    expected = {CRED: CANARY}
    reveals = [(CRED, "password"), (SA, "password"), (SWITCH, "password"), (SWITCH, "enable")]
    try:
        remote, session = _connect(url, client, time.monotonic() + DOWN_FOR_AT_MOST)
    except Exception as exc:
        client.errors.append(f"login: {type(exc).__name__}: {exc}")
        ready.abort()
        return
    ready.wait()
    end = ends[0]
    try:
        while time.monotonic() < end:
            try:
                if rng.random() < LOG_READS:
                    session.sync()
                    client.log_reads += 1
                    continue
                path, name = rng.choice(reveals)
                try:
                    value = session.reveal(path, field=name, reason=client.reason).reveal()
                except (Conflict, RateLimited):
                    client.busy += 1
                    time.sleep(RETRY_PAUSE)
                    continue
                except BackendUnavailable:
                    client.interrupted += 1
                    raise
                if path in expected and value != expected[path]:
                    client.errors.append(f"{path}: a wrong value")
                client.values += 1
            except BackendUnavailable:  # the server is down: wait for it, log in again
                time.sleep(RETRY_PAUSE)
                remote.close()
                remote, session = _connect(url, client, end + DOWN_FOR_AT_MOST)
    except Exception as exc:  # anything else fails the test, named
        client.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        remote.close()


def _committed(cli: Cli) -> list[tuple[int, bytes]]:
    return [
        (int(s), bytes(h)) for s, h in cli.sql("SELECT seq, hash FROM access_event ORDER BY seq")
    ]


@pytest.mark.slow
def test_fifty_clients_across_a_server_restart_lose_no_event(both: Cli, tmp_path: Path) -> None:
    cli = both
    with Custodian.open(cli.db) as vault:  # ben's key pins the vault's root (his first unlock)
        vault.unlock("ben", TECH_PASS)
    server = ServerProcess(cli.db, tmp_path / "serve.log").start()
    clients = [Client(n) for n in range(CLIENTS)]
    ends: list[float] = []
    began = time.monotonic()

    def go() -> None:  # the last client logged in: the clock starts
        ends.append(time.monotonic() + SECONDS)

    ready = threading.Barrier(CLIENTS + 1, action=go)
    threads = [threading.Thread(target=_work, args=(server.url, c, ready, ends)) for c in clients]
    try:
        for t in threads:
            t.start()
        ready.wait(timeout=300)
        logged_in = time.monotonic() - began
        time.sleep(SECONDS / 2)
        server.kill()  # a crash in the middle: nothing flushed, connections cut
        before_kill = _committed(cli)
        time.sleep(0.5)
        server.start()  # the same port
        for t in threads:
            t.join(timeout=SECONDS + DOWN_FOR_AT_MOST + 120)
        took = time.monotonic() - began
        assert not any(t.is_alive() for t in threads), "a client did not stop"
    finally:
        server.stop()

    counted = cli.sql(
        "SELECT reason, count(*) FROM access_event WHERE action = 'reveal' AND outcome = 'ok'"
        " AND reason LIKE ? GROUP BY reason",
        ("load %",),
    )
    events = Counter({str(reason): int(n) for reason, n in counted})
    after = _committed(cli)
    values = sum(c.values for c in clients)
    idle = [c.n for c in clients if c.values == 0]
    database = "PostgreSQL" if cli.db.startswith("postgresql") else "SQLite"
    print(
        f"\n{database}: {CLIENTS} clients, {SECONDS:g} s (ran {took:.1f} s):"
        f" {values} reveals with a value, {sum(events.values())} reveal events,"
        f" {sum(c.log_reads for c in clients)} log reads,"
        f" {sum(c.interrupted for c in clients)} reveals cut by the restart,"
        f" {sum(c.busy for c in clients)} refused (busy or rate-limited),"
        f" {sum(c.logins for c in clients)} logins (the first {CLIENTS} in {logged_in:.1f} s);"
        f" {len(after)} events in the log, {len(before_kill)} of them before the kill;"
        f" clients that revealed nothing: {idle}"
    )

    errors = [f"client {c.n}: {e}" for c in clients for e in c.errors]
    assert not errors, errors[:10]
    for c in clients:
        assert events[c.reason] >= c.values, (c, events[c.reason])  # no value without event
        assert events[c.reason] <= c.values + c.interrupted, (c, events[c.reason])
    assert after[: len(before_kill)] == before_kill  # nothing committed was lost or changed
    verified = cli.run("log", "verify")
    assert verified.code == 0
    # Every client got values: prepares wait for the signing slot in threads of their
    # own (server/http.py `call(waits=True)`), so they never starve the commits.
    assert not idle, f"{len(idle)} of {CLIENTS} clients revealed nothing in {SECONDS:g} s"

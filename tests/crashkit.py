"""Crash tests: run an operation in a loop in its own process, SIGKILL it at a random
point, then check the vault is whole. Shared by tests/lifecycle/test_crash.py and
tests/faults/.

- `fork_loop(kit, body)`: forks; the child opens its own engine, resumes the admin and
  calls `body(admin, report)` forever; `report(word)` tells the parent an operation
  committed. The child never returns into pytest (`os._exit`).
- `kill_at_random_point(proc, rng)`: waits for 1..`most` commits, then kills the child
  at a random point inside the next operation (its length measured on the last one).
- `check_whole(kit)`: the database opens, `PRAGMA integrity_check` says ok (SQLite),
  every credential's versions run 1..current with a payload each, sealed under exactly
  one existing key version, every one of them reveals, and the access log verifies.

    def body(admin, report):
        while True:
            admin.set_secret(PATH, SecretPayload({"password": "x"}))
            report("set")

    reports = kill_at_random_point(fork_loop(vault, body), random.Random(1))
    check_whole(vault)
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from custodian.service import ActorSession, Custodian

Report = Callable[[str], None]
Body = Callable[[ActorSession, Report], None]
TIMEOUT = 60.0


@dataclass
class Forked:
    """A child process looping over an operation; its reports arrive on `fd`, one a line."""

    pid: int
    fd: int
    _buffer: bytes = b""
    lines: list[str] = field(default_factory=list)

    def readline(self, timeout: float = TIMEOUT) -> str:
        """The next report, or "" once the child is gone."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the child reported nothing in time")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return ""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.lines.append(line.decode())
        return self.lines[-1]

    def kill(self) -> int:
        """SIGKILL the child, reap it, read what it reported; returns its wait status."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        while self.readline():
            pass
        os.close(self.fd)
        return status


def fork_loop(kit: Any, body: Body, user: str = "admin") -> Forked:
    """Fork a child running `body` as `user` of `kit` (a VaultKit) on its own engine."""
    bundle = kit.admin.export() if user == "admin" else kit._techs[user].export()
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read)
            vault = Custodian.open(kit.url, clock=kit.clock)
            actor = vault.resume(user, bundle)

            def report(word: str) -> None:
                os.write(write, f"{word}\n".encode())

            report("ready")
            body(actor, report)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    return Forked(pid, read)


def kill_at_random_point(proc: Forked, rng: random.Random, most: int = 4) -> list[str]:
    """Let 1..`most` operations commit, kill the child inside the next one, and return
    every operation it reported (one killed after its commit, before its report, is
    not among them)."""
    try:
        assert proc.readline() == "ready", "the child failed to start"
        last = time.monotonic()
        span = 0.0
        for _ in range(rng.randint(1, most)):
            assert proc.readline(), "the child died before it was killed"
            now = time.monotonic()
            span, last = now - last, now
        time.sleep(rng.uniform(0.0, span))
    finally:
        status = proc.kill()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    return [line for line in proc.lines if line != "ready"]


# --- is the vault whole? ---------------------------------------------------------------


def integrity_ok(kit: Any) -> None:
    """The database opens afresh and (SQLite) passes `PRAGMA integrity_check`."""
    fresh = Custodian.open(kit.url)
    try:
        if kit.backend == "sqlite":
            with fresh.db.engine.connect() as conn:
                rows = conn.exec_driver_sql("PRAGMA integrity_check").all()
            assert [tuple(r) for r in rows] == [("ok",)], rows
    finally:
        fresh.close()


def versions_whole(kit: Any) -> list[tuple[str, int]]:
    """Every credential's versions run 1..current_version, each with a payload sealed
    under one key version that exists; returns (path, version) for each."""
    keys: dict[int, list[int]] = {}
    current: dict[int, int] = {}
    for cid, version in kit.sql("SELECT customer_id, version FROM customer_key"):
        keys.setdefault(cid, []).append(version)
    for cid, slug, kv in kit.sql("SELECT id, slug, current_key_version FROM customer"):
        assert sorted(keys[cid]) == list(range(1, kv + 1)), (slug, keys[cid], kv)
        current[cid] = kv
    out: list[tuple[str, int]] = []
    creds = kit.sql(
        "SELECT c.id, c.customer_id, cu.slug || '/' || s.name || '/' || c.name,"
        " c.current_version FROM credential c JOIN system s ON s.id = c.system_id"
        " JOIN customer cu ON cu.id = c.customer_id"
    )
    for cred_id, cid, path, version in creds:
        rows = kit.sql(
            "SELECT version, key_version, ciphertext IS NOT NULL FROM secret_version"
            " WHERE credential_id = :c ORDER BY version",
            c=cred_id,
        )
        assert [r[0] for r in rows] == list(range(1, version + 1)), (path, rows)
        for number, kv, sealed in rows:
            assert sealed, (path, number)
            assert 1 <= kv <= current[cid], (path, number, kv)
            out.append((path, number))
    return out


def check_whole(
    kit: Any, reveal_as: ActorSession | None = None, seen: set[tuple[str, int]] | None = None
) -> int:
    """Everything above, then the versions revealed (by `reveal_as`, default the admin,
    who must hold a grant for every customer) and the access log verified. With `seen`,
    only versions not in it are revealed (and added to it), plus one version per key
    version of each customer, so that every key's wraps are still tried each time.
    Returns the number of versions opened."""
    integrity_ok(kit)
    actor = reveal_as or kit.admin
    whole = versions_whole(kit)
    todo = whole if seen is None else [v for v in whole if v not in seen]
    if seen is not None:
        per_key: dict[tuple[str, int], tuple[str, int]] = {}
        kvs = dict(
            kit.sql(
                "SELECT cu.slug || '/' || s.name || '/' || c.name || '#' || v.version,"
                " v.key_version FROM secret_version v JOIN credential c ON c.id = v.credential_id"
                " JOIN system s ON s.id = c.system_id JOIN customer cu ON cu.id = c.customer_id"
            )
        )
        for path, version in whole:
            per_key.setdefault((path.split("/")[0], kvs[f"{path}#{version}"]), (path, version))
        todo += [v for v in per_key.values() if v not in todo]
        seen.update(whole)
    for path, version in todo:
        assert actor.reveal(path, version=version).reveal(), (path, version)
    result = kit.admin.verify_log(workers=0)
    assert result.ok, result
    return len(todo)

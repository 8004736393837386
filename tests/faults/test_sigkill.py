"""SIGKILL at a random point of each write operation, many times (seeded): afterwards
the database opens, passes `PRAGMA integrity_check` (SQLite), every secret version
opens under exactly one key version, and the access log verifies (service and CLI).

Each operation loops in a forked process (tests/crashkit.py) that reports every commit;
it is killed at a random point inside the next one. What it reported is there; at most
one more per kill (committed, not yet reported), and never half of one."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest

from custodian.exchange.importers import Rule
from custodian.exchange.importers.tabular import read_csv
from custodian.secret import SecretPayload
from tests.conftest import VaultKit
from tests.crashkit import check_whole, fork_loop, kill_at_random_point

KILLS = 6  # per operation and backend
PATH = "acme/dc01/admin"
BATCH = 5  # rows per CSV import


def _add(admin, report) -> None:  # type: ignore[no-untyped-def]
    for i in range(10**6):
        admin.add_credential(
            f"acme/dc01/c-{os.getpid()}-{i}", SecretPayload({"password": f"p-{i}", "pin": str(i)})
        )
        report("add")


def _set(admin, report) -> None:  # type: ignore[no-untyped-def]
    for i in range(10**6):
        admin.set_secret(PATH, SecretPayload({"password": f"v-{os.getpid()}-{i}"}))
        report("set")


def _grant(admin, report) -> None:  # type: ignore[no-untyped-def]
    while True:  # every customer key version is re-wrapped to bob each time
        admin.grant("bob", "acme")
        report("grant")


def _revoke(admin, report) -> None:  # type: ignore[no-untyped-def]
    for i in range(10**6):
        admin.grant("bob", "acme")
        admin.revoke("bob", "acme")  # rotates the customer key
        report("revoke")
        admin.set_secret(PATH, SecretPayload({"password": f"r-{i}"}))  # under the new key


def _import(admin, report) -> None:  # type: ignore[no-untyped-def]
    folder = Path(tempfile.mkdtemp(prefix="crash-import-"))
    for i in range(10**6):
        csv = folder / f"batch-{i}.csv"
        rows = [f"batch-{os.getpid()}-{i},user{n},pw-{i}-{n}" for n in range(BATCH)]
        csv.write_text("System,Name,Password\n" + "\n".join(rows) + "\n")
        parsed = read_csv(
            csv, Rule(customer="acme"), columns="system=System,name=Name,password=Password"
        )
        admin.import_items(parsed.items, source=str(csv))
        report("import")


def _log(admin, report) -> None:  # type: ignore[no-untyped-def]
    for i in range(10**6):
        admin.reveal(PATH, reason=f"T-{i}")  # each reveal appends a signed, chained event
        report("reveal")


OPS = {"add": _add, "set": _set, "grant": _grant, "revoke": _revoke, "import": _import, "log": _log}


def _count(vault: VaultKit, op: str) -> int:
    """How many of `op` the database holds."""
    if op == "add":
        return vault.sql("SELECT count(*) FROM credential WHERE name LIKE 'c-%'")[0][0]
    if op == "set":
        return vault.sql("SELECT current_version FROM credential WHERE name = 'admin'")[0][0] - 1
    if op == "revoke":
        return vault.sql("SELECT current_key_version FROM customer WHERE slug = 'acme'")[0][0] - 1
    if op == "log":
        return vault.sql(
            "SELECT count(*) FROM access_event WHERE action = 'reveal' AND reason LIKE 'T-%'"
        )[0][0]
    if op == "import":
        sizes = vault.sql(
            "SELECT count(*) FROM credential c JOIN system s ON s.id = c.system_id"
            " WHERE s.name LIKE 'batch-%' GROUP BY s.id"
        )
        assert all(size == BATCH for (size,) in sizes), sizes  # whole batches or none
        return len(sizes)
    grants = vault.sql(
        "SELECT count(*) FROM access_event WHERE action = 'grant' AND target = 'bob@acme'"
    )[0][0]
    return grants - 1  # the test's own grant before the loop


@pytest.mark.slow
@pytest.mark.parametrize("op", list(OPS))
def test_sigkill_at_random_points_leaves_the_vault_whole(vault, admin_cli, op):
    vault.customer("acme", extra={"enable": "en-1"})
    bob = vault.tech("bob")
    vault.admin.grant("admin", "acme")
    vault.admin.grant("bob", "acme")
    rng = random.Random(f"{op}-7")
    reported = 0
    seen: set[tuple[str, int]] = set()  # versions already opened after an earlier kill
    reader = bob if op == "grant" else None  # a grant rewrites bob's wraps: he opens all
    for kill in range(KILLS):
        reported += len(kill_at_random_point(fork_loop(vault, OPS[op]), rng))
        assert reported <= _count(vault, op) <= reported + kill + 1, (kill, reported)
        check_whole(vault, reveal_as=reader, seen=seen)
    assert reported >= KILLS, "too few operations committed: the test proved little"
    if op in ("grant", "revoke"):
        vault.admin.grant("bob", "acme")  # the org key still reaches every key version
    check_whole(vault, reveal_as=bob if op in ("grant", "revoke") else None)  # every version
    if op == "log":  # the command itself, once per backend (the others: the same service call)
        assert admin_cli.run("log", "verify").stdout.startswith("log verified: ")

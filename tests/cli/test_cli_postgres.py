"""The CLI in team mode: the same commands on a fresh PostgreSQL database at 127.0.0.1."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.clikit import ADMIN, ADMIN_PASS, CANARY, TECH_PASS, Cli

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture
def pg_db() -> Iterator[str]:
    """A database of its own, created here and dropped after the test."""
    import psycopg

    name = f"custodian_cli_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        if os.environ.get("CUSTODIAN_SKIP_PG") == "1":
            pytest.skip(f"PostgreSQL unreachable: {exc}")
        raise
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.mark.postgres
def test_cli_round_trip_on_postgresql(pg_db: str, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    cli = Cli(pg_db, runtime)
    init = cli.run("init", "--admin", ADMIN, "--kdf-seconds", "0", passphrase=ADMIN_PASS)
    assert init.stdout.count("\n") == 1
    cli.run("tech", "add", "ben", input=TECH_PASS)
    cli.run("customer", "add", "acme", "--name", "Acme Corporation")
    cli.run("customer", "add", "acme", "--name", "Again", expect=2)
    cli.run("system", "add", "acme/dc01", "--kind", "active-directory", "--host", "192.0.2.10")
    cli.run("cred", "add", "acme/dc01/admin", "--username", "Administrator", input=CANARY)
    cli.run("get", "acme/dc01/admin", user="ben", expect=4)
    cli.run("grant", "ben", "acme")
    assert cli.run("get", "acme/dc01/admin", user="ben").stdout == CANARY + "\n"
    events = cli.run("log", "--tech", "ben", "--format", "json").json()
    assert [(e["target"], e["outcome"]) for e in events if e["action"] == "reveal"] == [
        ("acme/dc01/admin", "denied"),
        ("acme/dc01/admin", "ok"),
    ]
    assert all(CANARY not in r.stdout + r.stderr for r in cli.results if r.args[0] != "get")

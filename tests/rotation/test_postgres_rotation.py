"""PostgreSQL: a role's password rotated on the server the suite already runs (trust
auth on loopback, so the check is the stored SCRAM verifier, read from pg_authid), with
the vault itself on PostgreSQL too. Each test makes its own role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from custodian.connectors.postgresql import scram_verifier, verifier_matches
from custodian.db.models import SystemKind
from tests.conftest import PG_ADMIN_DSN, PG_HOST, PG_PORT, PgServer, VaultKit, _need_pg

from .conftest import add_cred, current, directory_system

OLD = "Old-pass-4711!x"


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def role() -> Iterator[str]:
    name = f"ct_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{scram_verifier(OLD)}'")  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {name}")  # type: ignore[arg-type]


def _stored(name: str) -> str:
    with psycopg.connect(PG_ADMIN_DSN) as conn:
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)
        ).fetchone()
    return str(row[0])


@pytest.mark.postgres
def test_scram_verifier_is_postgresql_s_own(pg_server: PgServer) -> None:
    """A verifier made by PostgreSQL itself (password_encryption = scram-sha-256) checks."""
    _need_pg(pg_server)
    name = f"ct_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute(f"CREATE ROLE {name} PASSWORD 'plain-Pass-1'")  # type: ignore[arg-type]
        try:
            assert verifier_matches(_stored(name), "plain-Pass-1")
            assert not verifier_matches(_stored(name), "plain-Pass-2")
        finally:
            conn.execute(f"DROP ROLE {name}")  # type: ignore[arg-type]


def test_rotate_a_postgresql_role(vault: VaultKit, role: str) -> None:
    assert verifier_matches(_stored(role), OLD)
    system = directory_system(vault, "pg01", SystemKind.DATABASE, PG_HOST, PG_PORT)
    path = add_cred(vault, f"{system}/{role}", role, OLD)
    result = vault.admin.rotator().rotate(path)
    assert (result.outcome, result.connector) == ("rotated", "postgresql")
    new = current(vault, path)
    assert verifier_matches(_stored(role), new)
    assert not verifier_matches(_stored(role), OLD)
    # the server saw a verifier, never the password itself
    assert "SCRAM-SHA-256$" in _stored(role)

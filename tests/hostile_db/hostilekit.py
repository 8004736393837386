"""The attacker of the hostile-database suite, and the check that nothing opens with
their key.

`attacker` is a database writer with the rights a team member's client has: on SQLite the
file itself; on PostgreSQL the hardened application role (`custodian db harden
--app-role`), which may change every table but never rewrite the access log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from custodian.crypto import KeyPair, open_sealed
from custodian.errors import IntegrityError
from custodian.service.keys import unwrap
from custodian.storage import SecretRef
from tests.audit.test_append_only import _drop_role_later
from tests.conftest import VaultKit


@dataclass
class Attacker:
    run: Any  # (statement, params) -> None

    def sql(self, statement: str, **params: Any) -> None:
        self.run(statement, params)


@pytest.fixture
def attacker(vault: VaultKit) -> Iterator[Attacker]:
    if vault.backend == "sqlite":
        yield Attacker(lambda statement, params: vault.sql(statement, **params))
        return
    role = f"custodian_app_{uuid.uuid4().hex[:8]}"
    dbname = vault.url.rsplit("/", 1)[1]
    vault.sql(f"CREATE ROLE {role} LOGIN")
    vault.admin.harden_database([role])
    conn = psycopg.connect(f"host=127.0.0.1 port=5432 user={role} dbname={dbname}", autocommit=True)

    def run(statement: str, params: dict[str, Any]) -> None:
        sql = statement
        for name in params:
            sql = sql.replace(f":{name}", f"%({name})s")
        conn.execute(sql, params)  # type: ignore[arg-type]

    try:
        yield Attacker(run)
    finally:
        conn.close()
        vault.sql(f"DROP OWNED BY {role}")
        _drop_role_later(role)


def opens_with(vault: VaultKit, key: KeyPair) -> bool:
    """Whether any wrap or sealed payload in the vault opens with `key`."""
    return _opens(lambda statement: vault.sql(statement), key)


def opens_with_url(url: str, key: KeyPair) -> bool:
    """`opens_with` for the vault at `url`."""
    from sqlalchemy import text

    from custodian.service import Custodian

    vault = Custodian.open(url)
    try:
        with vault.db.engine.begin() as conn:
            return _opens(lambda statement: list(conn.execute(text(statement)).all()), key)
    finally:
        vault.close()


def _opens(rows: Any, key: KeyPair) -> bool:
    for cid, version, kind, recipient, blob in rows(
        "SELECT customer_id, key_version, recipient_kind, recipient_id, wrapped FROM key_wrap"
    ):
        try:
            unwrap(bytes(blob), cid, version, kind, recipient, key)
            return True
        except IntegrityError:
            pass
    for cid, slug, cred, version, kv, blob in rows(
        "SELECT c.customer_id, cu.slug, sv.credential_id, sv.version, sv.key_version,"
        " sv.ciphertext FROM secret_version sv JOIN credential c ON c.id = sv.credential_id"
        " JOIN customer cu ON cu.id = c.customer_id WHERE sv.ciphertext IS NOT NULL"
    ):
        try:
            open_sealed(bytes(blob), key, SecretRef(cid, slug, cred, version, kv).context())
            return True
        except IntegrityError:
            pass
    return False

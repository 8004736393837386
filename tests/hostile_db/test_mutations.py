"""Random database writes against the key directory (issue 17, property-based).

Hypothesis mutates one column of one row of the key, grant, version, technician and vault
tables: to an attacker's public key, to another row's value, to a neighbouring number, or
to NULL. Then honest clients go on working: the admin writes a new version of every
credential, grants and revokes, and a granted technician reveals. The properties:

- nothing any client wrote afterwards opens with the attacker's key;
- every reveal that succeeds returns the value last written (a mutation is harmless or
  it is detected: a rolled-back or substituted version never comes back as current).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from custodian.crypto import KdfParams, KeyPair
from custodian.db.models import Role, SystemKind
from custodian.errors import CustodianError
from custodian.secret import SecretPayload
from custodian.service import ActorSession, Custodian
from tests.conftest import PASS
from tests.hostile_db.hostilekit import opens_with_url

PATHS = ("acme/dc01/admin", "acme/dc01/backup", "globex/sw/enable")
EVIL = KeyPair.generate()

# (table, column, kind): the columns whose values decide who can read what.
COLUMNS = [
    ("customer_key", "public_key", "key"),
    ("customer_key", "version", "int"),
    ("technician", "public_key", "key"),
    ("technician", "role", "role"),
    ("technician", "active", "bool"),
    ("vault_info", "recovery_public_key", "key"),
    ("vault_info", "kdf_iterations", "int"),
    ("org_key", "public_key", "key"),
    ("customer", "current_key_version", "int"),
    ("credential", "current_version", "int"),
    ("secret_version", "version", "int"),
    ("secret_version", "key_version", "int"),
    ("grant", "technician_id", "int"),
    ("grant", "expires_at", "null"),
    ("key_wrap", "recipient_id", "int"),
    ("key_wrap", "key_version", "int"),
    # the log: a writer who drops the append-only triggers first
    ("access_event", "detail", "detail"),
    ("access_event", "actor_id", "int"),
    ("access_event", "signature", "null"),
    ("access_event", "outcome", "outcome"),
    ("log_head", "seq", "int"),
]


class Seed:
    def __init__(self, root: Path) -> None:
        self.path = root / "seed.db"
        vault = Custodian.open(f"sqlite:///{self.path}", create=True)
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        admin.add_technician("bob", Role.TECHNICIAN, PASS)
        admin.add_technician("carol", Role.TECHNICIAN, PASS)
        admin.add_technician("dave", Role.ADMIN, PASS)
        for slug in ("acme", "globex"):
            admin.add_customer(slug, slug.title())
        admin.add_system("acme/dc01", SystemKind.ACTIVE_DIRECTORY)
        admin.add_system("globex/sw", SystemKind.SWITCH)
        for path in PATHS:
            admin.add_credential(path, SecretPayload({"password": f"first {path}"}))
        admin.grant("bob", "acme")
        admin.grant("bob", "globex")
        admin.grant("carol", "globex")
        self.bundles = {
            "admin": admin.export(),
            "bob": vault.unlock("bob", PASS).export(),
        }
        vault.close()


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    return Seed(tmp_path_factory.mktemp("mutations"))


def _mutate(url: str, table: str, column: str, kind: str, row: int, value: int) -> None:
    vault = Custodian.open(url)
    try:
        with vault.db.engine.begin() as conn:
            keys = conn.execute(text(f'SELECT rowid, "{column}" FROM "{table}" ORDER BY rowid'))
            rows = keys.all()
        if not rows:
            return
        rowid, old = rows[row % len(rows)]
        if kind == "key":
            new: object = EVIL.public_key.to_bytes()
        elif kind == "role":
            new = ["admin", "technician", "auditor"][value % 3]
        elif kind == "bool":
            new = value % 2
        elif kind == "null":
            new = None
        elif kind == "detail":  # an event made to grant what it did not
            new = '{"dir":[{"t":"grant","tech":2,"c":1,"until":null}]}'
        elif kind == "outcome":
            new = ["ok", "failed", "denied"][value % 3]
        else:
            new = (old or 0) + (value % 5) - 2
        try:
            with vault.db.engine.begin() as conn:
                for trigger in ("access_event_no_update", "access_event_no_delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
                conn.execute(
                    text(f'UPDATE "{table}" SET "{column}" = :v WHERE rowid = :r'),
                    {"v": new, "r": rowid},
                )
        except DBAPIError:
            pass  # a constraint refuses this mutation: nothing to attack with
    finally:
        vault.close()


def _resume(vault: Custodian, name: str, seed: Seed) -> ActorSession | None:
    """The member's session, or None when the client refuses the vault as it now is."""
    try:
        return vault.resume(name, seed.bundles[name])
    except CustodianError:
        return None


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    column=st.sampled_from(COLUMNS),
    row=st.integers(min_value=0, max_value=20),
    value=st.integers(min_value=0, max_value=20),
)
def test_no_mutation_lets_a_key_outside_the_directory_open_a_secret(
    seed: Seed, tmp_path: Path, column: tuple[str, str, str], row: int, value: int
) -> None:
    table, name, kind = column
    db = tmp_path / f"m-{uuid.uuid4().hex}.db"
    shutil.copyfile(seed.path, db)
    url = f"sqlite:///{db}"
    _mutate(url, table, name, kind, row, value)
    written = {path: f"first {path}" for path in PATHS}
    vault = Custodian.open(url)
    try:
        admin = _resume(vault, "admin", seed)
        for n, path in enumerate(PATHS if admin else ()):
            try:
                admin.set_secret(path, SecretPayload({"password": f"second {n}"}))
                written[path] = f"second {n}"
            except CustodianError:
                pass
        for step in ("grant", "revoke", "demote") if admin else ():
            try:
                if step == "grant":
                    admin.grant("carol", "acme")
                elif step == "revoke":
                    admin.revoke("carol", "globex")
                else:
                    admin.set_role("dave", Role.TECHNICIAN)
            except CustodianError:
                pass
        bob = _resume(vault, "bob", seed)
        for path in PATHS:
            if bob is None:
                break
            try:
                value_seen = bob.reveal(path).reveal()
            except CustodianError:
                continue
            assert value_seen == written[path], f"{path}: a stale or foreign value was served"
    finally:
        vault.close()
    assert not opens_with_url(url, EVIL)
    db.unlink()

"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

- `backend`: "sqlite" or "postgres" (the parameter every fixture below follows).
- `db_url`: an empty database with the schema migrated to head (`sqlite`: a file in
  tmp_path; `postgres`: a fresh database cloned from a per-session template, dropped
  after the test). PostgreSQL tests carry the `postgres` marker; if the server at
  127.0.0.1:5432 is unreachable they FAIL, unless CUSTODIAN_SKIP_PG=1.
- `blank_db_url`: the same, without any schema (migration tests).
- `clock`: a `FakeClock`; `clock.advance(timedelta(...))` instead of sleeping.
- `vault`: a `VaultKit`: a freshly initialized vault (`Custodian.init("admin", PASS,
  kdf=KdfParams.floor())`, done once per session and cloned per test) opened with `clock`,
  its admin unlocked as `vault.admin`, plus helpers (`tech`, `customer`, `sql`, `events`).
  Its database is `vault.url` (not `db_url`, which is a different, empty database).
- `CANARY`, `PASS`, `ADMIN`: import them with `from tests.conftest import CANARY`.

    def test_x(vault):
        path = vault.customer("acme")                  # acme/dc01/admin, nobody granted
        alice = vault.tech("alice")                    # enrolled and unlocked
        vault.admin.grant("alice", "acme")
        assert alice.reveal(path).reveal() == vault.secret
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from custodian.crypto import KdfParams, RecoveryCode
from custodian.db.engine import create_db_engine
from custodian.db.migrate import upgrade
from custodian.db.models import Role, SystemKind
from custodian.secret import SecretPayload
from custodian.service import ActorSession, Custodian

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN_DSN = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres"
SKIP_PG_ENV = "CUSTODIAN_SKIP_PG"

ADMIN = "admin"
PASS = "correct horse battery staple"
CANARY = "CANARY-7f3e9a1c-do-not-leak-5b2d"
SECRET = "S3cret-for-tests!"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pg_url(dbname: str) -> str:
    return f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{dbname}"


# --- PostgreSQL: migrated templates per session, one clone per test --------------------


class PgServer:
    """Creates and drops databases on the local PostgreSQL (autocommit, own connections).

    CREATE DATABASE and DROP DATABASE each cost a checkpoint (about a second on a busy
    machine), so clones are made one ahead and dropped in background threads."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.templates: dict[str, str] = {}
        self._created: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pg-db")
        self._ready: dict[str, list[Future[str]]] = {}

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def reachable(self) -> bool:
        try:
            self._execute("SELECT 1")
        except Exception as exc:  # psycopg.OperationalError and friends
            self.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
            return False
        return True

    def create(self, prefix: str, template: str | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        clause = f" TEMPLATE {template}" if template else ""
        self._execute(f"CREATE DATABASE {name}{clause}")
        with self._lock:
            self._created.add(name)
        return name

    def drop(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        with self._lock:
            self._created.discard(name)

    def template(self, kind: str, build: Callable[[str], None]) -> str:
        """A database built once per session by `build(url)`, to clone from."""
        if kind not in self.templates:
            name = self.create(f"custodian_tmpl_{kind}")
            build(pg_url(name))
            self.templates[kind] = name
        return self.templates[kind]

    def clone(self, template: str) -> str:
        """A fresh copy of `template`; the next one is prepared in the background."""
        queue = self._ready.setdefault(template, [])
        ready = queue.pop(0) if queue else None
        queue.append(self._pool.submit(self.create, "custodian_t", template))
        return ready.result() if ready else self.create("custodian_t", template)

    def release(self, name: str) -> None:
        self._pool.submit(self.drop, name)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for name in sorted(self._created):
            self.drop(name)


def _migrate(url: str) -> None:
    engine = create_db_engine(url, create_dir=True)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class VaultSeed:
    """What a vault template's `init` produced, to resume its admin without Argon2id."""

    admin_bundle: bytes
    recovery: RecoveryCode


def _init_vault(url: str) -> VaultSeed:
    with Custodian.open(url, create=True, clock=FakeClock()) as custodian:
        result = custodian.init(ADMIN, PASS, kdf=KdfParams.floor())
        bundle = custodian.unlock(ADMIN, PASS).export()
    return VaultSeed(bundle, result.recovery_code)


@pytest.fixture(autouse=True)
def _local_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's clients keep their verified log heads (service/trust.py) in a directory
    of its own, inherited by the CLI processes it starts; so do the destruction and
    deletion lists (service/shredding.py), never in the developer's data directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    yield server
    server.close()


def _need_pg(server: PgServer) -> None:
    if server.reachable():
        return
    message = f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable ({server.error})"
    if os.environ.get(SKIP_PG_ENV) == "1":
        pytest.skip(message)
    pytest.fail(f"{message}; start it, or set {SKIP_PG_ENV}=1 to skip PostgreSQL tests")


@pytest.fixture(scope="session")
def pg_vault_seed(pg_server: PgServer) -> VaultSeed:
    seeds: list[VaultSeed] = []
    pg_server.template("vault", lambda url: seeds.append(_init_vault(url)))
    return seeds[0]


# --- SQLite: template files made once per session, copied per test --------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "schema.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def sqlite_vault_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VaultSeed]:
    path = tmp_path_factory.mktemp("sqlite-template") / "vault.db"
    return path, _init_vault(f"sqlite:///{path}")


# --- the database fixtures -------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgres`; tests that take it run once on each."""
    return str(request.param)


def _pg_clone(request: pytest.FixtureRequest, kind: str) -> Iterator[str]:
    server: PgServer = request.getfixturevalue("pg_server")
    _need_pg(server)
    if kind == "vault":
        request.getfixturevalue("pg_vault_seed")
        template = server.templates["vault"]
    else:
        template = server.template("schema", _migrate)
    name = server.clone(template)
    try:
        yield pg_url(name)
    finally:
        server.release(name)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, schema at head, holding no vault yet."""
    if backend == "sqlite":
        path = tmp_path / "vault.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    yield from _pg_clone(request, "schema")


@pytest.fixture
def blank_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database without any schema (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    _need_pg(server)
    name = server.create("custodian_t")
    try:
        yield pg_url(name)
    finally:
        server.release(name)


@pytest.fixture
def vault_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, VaultSeed]]:
    """A database holding a fresh vault (first admin `admin`, passphrase PASS), and its seed."""
    if backend == "sqlite":
        template, seed = request.getfixturevalue("sqlite_vault_template")
        path = tmp_path / "vault.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}", seed
        return
    seed = request.getfixturevalue("pg_vault_seed")
    for url in _pg_clone(request, "vault"):
        yield url, seed


# --- time ------------------------------------------------------------------------------


class FakeClock:
    """A clock for `Custodian(clock=...)`: returns a fixed tz-aware UTC time until advanced."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta = timedelta(seconds=1)) -> datetime:
        self.now = self.now + delta
        return self.now

    def __repr__(self) -> str:
        return f"FakeClock({self.now.isoformat()})"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- a ready vault ---------------------------------------------------------------------


@dataclass
class VaultKit:
    """An initialized vault and helpers. `admin` is the unlocked first admin (`admin`)."""

    vault: Custodian
    url: str
    backend: str
    clock: FakeClock
    recovery: RecoveryCode
    admin: ActorSession
    secret: str = SECRET
    passphrase: str = PASS
    _techs: dict[str, ActorSession] = field(default_factory=dict)

    def tech(self, name: str, role: str = "technician") -> ActorSession:
        """Enrol `name` (passphrase `PASS`) through the admin, and return them unlocked."""
        self.admin.add_technician(name, Role(role), PASS)
        session = self.vault.unlock(name, PASS)
        self._techs[name] = session
        return session

    def customer(
        self,
        slug: str = "acme",
        *,
        system: str = "dc01",
        kind: SystemKind = SystemKind.ACTIVE_DIRECTORY,
        cred: str = "admin",
        secret: str | None = None,
        extra: dict[str, str] | None = None,
        grant: tuple[str, ...] = (),
    ) -> str:
        """Create customer `slug` with one system and one credential (added by the admin,
        who is NOT granted), grant `grant`, and return the credential's path."""
        self.admin.add_customer(slug, f"{slug.title()} Ltd")
        self.admin.add_system(f"{slug}/{system}", kind, host=f"{system}.{slug}.example")
        path = f"{slug}/{system}/{cred}"
        fields = {"password": secret or self.secret, **(extra or {})}
        self.admin.add_credential(path, SecretPayload(fields), username="Administrator")
        for name in grant:
            self.admin.grant(name, slug)
        return path

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run raw SQL on the vault's database in its own transaction; returns the rows."""
        with self.vault.db.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    def events(self) -> list[Any]:
        """Every access_event row, every column, in sequence order."""
        return self.sql("SELECT * FROM access_event ORDER BY seq")


@pytest.fixture
def vault(vault_url: tuple[str, VaultSeed], clock: FakeClock, backend: str) -> Iterator[VaultKit]:
    url, seed = vault_url
    custodian = Custodian.open(url, clock=clock)
    try:
        admin = custodian.resume(ADMIN, seed.admin_bundle)
        yield VaultKit(custodian, url, backend, clock, seed.recovery, admin)
    finally:
        custodian.close()

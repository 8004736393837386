"""Audit-log fixtures. `log_vault`: a vault where bob and carol (technicians, granted
acme) and the admin have produced a few events, built once per backend and copied per
test; sessions are resumed from exported key bundles, so no test pays for Argon2id."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custodian.crypto import KdfParams, RecoveryCode
from custodian.service import Custodian
from tests.audit.auditkit import CUSTOMER_PATH
from tests.conftest import PASS, FakeClock, PgServer, VaultKit, _need_pg, pg_url

USERS = ("admin", "bob", "carol")


@dataclass
class Template:
    url: str
    now: datetime
    recovery: RecoveryCode
    bundles: dict[str, bytes]
    path: Path | None = None
    pg_name: str | None = None


@dataclass
class Templates:
    built: dict[str, Template] = field(default_factory=dict)


_TEMPLATES = Templates()  # one per test session, shared by every conftest that imports it


@pytest.fixture(scope="session")
def audit_templates() -> Templates:
    return _TEMPLATES


def _populate(url: str) -> Template:
    clock = FakeClock()
    vault = Custodian.open(url, create=True, clock=clock)
    try:
        result = vault.init("admin", PASS, kdf=KdfParams.floor())
        kit = VaultKit(vault, url, "", clock, result.recovery_code, vault.unlock("admin", PASS))
        bob, carol = kit.tech("bob"), kit.tech("carol")
        kit.customer("acme", grant=("bob", "carol"))
        for i in range(3):
            clock.advance()
            bob.reveal(CUSTOMER_PATH, reason=f"ticket {i}")
            clock.advance()
            carol.reveal(CUSTOMER_PATH, reason=f"carol {i}")
        bundles = {"admin": kit.admin.export(), "bob": bob.export(), "carol": carol.export()}
        return Template(url, clock.now, result.recovery_code, bundles)
    finally:
        vault.close()


def _template(backend: str, request: pytest.FixtureRequest, store: Templates) -> Template:
    if backend not in store.built:
        if backend == "sqlite":
            path = request.getfixturevalue("tmp_path_factory").mktemp("audit") / "vault.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            store.built[backend] = _populate(f"sqlite:///{path}")
            store.built[backend].path = path
        else:
            server: PgServer = request.getfixturevalue("pg_server")
            _need_pg(server)
            built: list[Template] = []
            name = server.template("audit", lambda url: built.append(_populate(url)))
            store.built[backend] = built[0]
            store.built[backend].pg_name = name
    return store.built[backend]


@pytest.fixture
def log_db(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, audit_templates: Templates
) -> Iterator[tuple[str, Template]]:
    """A private copy of the populated template: (url, template)."""
    t = _template(backend, request, audit_templates)
    if t.path is not None:
        for suffix in ("", "-wal"):
            src = Path(str(t.path) + suffix)
            if src.exists():
                shutil.copyfile(src, tmp_path / f"vault.db{suffix}")
        yield f"sqlite:///{tmp_path / 'vault.db'}", t
        return
    server: PgServer = request.getfixturevalue("pg_server")
    assert t.pg_name is not None
    name = server.clone(t.pg_name)
    try:
        yield pg_url(name), t
    finally:
        server.release(name)


@pytest.fixture
def log_vault(log_db: tuple[str, Template], backend: str) -> Iterator[Any]:
    url, t = log_db
    clock = FakeClock(t.now + timedelta(seconds=1))
    vault = Custodian.open(url, clock=clock)
    try:
        kit = VaultKit(
            vault, url, backend, clock, t.recovery, vault.resume("admin", t.bundles["admin"])
        )
        kit.bob = vault.resume("bob", t.bundles["bob"])  # type: ignore[attr-defined]
        kit.carol = vault.resume("carol", t.bundles["carol"])  # type: ignore[attr-defined]
        yield kit
    finally:
        vault.close()

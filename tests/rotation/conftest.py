"""Fixtures for rotation on the device: real servers on loopback, and a vault whose admin
is granted the customer `acme` (rotation needs a grant, like a reveal).

Rotation tests run on SQLite (`backend` narrowed below); `test_postgres_vault.py` runs the
same rotation with the vault on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custodian.db.models import SystemKind
from custodian.secret import SecretPayload
from custodian.service.rotator import TargetSettings
from tests.conftest import VaultKit

from .directories import SambaDc, Slapd
from .servers import Sshd


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    server = Sshd(tmp_path / "sshd")
    server.root.mkdir()
    (server.root / "ak").mkdir()
    try:
        server.start()
        yield server
    finally:
        server.close()


def linux_system(vault: VaultKit, sshd: Sshd, *, system: str = "web01", **extra: str | int) -> str:
    """`acme/SYSTEM` (kind linux) reaching `sshd`, the admin granted `acme`."""
    if not any(c.slug == "acme" for c in vault.admin.list_customers()):
        vault.admin.add_customer("acme", "Acme Ltd")
        vault.admin.grant("admin", "acme")
    settings = TargetSettings(host=sshd.host, port=sshd.port, host_key=sshd.host_key)
    if extra:
        settings = TargetSettings(**{**vars(settings), **extra})  # type: ignore[arg-type]
    vault.admin.rotator().add_system(f"acme/{system}", SystemKind.LINUX, settings)
    return f"acme/{system}"


def add_cred(vault: VaultKit, path: str, username: str, password: str) -> str:
    vault.admin.add_credential(path, SecretPayload({"password": password}), username=username)
    return path


def current(vault: VaultKit, path: str) -> str:
    return vault.admin.reveal(path).reveal()


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    server = Slapd(tmp_path / "slapd")
    server.root.mkdir()
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def samba(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDc]:
    """One Samba DC for the session (provisioning takes seconds); tests add own users."""
    server = SambaDc(tmp_path_factory.mktemp("samba"))
    try:
        server.start()
        yield server
    finally:
        server.kill()


def directory_system(
    vault: VaultKit, name: str, kind: SystemKind, host: str, port: int | None, **target: str
) -> str:
    if not any(c.slug == "acme" for c in vault.admin.list_customers()):
        vault.admin.add_customer("acme", "Acme Ltd")
        vault.admin.grant("admin", "acme")
    settings = TargetSettings(host=host, port=port, **target)
    vault.admin.rotator().add_system(f"acme/{name}", kind, settings)
    return f"acme/{name}"

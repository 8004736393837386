"""Schema versions: an older vault is refused with a clear message and upgraded only by
`custodian db upgrade`, through the migrations."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic import command

from custodian.cli import main
from custodian.db.engine import create_db_engine, schema_revision
from custodian.db.migrate import _config, head_revision, upgrade
from custodian.errors import UsageError
from custodian.service import Custodian
from tests.conftest import ADMIN, PASS, VaultKit


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CUSTODIAN_"):
            monkeypatch.delenv(name)


def _at(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_db_engine(url, create_dir=True)
    try:
        if down:
            command.downgrade(_config(engine), revision)
        else:
            upgrade(engine, revision)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_db_engine(url)
    try:
        return schema_revision(engine)
    finally:
        engine.dispose()


def _db_upgrade(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--db", url, "db", "upgrade"])
    return code, capsys.readouterr().err


def test_the_head_is_a_later_revision_than_0001() -> None:
    assert head_revision() > "0001"


def test_an_older_schema_is_refused_with_a_clear_message(blank_db_url: str) -> None:
    _at(blank_db_url, "0001")
    with pytest.raises(UsageError) as info:
        Custodian.open(blank_db_url)
    message = str(info.value)
    assert "0001" in message and "custodian db upgrade" in message


def test_db_upgrade_brings_a_0001_database_to_head(
    blank_db_url: str, capsys: pytest.CaptureFixture[str], clock
) -> None:  # type: ignore[no-untyped-def]
    from custodian.crypto import KdfParams

    _at(blank_db_url, "0001")
    code, err = _db_upgrade(blank_db_url, capsys)
    assert code == 0, err
    assert _revision(blank_db_url) == head_revision()
    code, err = _db_upgrade(blank_db_url, capsys)
    assert code == 0 and "already" in err
    with Custodian.open(blank_db_url, create=True, clock=clock) as vault:
        vault.init(ADMIN, PASS, kdf=KdfParams.floor())
        assert vault.unlock(ADMIN, PASS).list_customers() == []


def test_db_upgrade_without_a_vault_says_to_init(
    blank_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _at(blank_db_url, "base")  # connects, creates nothing
    code, err = _db_upgrade(blank_db_url, capsys)
    assert code == 2 and "custodian init" in err
    assert _revision(blank_db_url) is None


def test_a_vault_taken_back_to_0001_is_upgraded_with_its_data(
    vault: VaultKit, capsys: pytest.CaptureFixture[str]
) -> None:
    path = vault.customer("acme", grant=("admin",))
    bundle = vault.admin.export()
    vault.vault.close()
    _at(vault.url, "0001", down=True)
    assert _revision(vault.url) == "0001"
    with pytest.raises(UsageError, match="custodian db upgrade"):
        Custodian.open(vault.url)

    code, err = _db_upgrade(vault.url, capsys)
    assert code == 0, err
    assert "0001" in err and head_revision() in err
    assert _revision(vault.url) == head_revision()
    with Custodian.open(vault.url, clock=vault.clock) as reopened:
        admin = reopened.resume(ADMIN, bundle)
        assert admin.reveal(path).reveal() == vault.secret


def test_the_cli_refuses_an_older_schema_in_one_line(blank_db_url: str) -> None:
    _at(blank_db_url, "0001")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(CUSTODIAN_USER=ADMIN, CUSTODIAN_PASSPHRASE=PASS)
    proc = subprocess.run(
        [sys.executable, "-m", "custodian", "--db", blank_db_url, "customer", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "custodian db upgrade" in lines[0], proc.stderr


def test_schema_head_constant_matches_the_migration_scripts():
    from custodian.db.migrate import scripted_head_revision

    assert head_revision() == scripted_head_revision()

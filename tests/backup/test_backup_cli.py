"""`custodian backup`, `backup verify` and `restore` as processes: exit codes, no traces."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.clikit import run_cli

BACKUP_PASS = "backup passphrase 1"


@pytest.fixture(params=["sqlite"])
def backend(request):  # processes on one database are enough here
    return request.param


def _cli(db: str, *args: str, input: str) -> subprocess.CompletedProcess[str]:
    return run_cli(db, *args, input=input, passphrase="correct horse battery staple")


def test_cli_exit_codes(vault, tmp_path):
    db = vault.url.removeprefix("sqlite:///")
    f = tmp_path / "cli.cbk"
    r = _cli(db, "backup", str(f), "--kdf-seconds", "0", input=BACKUP_PASS + "\n")
    assert r.returncode == 0, r.stderr
    assert oct(f.stat().st_mode & 0o777) == "0o600"
    r = _cli(db, "backup", "verify", str(f), input=BACKUP_PASS + "\n")
    assert r.returncode == 0 and "backup OK" in r.stderr and "credential" in r.stdout
    data = bytearray(f.read_bytes())
    data[-10] ^= 0x01
    f.write_bytes(bytes(data))
    target = tmp_path / "t.db"
    r = _cli(str(target), "restore", str(f), input=BACKUP_PASS + "\n")
    assert r.returncode == 6 and r.stderr.count("\n") == 1 and not target.exists()
    r = _cli(db, "backup", "verify", str(f), input="wrong passphrase\n")
    assert r.returncode == 5


def test_restore_through_the_cli_deletes_again_a_credential_deleted_after_the_backup(
    vault, tmp_path
):
    path = vault.customer("acme", grant=("admin",))
    db = vault.url.removeprefix("sqlite:///")
    f = tmp_path / "before.cbk"
    r = _cli(db, "backup", str(f), "--kdf-seconds", "0", input=BACKUP_PASS + "\n")
    assert r.returncode == 0, r.stderr
    r = _cli(db, "cred", "delete", path, "--yes", input="")
    assert r.returncode == 0, r.stderr
    target = tmp_path / "restored.db"
    r = _cli(str(target), "restore", str(f), input=BACKUP_PASS + "\n")
    assert r.returncode == 0, r.stderr
    assert f"deleted again (on the deletion list): {path}" in r.stderr
    r = _cli(str(target), "get", path, input="")
    assert r.returncode == 3 and "no credential" in r.stderr and path not in r.stdout

"""`custodian backup`, `backup verify` and `restore` as processes: exit codes, no traces."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BACKUP_PASS = "backup passphrase 1"


@pytest.fixture(params=["sqlite"])
def backend(request):  # processes on one database are enough here
    return request.param


def _cli(db: str, *args: str, input: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        CUSTODIAN_DB=db,
        CUSTODIAN_USER="admin",
        CUSTODIAN_PASSPHRASE="correct horse battery staple",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return subprocess.run(
        [sys.executable, "-m", "custodian", *args],
        input=input,
        text=True,
        capture_output=True,
        env=env,
        timeout=120,
        start_new_session=True,
    )


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

"""The CLI on the Vault backend, through real processes (SQLite: the CLI is the subject)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.clikit import run_process
from tests.vault.baokit import BaoServer

PASS = "correct horse battery staple"


class Cli:
    def __init__(self, server: BaoServer, db: Path) -> None:
        self.server, self.db = server, db

    def __call__(
        self, *args: str, input: str | None = None, token: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        full = self.server.env(token)
        full.update(
            CUSTODIAN_DB=str(self.db),
            CUSTODIAN_PASSPHRASE=PASS,
            CUSTODIAN_USER="alice",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            **env,
        )
        return run_process(args, full, input)

    def ok(self, *args: str, input: str | None = None) -> str:
        done = self(*args, input=input)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def cli(bao_factory: Callable[[], BaoServer], tmp_path: Path) -> Cli:
    return Cli(bao_factory(), tmp_path / "vault.db")


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    return done.stderr


def test_init_on_vault_then_the_daily_commands(cli: Cli) -> None:
    cli.ok(
        "init",
        "--admin",
        "alice",
        "--kdf-seconds",
        "0",
        "--backend",
        "vault",
        "--vault-prefix",
        "msp",
    )
    cli.ok("customer", "add", "acme", "--name", "Acme")
    cli.ok("system", "add", "acme/dc01", "--kind", "active-directory")
    cli.ok(
        "cred", "add", "acme/dc01/admin", "--username", "Administrator", input="first-secret-1\n"
    )
    cli.ok("grant", "alice", "acme")
    assert cli.ok("get", "acme/dc01/admin") == "first-secret-1\n"
    kv = cli.server.bao("kv", "get", "-format=json", "-mount=secret", "msp/acme/1")
    assert json.loads(kv.stdout)["data"]["data"] == {"password": "first-secret-1"}
    cli.server.bao("kv", "put", "-mount=secret", "msp/acme/1", "password=from-bao-2")
    history = json.loads(cli.ok("cred", "history", "acme/dc01/admin", "--format", "json"))
    assert [(v["version"], v["created_by"]) for v in history] == [(1, "alice"), (2, "(vault)")]
    assert cli.ok("get", "acme/dc01/admin") == "from-bao-2\n"
    doctor = cli("doctor")
    assert doctor.returncode == 0 and "no drift" in doctor.stderr
    # Back to SQL and to Vault again; piped, so no progress bar: one line each.
    to_sql = cli("migrate", "--to", "sql")
    assert to_sql.returncode == 0 and to_sql.stderr.count("\n") == 1, to_sql.stderr
    assert "moved 2 version(s) of 1 credential(s) to sql" in to_sql.stderr
    assert cli.server.bao("kv", "get", "-mount=secret", "msp/acme/1").returncode != 0
    assert cli.ok("get", "acme/dc01/admin") == "from-bao-2\n"
    cli.ok("migrate", "--to", "vault", "--vault-prefix", "msp2")
    assert cli.ok("get", "acme/dc01/admin", "--version", "1") == "first-secret-1\n"
    assert cli.ok("get", "acme/dc01/admin") == "from-bao-2\n"
    kv = cli.server.bao("kv", "get", "-format=json", "-mount=secret", "msp2/acme/1")
    assert json.loads(kv.stdout)["data"]["data"] == {"password": "from-bao-2"}


def test_cli_failures_are_one_line_with_the_right_exit_code(cli: Cli) -> None:
    cli.ok("init", "--admin", "alice", "--kdf-seconds", "0", "--backend", "vault")
    cli.ok("customer", "add", "acme", "--name", "Acme")
    cli.ok("system", "add", "acme/dc01", "--kind", "other")
    cli.ok("cred", "add", "acme/dc01/admin", input="first-secret-1\n")
    cli.ok("grant", "alice", "acme")
    bad = cli("get", "acme/dc01/admin", token="not-a-real-token")
    assert bad.returncode == 5 and "expired or revoked" in _one_line(bad)
    assert "not-a-real-token" not in bad.stderr
    cli.server.seal()
    sealed = cli("get", "acme/dc01/admin")
    assert sealed.returncode == 1 and _one_line(sealed).strip().endswith("is sealed")
    cli.server.stop()
    down = cli("get", "acme/dc01/admin")
    assert down.returncode == 1 and "cannot reach Vault" in _one_line(down)
    assert cli.server.root_token not in down.stderr


def test_init_refuses_an_unusable_vault_before_creating_anything(cli: Cli, tmp_path: Path) -> None:
    no_addr = cli(
        "init", "--admin", "alice", "--kdf-seconds", "0", "--backend", "vault", VAULT_ADDR=""
    )
    assert no_addr.returncode == 2 and "no Vault address" in _one_line(no_addr)
    wrong_mount = cli(
        "init",
        "--admin",
        "alice",
        "--kdf-seconds",
        "0",
        "--backend",
        "vault",
        "--vault-mount",
        "nothere",
    )
    assert wrong_mount.returncode == 1
    assert "no KV version 2 engine mounted at 'nothere'" in _one_line(wrong_mount)
    cli.server.stop()
    down = cli("init", "--admin", "alice", "--kdf-seconds", "0", "--backend", "vault")
    assert down.returncode == 1 and "cannot reach Vault" in _one_line(down)
    assert not cli.db.exists()

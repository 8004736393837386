"""The lifecycle commands end to end, each as its own process (SQLite)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli.clikit import ADMIN, RECOVERY_LINE, TECH_PASS, Cli

SECRET = "CANARY-lifecycle-cli-never-print"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small vault built through the CLI once: ada (admin), ben granted acme."""
    root = tmp_path_factory.mktemp("lifecycle-cli")
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    c = Cli(str(root / "vault.db"), runtime)
    init = c.run("init", "--admin", ADMIN, "--kdf-seconds", "0")
    code = re.search(RECOVERY_LINE, init.stdout).group(0)
    c.run("tech", "add", "ben", input=TECH_PASS + "\n")
    c.run("customer", "add", "acme", "--name", "Acme Corporation")
    c.run("system", "add", "acme/dc01", "--kind", "active-directory", "--host", "192.0.2.10")
    c.run("system", "add", "acme/sw01", "--kind", "switch")
    c.run(
        "cred", "add", "acme/dc01/administrator", "--username", "Administrator", input=SECRET + "\n"
    )
    c.run(
        "cred",
        "add",
        "acme/sw01/admin",
        "--username",
        "admin",
        "--fields-json",
        input=json.dumps({"password": "switch-pw", "enable": "enable-pw"}),
    )
    c.run("grant", "ben", "acme")
    with sqlite3.connect(root / "vault.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return root / "vault.db", code


@pytest.fixture
def cli(template: tuple[Path, str], tmp_path: Path) -> tuple[Cli, str]:
    """A private copy of the template vault."""
    db, code = template
    shutil.copyfile(db, tmp_path / "vault.db")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    return Cli(str(tmp_path / "vault.db"), runtime), code


def env_with_shred_list(c: Cli, shred_list: Path, user: str = ADMIN) -> dict[str, str]:
    return c.env(user, CUSTODIAN_SHRED_LIST=str(shred_list))


def test_revoke_worklist_and_departure_through_the_cli(cli):
    c, _ = cli
    assert c.run("get", "acme/dc01/administrator", user="ben").stdout == SECRET + "\n"
    c.run("revoke", "ben", "acme")
    rows = c.run("rotation", "list", "--format", "json").json()
    assert [(r["path"], r["technician"], r["cause"]) for r in rows] == [
        ("acme/dc01/administrator", "ben", "seen")
    ]
    table = c.run("rotation", "list", "--customer", "acme").stdout
    assert "seen by ben" in table
    as_csv = list(csv.DictReader(io.StringIO(c.run("rotation", "list", "--format", "csv").stdout)))
    assert as_csv[0]["path"] == "acme/dc01/administrator"
    c.run("cred", "set", "acme/dc01/administrator", "--generate")
    assert c.run("rotation", "list", "--format", "json").json() == []

    c.run("grant", "ben", "acme")
    c.run("get", "acme/sw01/admin", "--field", "enable", user="ben")
    out = c.run("tech", "remove", "ben", "--format", "json")
    assert [r["path"] for r in out.json()] == ["acme/sw01/admin"]
    assert "removed ben" in out.stderr
    assert c.run("get", "acme/sw01/admin", user="ben", expect=5).code == 5
    assert c.run("revoke", "ben", "acme", "--assume-compromised", expect=3).code == 3
    techs = {t["username"]: t["active"] for t in c.run("tech", "list", "--format", "json").json()}
    assert techs == {ADMIN: True, "ben": False}
    assert SECRET not in "".join(r.stdout + r.stderr for r in c.results if r.args[0] != "get")


@pytest.mark.skipif(shutil.which("keepassxc-cli") is None, reason="keepassxc-cli not installed")
def test_offboard_handover_purge_and_certificate_through_the_cli(cli, tmp_path, shred_list):
    c, code = cli
    kdbx, export = tmp_path / "acme.kdbx", tmp_path / "acme.json"
    denied = c.run(
        "customer", "offboard", "acme", "--handover", str(kdbx), "--generate-passphrase", expect=4
    )
    assert "grant" in denied.stderr and not kdbx.exists()
    c.run("grant", ADMIN, "acme", "--until", "1h")
    done = c.run(
        "customer",
        "offboard",
        "acme",
        "--handover",
        str(kdbx),
        "--json",
        str(export),
        "--generate-passphrase",
        "--retention-days",
        "7",
    )
    passphrase = re.search(r"HANDOVER PASSPHRASE \(shown once\): (\S+)", done.stderr).group(1)
    assert done.stdout == ""
    listed = subprocess.run(
        ["keepassxc-cli", "export", "-q", "-f", "csv", str(kdbx)],
        input=passphrase + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = {r["Title"]: (r["Username"], r["Password"]) for r in csv.DictReader(io.StringIO(listed))}
    assert rows == {"administrator": ("Administrator", SECRET), "admin": ("admin", "switch-pw")}
    assert json.loads(export.read_text())["systems"][1]["credentials"][0]["fields"] == {
        "enable": "enable-pw",
        "password": "switch-pw",
    }
    assert c.run("get", "acme/dc01/administrator", expect=4).code == 4  # grants are gone
    customers = c.run("customer", "list", "--format", "json").json()
    assert [(x["slug"], x["status"]) for x in customers] == [("acme", "offboarded")]

    # No terminal and no --yes: refused with a usage error, nothing destroyed.
    refused = c.run("purge", "acme", "--now", expect=2)
    assert "confirmation" in refused.stderr
    assert c.run("purge", expect=0).stderr.strip() == "no customer is due for purge"
    env = env_with_shred_list(c, shred_list)
    c.run("purge", "acme", "--now", "--yes", env=env)
    report = c.run("customer", "report", "acme").stdout
    assert "CERTIFICATE OF DESTRUCTION: acme (Acme Corporation) crypto-shredded" in report
    assert "key_versions 2" in report and "secret_versions 2" in report
    data = c.run("customer", "report", "acme", "--format", "json").json()[0]
    assert data["status"] == "purged" and data["certificate"]["shredded_by"] == ADMIN
    assert json.loads(shred_list.read_text())["slug"] == "acme"
    # The recovery code cannot bring it back.
    gone = c.run("recover", "acme", "--yes", input=code + "\n", expect=3)
    assert "purged" in gone.stderr
    assert SECRET.encode() not in c.files_bytes()


def test_recover_needs_the_code_and_a_confirmation(cli):
    c, code = cli
    no_tty = c.run("recover", "acme", input=code + "\n", expect=2)
    assert "confirmation" in no_tty.stderr
    wrong = "AAAA-" * 12 + "AAAA"
    assert c.run("recover", "acme", "--yes", input=wrong + "\n", expect=5).code == 5
    done = c.run("recover", "acme", "--yes", input=code + "\n")
    assert "RECOVERED" in done.stderr
    assert c.run("get", "acme/dc01/administrator").stdout == SECRET + "\n"
    events = c.run("log", "--format", "json").json()
    assert [e["outcome"] for e in events if e["action"] == "recover"] == ["failed", "ok"]
    assert code not in "".join(r.stdout + r.stderr for r in c.results[1:])


def test_maintenance_and_retention_through_the_cli(cli):
    c, _ = cli
    assert c.run("retention").stdout == "30\n"
    c.run("retention", "90")
    assert c.run("retention").stdout == "90\n"
    assert c.run("retention", "-5", expect=2).code == 2
    out = c.run("maintenance")
    assert "0 lapsed grant(s) ended" in out.stderr
    assert c.run("maintenance", user="ben", expect=4).code == 4

"""Retiring a credential (issue 19): `cred retire PATH [--undo]`. The record stays (its
versions, its log, its reveal); it leaves `cred list` and the rotation worklist, takes
no new version, and comes back with `--undo`. On SQLite and PostgreSQL (`both`)."""

from __future__ import annotations

from typing import Any

from alembic import command

from custodian.db.engine import create_db_engine, resolve_url
from custodian.db.migrate import SCHEMA_HEAD, _config
from tests.cli.clikit import CANARY, CRED, LOCKED, SA, Cli

NEW = "a-value-for-a-retired-credential"


def _paths(cli: Cli, *args: str, user: str = "ada") -> list[str]:
    return [c["path"] for c in cli.run("cred", "list", *args, "--format", "json", user=user).json()]


def _events(cli: Cli, action: str) -> list[dict[str, Any]]:
    return list(cli.run("log", "--action", action, "--format", "json").json())


def test_a_retired_credential_leaves_the_listing_and_comes_back_with_undo(both: Cli) -> None:
    assert CRED in _paths(both, "acme")
    r = both.run("cred", "retire", CRED, user="ben")
    assert r.stdout == "" and r.stderr.startswith(f"retired {CRED} (")
    for user in ("ben", "ada"):
        assert CRED not in _paths(both, user=user)
        assert CRED not in _paths(both, "acme", user=user)
    assert _paths(both, "acme", "--retired") == [CRED]
    assert set(_paths(both, "acme", "--all")) == {CRED, SA}
    listed = both.run("cred", "list", "acme", "--retired", "--format", "json").json()
    assert listed[0]["retired_at"] is not None
    table = both.run("cred", "list", "--all").stdout
    assert "RETIRED_AT" in table.splitlines()[0] and CRED in table
    shown = both.run("cred", "show", CRED).stdout
    assert shown.splitlines()[1].startswith("retired:  ") and "UTC" in shown.splitlines()[1]
    assert both.run("cred", "show", CRED, "--format", "json").json()[0]["credential"]["retired_at"]

    r = both.run("cred", "retire", CRED, "--undo", user="ben")
    assert r.stdout == "" and r.stderr == f"un-retired {CRED}\n"
    assert CRED in _paths(both, "acme")
    assert _paths(both, "acme", "--retired") == []
    assert "retired" not in both.run("cred", "show", CRED).stdout
    assert [(e["actor"], e["target"], e["outcome"]) for e in _events(both, "cred-retire")] == [
        ("ben", CRED, "ok")
    ]
    undone = _events(both, "cred-unretire")
    assert [(e["actor"], e["target"], e["outcome"]) for e in undone] == [("ben", CRED, "ok")]
    assert undone[0]["detail"]["retired_at"]  # when it had been retired
    both.run("log", "verify")


def test_a_retired_credential_is_still_revealed_and_the_reveal_logged(both: Cli) -> None:
    both.run("cred", "retire", CRED)
    assert both.run("get", CRED, user="ben").stdout == CANARY + "\n"
    assert both.run("get", CRED, "--field", "username", user="ben").stdout == "Administrator\n"
    assert len(both.run("cred", "history", CRED, "--format", "json").json()) == 1
    reveals = [
        (e["actor"], e["target"], e["outcome"])
        for e in _events(both, "reveal")
        if e["target"] == CRED
    ]
    assert reveals == [("ben", CRED, "ok")]


def test_no_new_version_of_a_retired_credential_until_it_is_un_retired(both: Cli) -> None:
    both.run("cred", "retire", CRED)
    r = both.run("cred", "set", CRED, input=NEW + "\n", user="ben", expect=2)
    assert r.stderr == (
        f"custodian: {CRED} is retired: un-retire it first with `cred retire {CRED} --undo`\n"
    )
    r = both.run("cred", "set", CRED, "--generate", user="ada", expect=2)
    assert "is retired" in r.stderr
    assert both.run("get", CRED, user="ben").stdout == CANARY + "\n"  # nothing written
    both.run("cred", "retire", CRED, "--undo")
    assert both.run("cred", "set", CRED, input=NEW + "\n", user="ben").stderr == (
        f"stored version 2 of {CRED}\n"
    )
    assert both.run("get", CRED, user="ben").stdout == NEW + "\n"


def test_retiring_twice_or_undoing_an_active_one_is_a_one_line_error(both: Cli) -> None:
    r = both.run("cred", "retire", CRED, "--undo", expect=2)
    assert r.stderr == f"custodian: {CRED} is not retired: nothing to undo\n"
    both.run("cred", "retire", CRED)
    r = both.run("cred", "retire", CRED, expect=2)
    assert r.stderr.startswith(f"custodian: {CRED} is already retired (since 20")
    r = both.run("cred", "retire", "acme/dc01/no-such", expect=3)
    assert "no credential" in r.stderr
    r = both.run("cred", "list", "--retired", "--all", expect=2)
    assert "exclude each other" in r.stderr
    assert [e["outcome"] for e in _events(both, "cred-retire")] == ["ok", "failed"]


def test_an_ungranted_technician_and_the_auditor_are_refused_and_recorded(both: Cli) -> None:
    r = both.run("cred", "retire", LOCKED, user="ben", expect=4)
    assert r.stderr == "custodian: no access to customer 'initech'\n"
    both.run("cred", "retire", "no-such/sys/cred", user="ben", expect=4)  # the same answer
    r = both.run("cred", "retire", CRED, user="dora", expect=4)
    assert "auditors cannot change customer data" in r.stderr
    assert LOCKED in _paths(both, "initech")  # nothing was retired
    assert CRED in _paths(both, "acme")
    refused = [(e["actor"], e["outcome"], e["target"]) for e in _events(both, "cred-retire")]
    assert refused == [
        ("ben", "denied", LOCKED),
        ("ben", "denied", "no-such/sys/cred"),
        ("dora", "denied", CRED),
    ]
    both.run("log", "verify")


def test_the_rotation_worklist_leaves_a_retired_credential_out(both: Cli) -> None:
    both.run("get", CRED, user="ben")
    both.run("get", SA, user="ben")
    both.run("revoke", "ben", "acme")  # what ben saw goes on the worklist
    listed = {e["path"] for e in both.run("rotation", "list", "--format", "json").json()}
    assert {CRED, SA} <= listed
    both.run("cred", "retire", CRED)
    listed = {e["path"] for e in both.run("rotation", "list", "--format", "json").json()}
    assert CRED not in listed and SA in listed
    dry = both.run("rotation", "run", "--customer", "acme", "--dry-run", "--json")
    assert CRED not in dry.stdout and SA in dry.stdout
    both.run("cred", "retire", CRED, "--undo")  # the entry was kept, not dropped
    listed = {e["path"] for e in both.run("rotation", "list", "--format", "json").json()}
    assert CRED in listed


def test_the_password_age_leaves_a_retired_credential_out(both: Cli) -> None:
    both.sql("UPDATE secret_version SET created_at = '2001-01-01 00:00:00'")
    both.sql("UPDATE credential SET updated_at = '2001-01-01 00:00:00'")
    both.run("rotation", "max-age", "active-directory", "30")
    both.run("rotation", "max-age", "database", "30")
    aged = {e["path"] for e in both.run("rotation", "list", "--format", "json").json()}
    assert {CRED, SA} <= aged
    both.run("cred", "retire", CRED)
    aged = {e["path"] for e in both.run("rotation", "list", "--format", "json").json()}
    assert CRED not in aged and SA in aged
    dry = both.run(
        "rotation", "run", "--cause", "age", "--older-than", "30d", "--dry-run", "--json"
    )
    assert CRED not in dry.stdout and SA in dry.stdout


def test_the_customer_report_lists_a_retired_credential_as_retired(both: Cli) -> None:
    both.run("cred", "retire", SA)
    report = both.run("customer", "report", "acme", "--format", "json").json()[0]
    retired = {c["name"]: c["retired_at"] for c in report["credentials"]}
    assert retired["administrator"] is None and retired["sa"] is not None
    table = both.run("customer", "report", "acme").stdout
    assert "RETIRED_AT" in table
    sa_row = [line for line in table.splitlines() if line.startswith("sql01")][-1]
    assert retired["sa"][:10] in sa_row


def test_retire_does_not_work_through_a_server(cli: Cli) -> None:
    env = cli.env("ben")
    del env["CUSTODIAN_DB"]
    env["CUSTODIAN_URL"] = "http://127.0.0.1:9"  # never reached: refused before
    r = cli.run("cred", "retire", CRED, env=env, expect=2)
    assert "does not work through a server" in r.stderr
    assert CRED in _paths(cli, "acme")


def test_a_vault_at_0010_upgrades_to_the_head_with_its_data(both: Cli) -> None:
    """0011 (retired credentials) and 0012 (the passphrase's verifier, set again at the
    next unlock) keep every credential and every account."""
    before = both.run("cred", "list", "--format", "json").json()
    engine = create_db_engine(resolve_url(both.db))
    try:
        command.downgrade(_config(engine), "0010")
    finally:
        engine.dispose()
    r = both.run("cred", "list", expect=2)
    assert "0010" in r.stderr and "custodian db upgrade" in r.stderr
    r = both.run("db", "upgrade")
    assert "0010" in r.stderr and SCHEMA_HEAD in r.stderr
    assert both.sql("SELECT COUNT(*) FROM credential WHERE retired_at IS NULL") == [(4,)]
    assert both.sql("SELECT COUNT(*) FROM technician WHERE login_key IS NOT NULL") == [(0,)]
    assert both.run("cred", "list", "--format", "json").json() == before
    assert both.run("get", CRED, user="ben").stdout == CANARY + "\n"
    ((verifier,),) = both.sql("SELECT login_key FROM technician WHERE username = 'ben'")
    assert verifier is not None and len(bytes(verifier)) == 32
    both.run("cred", "retire", CRED)
    assert CRED not in _paths(both)
    both.run("log", "verify")

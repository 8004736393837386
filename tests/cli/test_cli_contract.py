"""The issue-2 CLI contract, end to end through real processes (docs/cli.md)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.clikit import (
    ADMIN,
    CANARY,
    CRED,
    LOCKED,
    RECOVERY_LINE,
    SA,
    SWITCH,
    TECH_PASS,
    Cli,
    Template,
    check_streams,
    clean_env,
)
from tests.cli.conftest import both_routes, routed_cases

# --- init, technicians, customers, systems ------------------------------------------------


def test_init_prints_the_recovery_code_once_on_stdout(template_vault: Template) -> None:
    init = template_vault.init
    assert re.fullmatch(RECOVERY_LINE + "\n", init.stdout), init.stdout
    code = init.stdout.strip()
    assert "RECOVERY CODE" in init.stderr and code not in init.stderr
    later = "".join(r.stdout + r.stderr for r in template_vault.results[1:])
    assert code not in later


def test_init_refuses_a_database_that_already_holds_a_vault(cli: Cli) -> None:
    r = cli.run("init", "--admin", "eve", "--kdf-seconds", "0", expect=2)
    assert "already holds a vault" in r.stderr and r.stdout == ""


def test_tech_add_and_list(cli: Cli) -> None:
    cli.run("tech", "add", "erin", "--role", "admin", input=TECH_PASS)
    rows = cli.run("tech", "list", "--format", "json").json()
    assert {(t["username"], t["role"]) for t in rows} == {
        (ADMIN, "admin"),
        ("ben", "technician"),
        ("dora", "auditor"),
        ("erin", "admin"),
    }
    table = cli.run("tech", "list").stdout.splitlines()
    assert table[0].split() == ["USERNAME", "ROLE", "ACTIVE", "CREATED_AT"]
    assert len(table) == 5
    # the new technician's stdin passphrase works for them
    assert cli.run("get", SA, user="erin", expect=4).stdout == ""


def test_customer_add_list_show(cli: Cli) -> None:
    rows = cli.run("customer", "list", "--format", "json").json()
    by_slug = {c["slug"]: c for c in rows}
    assert set(by_slug) == {"acme", "globex", "initech"}
    assert by_slug["globex"]["require_reason"] is True
    assert by_slug["acme"]["require_reason"] is False
    assert by_slug["acme"]["credentials"] == 2

    shown = cli.run("customer", "show", "acme", "--format", "json").json()
    assert len(shown) == 1
    detail = shown[0]
    assert detail["customer"]["name"] == "Acme Corporation"
    assert {s["name"]: s["kind"] for s in detail["systems"]} == {
        "dc01": "active-directory",
        "sql01": "database",
    }
    assert [g["technician"] for g in detail["grants"]] == ["ben"]

    text = cli.run("customer", "show", "acme").stdout
    assert text.startswith("acme: Acme Corporation (active); reason required: no")
    assert "192.0.2.10" in text and "ben" in text


@both_routes
def test_system_add_and_list(routed: Cli) -> None:
    routed.run("system", "add", "initech/printer-2f", "--kind", "printer", "--host", "192.0.2.40")
    rows = routed.run("system", "list", "initech", "--format", "json").json()
    assert {(s["name"], s["kind"], s["host"]) for s in rows} == {
        ("fs01", "other", None),
        ("printer-2f", "printer", "192.0.2.40"),
    }


# --- grants ---------------------------------------------------------------------------------


@both_routes
def test_admin_needs_a_grant_to_reveal_and_revoke_ends_it(routed: Cli) -> None:
    assert routed.run("get", CRED, expect=4).stdout == ""
    routed.run("grant", ADMIN, "acme", "--until", "2h")
    assert routed.run("get", CRED).stdout == CANARY + "\n"
    grants = routed.run("customer", "show", "acme", "--format", "json").json()[0]["grants"]
    mine = next(g for g in grants if g["technician"] == ADMIN)
    expires = datetime.fromisoformat(mine["expires_at"])
    assert timedelta(minutes=110) < expires - datetime.now(UTC) <= timedelta(hours=2)

    r = routed.run("revoke", ADMIN, "acme")
    assert "rotated" in r.stderr
    assert routed.run("get", CRED, expect=4).stdout == ""
    assert routed.run("get", CRED, user="ben").stdout == CANARY + "\n"  # others keep access


@both_routes
def test_grant_until_an_iso_date(routed: Cli) -> None:
    routed.run("grant", "dora", "initech", "--until", "2099-12-31")
    grants = routed.run("customer", "show", "initech", "--format", "json").json()[0]["grants"]
    assert [(g["technician"], g["expires_at"][:10]) for g in grants] == [("dora", "2099-12-31")]
    assert routed.run("cred", "list", "initech", "--format", "json", user="dora").json()


def test_grant_cannot_expire_in_the_past(cli: Cli) -> None:
    r = cli.run("grant", "dora", "initech", "--until", "2001-01-01", expect=2)
    assert "past" in r.stderr


# --- credentials ----------------------------------------------------------------------------


@both_routes
def test_get_prints_only_the_value_and_a_newline(routed: Cli) -> None:
    r = routed.run("get", CRED, user="ben")
    assert r.stdout == CANARY + "\n" and r.stderr == ""


@both_routes
def test_get_works_inside_command_substitution(routed: Cli) -> None:
    value = routed.run("get", SA, user="ben").stdout.removesuffix("\n")
    script = 'pw=$("$0" -m custodian get acme/sql01/sa) && printf "[%s]" "$pw"'
    proc = subprocess.run(
        ["sh", "-c", script, sys.executable],
        capture_output=True,
        text=True,
        env=routed.env_for(("get",), "ben"),
        timeout=120,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"[{value}]"


@both_routes
def test_generated_secret_is_strong(routed: Cli) -> None:
    value = routed.run("get", SA, user="ben").stdout.removesuffix("\n")
    assert len(value) >= 24
    assert re.search("[a-z]", value) and re.search("[A-Z]", value) and re.search("[0-9]", value)


@both_routes
def test_fields_json_and_field(routed: Cli) -> None:
    r = routed.run("get", SWITCH, "--field", "enable", "--reason", "TICKET-1", user="ben")
    assert r.stdout == "enable-pw-1\n"
    r = routed.run("get", SWITCH, "--field", "nope", "--reason", "TICKET-1", user="ben", expect=3)
    assert "nope" in r.stderr


@both_routes
def test_cred_set_keeps_history(routed: Cli) -> None:
    r = routed.run("cred", "set", CRED, input="second-value\n")
    assert "version 2" in r.stderr
    # adding one field keeps the others, so it reads the last version: a grant is needed
    routed.run("cred", "set", CRED, "--field", "otp", input="JBSWY3DPEHPK3PXP\n", expect=4)
    routed.run("cred", "set", CRED, "--field", "otp", input="JBSWY3DPEHPK3PXP\n", user="ben")
    # the admin holds no grant: rotating only the password would carry `otp` over unread
    routed.run("cred", "set", CRED, "--generate", expect=4)
    routed.run("cred", "set", CRED, "--generate", user="ben")
    history = routed.run("cred", "history", CRED, "--format", "json").json()
    assert sorted(v["version"] for v in history) == [1, 2, 3, 4]
    assert {tuple(v["fields"]) for v in history if v["version"] >= 3} == {
        ("otp", "password"),
    }
    assert [v["created_by"] for v in sorted(history, key=lambda v: v["version"])] == [
        ADMIN,
        ADMIN,
        "ben",
        "ben",
    ]
    table = routed.run("cred", "history", CRED).stdout.splitlines()
    assert table[0].split()[:2] == ["VERSION", "CREATED_AT"] and len(table) == 5

    ben = dict(user="ben")
    assert routed.run("get", CRED, "--version", "1", **ben).stdout == CANARY + "\n"
    assert routed.run("get", CRED, "--version", "2", **ben).stdout == "second-value\n"
    routed.run("get", CRED, "--field", "otp-seed", **ben, expect=4)  # admins only by default
    routed.run("customer", "edit", "acme", "--otp-seed", "granted")
    assert routed.run("get", CRED, "--field", "otp-seed", **ben).stdout == "JBSWY3DPEHPK3PXP\n"
    assert re.fullmatch(r"[0-9]{6}\n", routed.run("get", CRED, "--field", "otp", **ben).stdout)
    newest = routed.run("get", CRED, **ben).stdout
    assert newest not in (CANARY + "\n", "second-value\n") and len(newest) > 20


@both_routes
def test_cred_replace_drops_other_fields(routed: Cli) -> None:
    routed.run("cred", "set", SWITCH, "--replace", input="only-password\n")
    r = routed.run("get", SWITCH, "--field", "enable", "--reason", "T-2", user="ben", expect=3)
    assert "enable" in r.stderr


@both_routes
def test_cred_list(routed: Cli) -> None:
    rows = routed.run("cred", "list", "--format", "json").json()
    assert {c["path"] for c in rows} == {CRED, SA, SWITCH, LOCKED}
    acme = routed.run("cred", "list", "acme", "--format", "json").json()
    assert {c["path"]: c["username"] for c in acme} == {CRED: "Administrator", SA: "sa"}
    table = routed.run("cred", "list", "acme").stdout.splitlines()
    assert table[0].split()[0] == "PATH" and len(table) == 3


def test_gen_prints_a_secret_without_storing_it(cli: Cli) -> None:
    r = cli.run("gen", "--kind", "printer")
    value = r.stdout.removesuffix("\n")
    assert re.fullmatch("[A-Za-z0-9]{16}", value)
    assert cli.run("cred", "list", "--format", "json").json().__len__() == 4


# --- the log --------------------------------------------------------------------------------


@both_routes
def test_log_filters_and_formats(routed: Cli) -> None:
    routed.run("get", CRED, user="ben")
    routed.run("get", LOCKED, user="ben", expect=4)

    every = routed.run("log", "--format", "json").json()
    seqs = [e["seq"] for e in every]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert {"init", "tech-add", "customer-add", "cred-add", "grant", "reveal"} <= {
        e["action"] for e in every
    }
    reveals = [(e["actor"], e["target"], e["outcome"]) for e in every if e["action"] == "reveal"]
    assert reveals == [("ben", CRED, "ok"), ("ben", LOCKED, "denied")]

    acme = routed.run("log", "--customer", "acme", "--format", "json").json()
    assert acme and all(e["target"].startswith("acme") or "@acme" in e["target"] for e in acme)
    bens = routed.run("log", "--tech", "ben", "--format", "json").json()
    assert bens and all(e["actor"] == "ben" or "ben" in (e["target"] or "") for e in bens)
    assert routed.run("log", "--since", "1h", "--format", "json").json() == every
    assert routed.run("log", "--since", "2099-01-01", "--format", "json").json() == []

    rows = list(csv.DictReader(io.StringIO(routed.run("log", "--format", "csv").stdout)))
    assert [int(r["seq"]) for r in rows] == seqs
    table = routed.run("log").stdout.splitlines()
    assert table[0].split() == ["AT", "ACTOR", "ACTION", "OUTCOME", "TARGET", "REASON"]
    assert len(table) == len(seqs) + 1
    wide = routed.run("log", "--wide").stdout.splitlines()
    assert wide[0].split()[:3] == ["SEQ", "AT", "ACTOR"] and len(wide) == len(seqs) + 1


@both_routes
def test_technician_sees_only_their_own_events(routed: Cli) -> None:
    routed.run("get", CRED, user="ben")
    mine = routed.run("log", "--format", "json", user="ben").json()
    assert mine and all(e["actor"] == "ben" or "ben" in (e["target"] or "") for e in mine)


@pytest.mark.parametrize(
    ("route", "command"),
    routed_cases(
        [
            (["tech", "list"],),
            (["customer", "list"],),
            (["customer", "show", "acme"],),
            (["system", "list", "acme"],),
            (["cred", "list"],),
            (["cred", "history", CRED],),
            (["log"],),
        ],
        lambda case: case[0],
    ),
    ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else None,
)
def test_every_list_command_speaks_json(routed: Cli, command: list[str]) -> None:
    value = routed.run(*command, "--format", "json").json()
    assert isinstance(value, list) and value


# --- exit codes: one stderr line each, never a traceback ------------------------------------

ERRORS = [
    # usage: 2
    (["get", "acme/dc01"], None, ADMIN, 2, "malformed credential path"),
    (["system", "add", "acme", "--kind", "switch"], None, ADMIN, 2, "malformed system path"),
    (["customer", "add", "acme", "--name", "Again"], None, ADMIN, 2, "already exists"),
    (["customer", "add", "Bad Slug", "--name", "x"], None, ADMIN, 2, "invalid customer slug"),
    (["cred", "set", CRED], "", ADMIN, 2, "empty"),
    (["cred", "add", "acme/dc01/blank", "--username", "u"], "\n", ADMIN, 2, "empty"),
    (["cred", "add", "acme/dc01/j", "--fields-json"], "[1]", ADMIN, 2, "JSON object"),
    (["tech", "list", "--no-such-option"], None, ADMIN, 2, "no-such-option"),
    (["cred", "add", "acme/dc01/g", "--generate", "--fields-json"], "{}", ADMIN, 2, "exclude"),
    (["tech", "list", "--format", "xml"], None, ADMIN, 2, "xml"),
    (["system", "add", "acme/x", "--kind", "toaster"], None, ADMIN, 2, "toaster"),
    (["grant", "ben", "initech", "--until", "someday"], None, ADMIN, 2, "invalid time"),
    (["frobnicate"], None, ADMIN, 2, "frobnicate"),
    # not found: 3
    (["customer", "show", "nowhere"], None, ADMIN, 3, "nowhere"),
    (["get", "nowhere/dc01/admin"], None, ADMIN, 3, "nowhere"),
    (["system", "add", "nowhere/dc01", "--kind", "other"], None, ADMIN, 3, "nowhere"),
    (["get", "acme/dc01/missing"], None, "ben", 3, "missing"),
    (["grant", "nobody", "acme"], None, ADMIN, 3, "nobody"),
    # denied: 4
    (["get", LOCKED], None, "ben", 4, "initech"),
    (["get", SWITCH], None, "ben", 4, "reason"),
    (["customer", "add", "umbrella", "--name", "U"], None, "ben", 4, "admin"),
    (["grant", "ben", "initech"], None, "dora", 4, "admin"),
]


@pytest.mark.parametrize(
    ("route", "args", "stdin", "user", "code", "says"),
    routed_cases(ERRORS, lambda e: e[0]),
    ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else None,
)
def test_errors_have_exit_codes_and_one_line(
    routed: Cli, args: list[str], stdin: str | None, user: str, code: int, says: str
) -> None:
    r = routed.run(*args, input=stdin, user=user, expect=code)
    assert r.stdout == ""
    assert says.lower() in r.stderr.lower(), r.stderr


@both_routes
def test_denied_and_failed_attempts_are_logged(routed: Cli) -> None:
    routed.run("get", SWITCH, user="ben", expect=4)
    routed.run("get", LOCKED, user="ben", expect=4)
    routed.run("tech", "list", user="ben", passphrase="wrong passphrase", expect=5)
    events = routed.run("log", "--format", "json").json()
    tail = [(e["actor"], e["action"], e["outcome"], e["target"]) for e in events[-3:]]
    assert tail == [
        ("ben", "reveal", "denied", SWITCH),
        ("ben", "reveal", "denied", LOCKED),
        ("ben", "unlock", "failed", None),
    ]


def test_wrong_passphrase_is_exit_5(cli: Cli) -> None:
    r = cli.run("tech", "list", passphrase="not the passphrase", expect=5)
    assert "authentication failed" in r.stderr and "not the passphrase" not in r.stderr


def test_unknown_user_is_exit_5(cli: Cli) -> None:
    r = cli.run("tech", "list", user="mallory", passphrase="whatever123", expect=5)
    assert "mallory" in r.stderr


def test_no_passphrase_and_no_terminal_is_locked(cli: Cli) -> None:
    env = cli.env(ADMIN)
    del env["CUSTODIAN_PASSPHRASE"]
    r = cli.run("tech", "list", env=env, expect=5)
    assert "locked" in r.stderr and "CUSTODIAN_PASSPHRASE" in r.stderr


def test_tampered_ciphertext_is_an_integrity_failure(cli: Cli) -> None:
    [(row_id, blob)] = cli.sql(
        "SELECT sv.id, sv.ciphertext FROM secret_version sv"
        " JOIN credential c ON c.id = sv.credential_id WHERE c.name = 'administrator'"
    )
    flipped = bytearray(blob)
    flipped[-5] ^= 0x01
    cli.sql("UPDATE secret_version SET ciphertext = ? WHERE id = ?", (bytes(flipped), row_id))
    r = cli.run("get", CRED, user="ben", expect=6)
    assert r.stdout == "" and CANARY not in r.stderr
    last = cli.run("log", "--format", "json").json()[-1]
    assert (last["actor"], last["action"], last["outcome"]) == ("ben", "reveal", "integrity")


def test_a_missing_vault_is_a_usage_error(tmp_path: Path, cli: Cli) -> None:
    env = cli.env(ADMIN) | {"CUSTODIAN_DB": str(tmp_path / "none" / "vault.db")}
    r = cli.run("tech", "list", env=env, expect=2)
    assert "custodian init" in r.stderr


# --- help and internal errors ---------------------------------------------------------------


def test_help_lists_the_commands(cli: Cli) -> None:
    r = cli.run("--help")
    for command in (
        "init",
        "tech",
        "customer",
        "grant",
        "revoke",
        "system",
        "cred",
        "get",
        "log",
        "unlock",
        "lock",
        "passwd",
    ):
        assert re.search(rf"^\s+{command}\b", r.stdout, re.M), command
    assert r.stderr == ""


def test_installed_script_runs(cli: Cli) -> None:
    script = Path(sys.executable).parent / "custodian"
    proc = subprocess.run(
        [str(script), "get", CRED],
        capture_output=True,
        text=True,
        env=cli.env("ben"),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, CANARY + "\n", "")


_BOOM = """
import sys, click
from custodian.cli import cli, main

@cli.command()
def boom():
    raise RuntimeError("internal detail CANARY-internal-9d1")

sys.exit(main(["boom"]))
"""


@pytest.mark.parametrize("debug", [False, True])
def test_internal_error_shows_no_traceback_unless_debugging(cli: Cli, debug: bool) -> None:
    env = clean_env(cli.db, cli.runtime) | ({"CUSTODIAN_DEBUG": "1"} if debug else {})
    proc = subprocess.run(
        [sys.executable, "-c", _BOOM],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    if debug:
        assert "Traceback" in proc.stderr and "RuntimeError" in proc.stderr
        return
    assert proc.stderr == (
        "custodian: internal error (RuntimeError); set CUSTODIAN_DEBUG=1 for details\n"
    )
    assert "CANARY-internal" not in proc.stdout + proc.stderr


def test_check_streams_rejects_a_traceback() -> None:
    from tests.cli.clikit import Result

    with pytest.raises(AssertionError):
        check_streams(Result(("x",), 1, "", "Traceback (most recent call last):\n  ...\n"))
    with pytest.raises(AssertionError):
        check_streams(Result(("x",), 2, "", "custodian: one\ncustodian: two\n"))
    check_streams(Result(("x",), 2, "", "custodian: one line\n"))

"""`custodian tech reset-passphrase NAME`: an admin gives a technician who lost their
passphrase new keys. The new passphrase comes from stdin or a hidden prompt (twice),
never from argv; the old passphrase and the technician's cached sessions stop working."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cli.clikit import (
    ADMIN,
    CANARY,
    CRED,
    TECH_PASS,
    Cli,
    run_in_order,
    run_on_a_terminal,
    session_env,
    unlock_session,
)

NEW = "ben's brand new passphrase"


def test_reset_gives_new_keys_and_ends_the_cached_session(cli: Cli) -> None:
    token = unlock_session(cli)  # ben's cached session, of his old keys
    r = cli.run("tech", "reset-passphrase", "ben", input=NEW + "\n")
    assert r.stdout == ""
    assert r.stderr == (
        "reset ben's passphrase: new keys, 2 key(s) re-wrapped to them;"
        " ben's cached sessions no longer work\n"
    )  # acme and globex

    assert cli.run("get", CRED, env=session_env(cli, token), expect=5).stdout == ""
    cli.run("get", CRED, user="ben", expect=5)  # the old passphrase
    assert cli.run("get", CRED, user="ben", passphrase=NEW).stdout == CANARY + "\n"
    cli.run("get", "initech/fs01/backup", user="ben", passphrase=NEW, expect=4)  # no new grant

    cli.run("log", "verify")  # the reset event binds ben's new signing key
    events = cli.run("log", "--format", "json").json()
    assert [(e["actor"], e["target"]) for e in events if e["action"] == "tech-reset"] == [
        (ADMIN, "ben")
    ]
    assert all(NEW not in r.stdout + r.stderr for r in cli.results)


@pytest.mark.parametrize(
    ("user", "target", "stdin", "code", "says"),
    [
        ("ben", "dora", NEW, 4, "admin"),  # only admins reset
        (ADMIN, ADMIN, NEW, 2, "custodian passwd"),  # your own: passwd
        (ADMIN, "mallory", NEW, 3, "mallory"),
        (ADMIN, "dora", "short", 2, "8 characters"),
        (ADMIN, "dora", "", 2, "empty"),
    ],
)
def test_refusals_change_nothing(
    cli: Cli, user: str, target: str, stdin: str, code: int, says: str
) -> None:
    r = cli.run("tech", "reset-passphrase", target, input=stdin, user=user, expect=code)
    assert says in r.stderr
    if target != "mallory":
        cli.run("customer", "list", user=target)  # still their old passphrase


def test_on_a_terminal_the_new_passphrase_is_asked_twice_hidden(cli: Cli) -> None:
    argv = [sys.executable, "-m", "custodian", "tech", "reset-passphrase", "ben"]
    mismatched = [
        (b"New passphrase for ben: ", NEW.encode()),
        (b"Repeat new passphrase for ben: ", b"a different passphrase"),
    ] * 3  # asked again after a mismatch, three times in all
    code, screen = run_in_order(argv, cli.env(), mismatched)
    assert code == 2 and b"the two entries of the new passphrase for ben differed 3" in screen
    cli.run("get", CRED, user="ben")  # unchanged

    prompts = {
        b"New passphrase for ben: ": NEW.encode(),
        b"Repeat new passphrase for ben: ": b"a different passphrase",
    }

    prompts[b"Repeat new passphrase for ben: "] = NEW.encode()
    code, screen = run_on_a_terminal(argv, cli.env(), prompts)
    assert code == 0, screen
    assert NEW.encode() not in screen and TECH_PASS.encode() not in screen
    assert cli.run("get", CRED, user="ben", passphrase=NEW).stdout == CANARY + "\n"


def test_a_running_agent_stops_serving_after_a_reset(cli: Cli) -> None:
    """A session holding the replaced keys may neither reveal nor sign: the log stays
    verifiable. `custodian` (the installed script) is what reaches the agent."""
    script = str(Path(sys.executable).parent / "custodian")

    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=120,
            start_new_session=True,
        )

    runtime = tempfile.mkdtemp(prefix="crst-")  # a socket path must stay short
    with_pass = cli.env("ben", XDG_RUNTIME_DIR=runtime)
    started = run("unlock", "--ttl", "10m", env=with_pass)
    assert started.returncode == 0 and "session agent pid" in started.stderr, started.stderr
    env = dict(with_pass)
    del env["CUSTODIAN_PASSPHRASE"]
    try:
        assert run("get", CRED, env=env).stdout == CANARY + "\n"  # served by the agent
        cli.run("tech", "reset-passphrase", "ben", input=NEW + "\n")
        refused = run("get", CRED, env=env)
        assert (refused.returncode, refused.stdout) == (5, "")
        assert "replaced" in refused.stderr
        cli.run("log", "verify")  # as the admin: exit 0
    finally:
        run("lock", env=env)
        shutil.rmtree(runtime, ignore_errors=True)

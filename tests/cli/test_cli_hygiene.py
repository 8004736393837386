"""A canary secret, run through the CLI across processes, shows up only where it is asked
for: `get`'s own stdout. Never on stderr, in other output, in the database's clear bytes,
in the access log, or in a process's argv or environment."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import pytest

from tests.cli.clikit import ADMIN, CANARY, CRED, LOCKED, SWITCH, TECH_PASS, Cli, Template

READ_SYSCALL = {"x86_64": 0, "aarch64": 63}


def _leaks(cli: Cli, secret: str) -> list[str]:
    """Where `secret` appears in what the commands printed, `get`'s stdout excepted."""
    found = []
    for r in cli.results:
        assert secret not in " ".join(r.args), f"the test put the secret in argv: {r.args}"
        if secret in r.stderr:
            found.append(f"stderr of {r.args}")
        if secret in r.stdout and r.args[0] != "get":
            found.append(f"stdout of {r.args}")
    return found


def test_canary_appears_only_on_gets_stdout(cli: Cli, template_vault: Template) -> None:
    ben = {"user": "ben"}
    # reveal it, then run it through a new version and every listing and format
    assert cli.run("get", CRED, **ben).stdout == CANARY + "\n"
    cli.run("cred", "set", CRED, input=CANARY + "-v2\n")
    cli.run("cred", "set", SWITCH, "--field", "ssh-key", input=CANARY + "\n", **ben)
    assert cli.run("get", CRED, "--version", "1", **ben).stdout == CANARY + "\n"
    for fmt in ("table", "json"):
        cli.run("cred", "history", CRED, "--format", fmt)
        cli.run("cred", "list", "--format", fmt)
        cli.run("customer", "show", "acme", "--format", fmt)
    for fmt in ("table", "json", "csv", "ndjson"):
        cli.run("log", "--format", fmt)

    # error paths, each fed the canary where a secret would go
    secret_in = CANARY + "\n"
    cli.run("cred", "add", CRED, "--username", "x", input=secret_in, expect=2)  # duplicate
    cli.run("cred", "add", "nowhere/dc01/x", input=secret_in, expect=3)
    cli.run("cred", "set", "acme/dc01", input=secret_in, expect=2)  # malformed
    cli.run("cred", "set", CRED, input=secret_in, user="dora", expect=4)  # auditors cannot
    cli.run("cred", "add", "acme/dc01/j", "--fields-json", input=secret_in, expect=2)
    cli.run(
        "cred",
        "add",
        "acme/dc01/j",
        "--fields-json",
        input=json.dumps({"password": CANARY, "n": 1}),
        expect=2,
    )
    cli.run("tech", "add", "ben", input=secret_in, expect=2)  # duplicate technician
    cli.run("tech", "add", "eve", input=secret_in, passphrase=CANARY, expect=5)
    cli.run("get", CRED, user="eve", passphrase=CANARY, expect=5)  # canary as passphrase
    cli.run("get", SWITCH, "--field", "ssh-key", **ben, expect=4)  # reason missing
    cli.run("get", LOCKED, **ben, expect=4)
    cli.run("get", CRED, "--field", "nope", **ben, expect=3)
    cli.run("get", CRED, "--version", "9", **ben, expect=3)

    leaks = _leaks(cli, CANARY)
    for r in template_vault.results:  # the CLI run that stored the canary first
        if CANARY in r.stdout + r.stderr:
            leaks.append(f"template {r.args}")
    assert leaks == []

    events = cli.sql("SELECT * FROM access_event")
    assert len(events) > 20
    assert CANARY not in repr(events)
    assert CANARY.encode() not in cli.files_bytes()


def _read_syscall(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/syscall") as fh:
            return fh.read().split()
    except OSError:
        return []


def _wait_until_reading_stdin(proc: subprocess.Popen[bytes]) -> None:
    """Block until `proc` sits in read(0, ...): it is waiting for the secret."""
    number = READ_SYSCALL[platform.machine()]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        fields = _read_syscall(proc.pid)
        if fields[:2] == [str(number), "0x0"]:
            return
        time.sleep(0.05)  # polling a child's state, not waiting for time to pass
    raise AssertionError("the process never read its stdin")


@pytest.mark.skipif(platform.machine() not in READ_SYSCALL, reason="read(2) number unknown")
@pytest.mark.parametrize(
    ("args", "user"),
    [
        (["cred", "add", "acme/dc01/stdin-only", "--username", "u"], ADMIN),
        (["cred", "set", CRED], ADMIN),
        (["tech", "add", "fay"], ADMIN),
    ],
    ids=["cred add", "cred set", "tech add"],
)
def test_secret_is_read_from_stdin_never_argv(cli: Cli, args: list[str], user: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env(user),
        start_new_session=True,
    )
    try:
        _wait_until_reading_stdin(proc)
        with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
            argv = fh.read()
        with open(f"/proc/{proc.pid}/environ", "rb") as fh:
            environ = fh.read()
        secret = CANARY + "-stdin" if args[0] == "cred" else TECH_PASS + "-fay"
        out, err = proc.communicate(secret.encode() + b"\n", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert b"custodian" in argv and args[-1].encode() in argv  # it is the right process
    assert secret.encode() not in argv + environ
    assert secret.encode() not in out + err
    if args[0] == "cred":
        assert cli.run("get", args[2], user=ADMIN, expect=4).stdout == ""  # stored, sealed
        assert secret.encode() not in cli.files_bytes()
        cli.run("grant", ADMIN, "acme")
        assert cli.run("get", args[2]).stdout == secret + "\n"
    else:
        # fay unlocks with the passphrase she was given on stdin; she sees no customer yet
        listed = cli.run("cred", "list", "--format", "json", user="fay", passphrase=secret)
        assert listed.json() == []


def test_init_reads_the_passphrase_from_stdin(tmp_path: os.PathLike[str], cli: Cli) -> None:
    fresh = Cli(str(tmp_path / "fresh" / "vault.db"), cli.runtime)
    env = fresh.env(None)
    r = fresh.run(
        "init", "--admin", "gus", "--kdf-seconds", "0", input="gus passphrase 1\n", env=env
    )
    assert "gus passphrase 1" not in r.stdout + r.stderr
    env |= {"CUSTODIAN_USER": "gus", "CUSTODIAN_PASSPHRASE": "gus passphrase 1"}
    assert fresh.run("tech", "list", "--format", "json", env=env).json()[0]["username"] == "gus"

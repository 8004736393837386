"""On a terminal: the passphrase comes from a hidden prompt on the terminal, even while the
secret itself is piped into stdin (`echo ... | custodian cred set ...`)."""

from __future__ import annotations

import sys

from tests.cli.clikit import CRED, TECH_PASS, Cli, run_on_a_terminal


def test_piped_secret_with_the_passphrase_prompted_on_the_terminal(cli: Cli) -> None:
    env = cli.env("ben")
    del env["CUSTODIAN_PASSPHRASE"]
    script = f'printf "%s\\n" piped-new-value | "{sys.executable}" -m custodian cred set {CRED}'
    code, screen = run_on_a_terminal(
        ["/bin/sh", "-c", script], env, {b"Passphrase for ben: ": TECH_PASS.encode()}
    )
    assert code == 0, screen
    assert b"Passphrase for ben: " in screen
    assert TECH_PASS.encode() not in screen  # the prompt does not echo
    assert b"stored version 2" in screen and b"piped-new-value" not in screen

    argv = [sys.executable, "-m", "custodian", "get", CRED]
    code, screen = run_on_a_terminal(argv, env, {b"Passphrase for ben: ": TECH_PASS.encode()})
    assert code == 0, screen
    assert screen.replace(b"\r\n", b"\n").endswith(b"piped-new-value\n")

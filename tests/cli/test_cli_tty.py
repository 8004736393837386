"""On a terminal: the passphrase comes from a hidden prompt on the terminal, even while the
secret itself is piped into stdin (`echo ... | custodian cred set ...`)."""

from __future__ import annotations

import os
import pty
import select
import sys
import time

from clikit import CRED, TECH_PASS, Cli


def _run_on_a_terminal(
    argv: list[str], env: dict[str, str], answers: dict[bytes, bytes]
) -> tuple[int, bytes]:
    """Run `argv` with a pseudo-terminal as its controlling terminal; reply to each prompt
    in `answers` when it appears. Returns (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    seen, pending = b"", dict(answers)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            for prompt in list(pending):
                if prompt in seen:
                    os.write(fd, pending.pop(prompt) + b"\n")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen


def test_piped_secret_with_the_passphrase_prompted_on_the_terminal(cli: Cli) -> None:
    env = cli.env("ben")
    del env["CUSTODIAN_PASSPHRASE"]
    script = f'printf "%s\\n" piped-new-value | "{sys.executable}" -m custodian cred set {CRED}'
    code, screen = _run_on_a_terminal(
        ["/bin/sh", "-c", script], env, {b"Passphrase for ben: ": TECH_PASS.encode()}
    )
    assert code == 0, screen
    assert b"Passphrase for ben: " in screen
    assert TECH_PASS.encode() not in screen  # the prompt does not echo
    assert b"stored version 2" in screen and b"piped-new-value" not in screen

    argv = [sys.executable, "-m", "custodian", "get", CRED]
    code, screen = _run_on_a_terminal(argv, env, {b"Passphrase for ben: ": TECH_PASS.encode()})
    assert code == 0, screen
    assert screen.replace(b"\r\n", b"\n").endswith(b"piped-new-value\n")

"""End-to-end CLI helpers: real `python -m custodian` processes on a vault in tmp_path.

- `Cli` runs one command as its own process with a clean environment (no inherited
  CUSTODIAN_*, no OS keyring, a private XDG_RUNTIME_DIR, no controlling terminal) and
  checks what every command owes its user: no traceback, and exactly one `custodian: ...`
  line on stderr when it fails. Every result is kept, for the secret-hygiene checks.
- `template_vault` (once per session) builds a vault through the CLI itself; `cli` gives
  each test its own copy of it, so tests may change and tamper with their vault freely.
- `unlock_session` / `session_env`: a session exported where no OS keyring exists, and the
  environment that uses it; `run_on_a_terminal`: a command with a pty as its terminal.

    def test_x(cli):
        assert cli.run("get", CRED, user="ben").stdout == CANARY + "\\n"
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANARY = "CANARY-cli-3b9f61d2-never-print-me"
ADMIN = "ada"
ADMIN_PASS = "ada's demo passphrase"
TECH_PASS = "technician passphrase"
CRED = "acme/dc01/administrator"  # holds CANARY; ben is granted acme
SA = "acme/sql01/sa"  # a generated secret
SWITCH = "globex/core-sw/admin"  # fields password + enable; globex requires a reason
LOCKED = "initech/fs01/backup"  # nobody is granted initech
NULL_KEYRING = "keyring.backends.null.Keyring"
RECOVERY_LINE = r"[A-Z2-7]{4}(-[A-Z2-7]{4})+"
TIMEOUT = 120


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def clean_env(db: str, runtime: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        CUSTODIAN_DB=db,
        XDG_RUNTIME_DIR=str(runtime),
        PYTHON_KEYRING_BACKEND=NULL_KEYRING,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run_process(
    args: Sequence[str],
    env: dict[str, str],
    input: str | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """`python -m custodian ARGS` as its own process: no controlling terminal (no prompt
    can appear), stdin empty unless `input` is given, both streams captured."""
    return subprocess.run(
        [sys.executable, "-m", "custodian", *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        start_new_session=True,
    )


def run_cli(
    db: str,
    *args: str,
    input: str | None = None,
    env_extra: dict[str, str] | None = None,
    user: str = "admin",
    passphrase: str = "admin passphrase",
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """One command on the vault at `db` as `user`, passphrase from the environment, in
    the caller's environment minus any CUSTODIAN_* and without the OS keyring."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
    env.update(
        CUSTODIAN_DB=db,
        CUSTODIAN_USER=user,
        CUSTODIAN_PASSPHRASE=passphrase,
        PYTHON_KEYRING_BACKEND=NULL_KEYRING,
        **(env_extra or {}),
    )
    return run_process(args, env, input, timeout)


def check_streams(result: Result) -> None:
    """What every command owes: no traceback; a failure is one line on stderr."""
    assert "Traceback" not in result.stderr + result.stdout, result
    if result.code != 0:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, f"expected one stderr line, got {result.stderr!r}"
        assert lines[0].startswith("custodian: "), lines[0]


# The commands that work through `custodian serve` (docs/server.md). On a routed `Cli`
# (`server` set: tests marked `both_routes`) these go through the server; the rest (an
# admin's setup steps) go to the database, as an operator runs them today.
THROUGH_SERVER: tuple[tuple[str, ...], ...] = (
    ("get",),
    ("ssh-add",),
    ("whoami",),
    ("cred", "add"),
    ("cred", "set"),
    ("cred", "list"),
    ("cred", "history"),
    ("cred", "show"),
    ("cred", "rename"),
    ("cred", "move"),
    ("cred", "edit"),
    ("cred", "delete"),
    ("system", "add"),
    ("system", "rename"),
    ("system", "delete"),
    ("customer", "list"),
    ("log",),
)


def through_server(args: Sequence[str]) -> bool:
    return any(tuple(args[: len(p)]) == p for p in THROUGH_SERVER)


@dataclass
class Cli:
    """Runs `custodian` commands against one vault as `user` (default: the admin);
    with `server` set, the commands `THROUGH_SERVER` names run through that server."""

    db: str
    runtime: Path
    results: list[Result] = field(default_factory=list)
    server: str | None = None  # the URL of a `custodian serve` over this vault

    @property
    def path(self) -> Path:
        return Path(self.db)

    def env(
        self, user: str | None = ADMIN, passphrase: str | None = None, **extra: str
    ) -> dict[str, str]:
        env = clean_env(self.db, self.runtime)
        if user is not None:
            env["CUSTODIAN_USER"] = user
            pw = passphrase if passphrase is not None else _passphrase_of(user)
            if pw:
                env["CUSTODIAN_PASSPHRASE"] = pw
        env.update(extra)
        return env

    def env_for(
        self, args: Sequence[str], user: str | None = ADMIN, passphrase: str | None = None
    ) -> dict[str, str]:
        """The environment `run(*args)` uses: the server's for what goes through it."""
        env = self.env(user, passphrase)
        if self.server is not None and through_server(args):
            del env["CUSTODIAN_DB"]
            env["CUSTODIAN_URL"] = self.server
        return env

    def run(
        self,
        *args: str,
        input: str | None = None,
        user: str | None = ADMIN,
        passphrase: str | None = None,
        expect: int | None = 0,
        env: dict[str, str] | None = None,
    ) -> Result:
        proc = run_process(args, env or self.env_for(args, user, passphrase), input)
        result = Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        self.results.append(result)
        check_streams(result)
        if expect is not None:
            assert result.code == expect, f"exit {result.code}, expected {expect}: {result}"
        return result

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of `statement` (`?` placeholders) on this vault's database, either kind."""
        if self.db.startswith("postgresql"):
            import psycopg

            dsn = self.db.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, autocommit=True) as pg:
                cur = pg.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
                return cur.fetchall() if cur.description else []
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(statement, params).fetchall()
        conn.close()
        return rows

    def files_bytes(self) -> bytes:
        """The vault's bytes on disk: the database file and any WAL beside it."""
        parts = [self.path, Path(self.db + "-wal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())


def _passphrase_of(user: str) -> str:
    return ADMIN_PASS if user == ADMIN else TECH_PASS


@dataclass(frozen=True)
class Template:
    dir: Path
    init: Result
    results: tuple[Result, ...]


def build_template(root: Path) -> Template:
    """A vault built through the CLI: admin ada, technician ben, auditor dora; customers
    acme (ben granted), globex (reason required; ben granted for 7 days), initech (nobody)."""
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    cli = Cli(str(root / "vault.db"), runtime)
    init = populate(cli)
    return Template(root, init, tuple(cli.results))


def populate(cli: Cli) -> Result:
    """Build the template's vault at `cli.db` (SQLite or PostgreSQL); returns `init`."""
    init = cli.run("init", "--admin", ADMIN, "--kdf-seconds", "0")
    cli.run("tech", "add", "ben", input=TECH_PASS + "\n")
    cli.run("tech", "add", "dora", "--role", "auditor", input=TECH_PASS + "\n")
    cli.run("customer", "add", "acme", "--name", "Acme Corporation")
    cli.run("customer", "add", "globex", "--name", "Globex", "--require-reason")
    cli.run("customer", "add", "initech", "--name", "Initech")
    cli.run("system", "add", "acme/dc01", "--kind", "active-directory", "--host", "192.0.2.10")
    cli.run("system", "add", "acme/sql01", "--kind", "database", "--host", "192.0.2.11")
    cli.run(
        "system",
        "add",
        "globex/core-sw",
        "--kind",
        "switch",
        "--host",
        "core-sw.globex.example.invalid",
    )
    cli.run("system", "add", "initech/fs01", "--kind", "other")
    cli.run(
        "cred",
        "add",
        CRED,
        "--username",
        "Administrator",
        "--url",
        "https://dc01.acme.example.invalid",
        input=CANARY + "\n",
    )
    cli.run("cred", "add", SA, "--username", "sa", "--generate")
    cli.run(
        "cred",
        "add",
        SWITCH,
        "--username",
        "admin",
        "--fields-json",
        input=json.dumps({"password": "switch-pw-1", "enable": "enable-pw-1"}),
    )
    cli.run("cred", "add", LOCKED, "--username", "backup", "--generate")
    cli.run("grant", "ben", "acme")
    cli.run("grant", "ben", "globex", "--until", "7d")
    return init


# Sessions where no OS keyring exists: `unlock` prints an export line for the
# environment variable below (part of the CLI's contract, so written out here).
SESSION_ENV = "CUSTODIAN_SESSION"
EXPORT = re.compile(rf"export {SESSION_ENV}=(\S+)\n")


def unlock_session(cli: Cli, user: str = "ben", ttl: str = "15m") -> str:
    r = cli.run("unlock", "--ttl", ttl, "--no-agent", user=user)
    assert "no OS keyring" in r.stderr and "export" in r.stderr
    assert TECH_PASS not in r.stdout + r.stderr
    m = EXPORT.fullmatch(r.stdout)
    assert m, r.stdout
    return m.group(1)


def session_env(cli: Cli, token: str, user: str = "ben") -> dict[str, str]:
    env = cli.env(user)
    del env["CUSTODIAN_PASSPHRASE"]
    env[SESSION_ENV] = token
    return env


def run_on_a_terminal(
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


def run_in_order(
    argv: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """Like `run_on_a_terminal`, but the same prompt may come again: each answer goes to
    the next appearance of its prompt, in order."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    seen, pos, pending = b"", 0, list(answers)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            while pending and (at := seen.find(pending[0][0], pos)) >= 0:
                prompt, answer = pending.pop(0)
                pos = at + len(prompt)
                os.write(fd, answer + b"\n")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen

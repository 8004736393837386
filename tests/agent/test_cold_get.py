"""`custodian get` as a whole process, served by the agent that `custodian unlock` starts:
stdlib-only imports, the same output and exit codes as the full CLI, the access event
recorded, and `lock` ending it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from custodian.agent.names import slot_id
from custodian.crypto import KdfParams
from custodian.db.models import SystemKind
from custodian.location import path_url
from custodian.secret import SecretPayload
from custodian.service import Custodian

PASS = "agent test passphrase"
SECRET = "CANARY-agent-5e1b77-never-logged"
PATH = "acme/dc01/admin"
SCRIPT = str(Path(sys.executable).parent / "custodian")

# What the fast path may not load: the whole point is not paying for these.
HEAVY = (
    "click",
    "sqlalchemy",
    "sqlmodel",
    "cryptography",
    "keyring",
    "platformdirs",
    "custodian.cli",
    "custodian.service",
    "custodian.crypto",
    "custodian.agent.server",
    "custodian.agent.cache",
)


@dataclass
class Env:
    db: str
    runtime: Path
    pids: list[int]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")}
        env.update(
            CUSTODIAN_DB=self.db,
            CUSTODIAN_USER="alice",
            XDG_RUNTIME_DIR=str(self.runtime),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        env.update(extra)
        return env

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCRIPT, *args],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            stdin=subprocess.DEVNULL,
            timeout=120,
            start_new_session=True,
        )

    def unlock(self) -> int:
        r = self.run("unlock", "--ttl", "10m", CUSTODIAN_PASSPHRASE=PASS)
        assert r.returncode == 0, r.stderr
        pid = int(re.search(r"session agent pid (\d+)", r.stderr).group(1))  # type: ignore[union-attr]
        self.pids.append(pid)
        return pid

    @property
    def socket(self) -> str:
        key = slot_id(path_url(self.db), "alice")
        return os.path.join(self.runtime, "custodian", f"agent-{key}.sock")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    db = str(tmp_path / "vault.db")
    with Custodian.open(db, create=True) as vault:
        vault.init("admin", PASS, kdf=KdfParams.floor())
        admin = vault.unlock("admin", PASS)
        from custodian.db.models import Role

        admin.add_technician("alice", Role.TECHNICIAN, PASS)
        for slug in ("acme", "globex"):
            admin.add_customer(slug, slug.title())
            admin.add_system(f"{slug}/dc01", SystemKind.ACTIVE_DIRECTORY)
            admin.add_credential(f"{slug}/dc01/admin", SecretPayload({"password": SECRET}))
        admin.grant("alice", "acme")
    runtime = Path(tempfile.mkdtemp(prefix="cget-"))
    kit = Env(db, runtime, [])
    yield kit
    for pid in kit.pids:  # an agent a failed test left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    subprocess.run(["rm", "-rf", str(runtime)], check=False)


def _reveals(db: str) -> list[tuple[str, str, str]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT actor, outcome, target FROM access_event WHERE action = 'reveal' ORDER BY seq"
        ).fetchall()
    conn.close()
    return [tuple(r) for r in rows]


def _imported(stderr: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^import time:.*\|\s*(\S+)\s*$", stderr, re.M)}


def _gone(pid: int) -> bool:
    """True once `pid` has exited (it is not our child: init reaps it)."""
    for _ in range(600):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        os.sched_yield()
        subprocess.run(["true"], check=False)  # a few ms per round, no timed sleep
    return False


def test_get_through_the_agent_imports_only_the_stdlib(env: Env) -> None:
    env.unlock()
    r = env.run("get", PATH, PYTHONPROFILEIMPORTTIME="1")
    assert (r.returncode, r.stdout) == (0, SECRET + "\n")
    imported = _imported(r.stderr)
    assert "custodian.agent.client" in imported
    heavy = sorted(
        m
        for m in imported
        if m.split(".")[0] in HEAVY or m in HEAVY or any(m.startswith(h + ".") for h in HEAVY)
    )
    assert heavy == [], heavy
    assert _reveals(env.db) == [("alice", "ok", PATH)]  # the agent recorded it
    assert SECRET not in r.stderr


def test_get_without_passphrase_or_session_works_only_through_the_agent(env: Env) -> None:
    r = env.run("get", PATH)
    assert r.returncode == 5 and "locked" in r.stderr  # nothing unlocked yet
    env.unlock()
    r = env.run("--user", "alice", "get", "--field", "password", PATH, "--reason", "T-1")
    assert (r.returncode, r.stdout, r.stderr) == (0, SECRET + "\n", "")
    r = env.run("get", PATH, "--version=1")
    assert (r.returncode, r.stdout) == (0, SECRET + "\n")


ERRORS = [
    (("get", "acme/dc01/nosuch"), 3, "no credential"),
    (("get", "globex/dc01/admin"), 4, "no access"),
    (("get", "nosuch/dc01/admin"), 4, "no access"),
    (("get", "bad-path"), 2, "malformed credential path"),
    (("get", PATH, "--field", "otp"), 3, "no field"),
    (("get", PATH, "--version", "9"), 3, "no version"),
]


def test_agent_errors_match_the_full_cli(env: Env) -> None:
    full = [
        env.run(*args, CUSTODIAN_PASSPHRASE=PASS, CUSTODIAN_NO_AGENT="1") for args, _, _ in ERRORS
    ]
    env.unlock()
    for (args, code, message), slow in zip(ERRORS, full, strict=True):
        fast = env.run(*args, PYTHONPROFILEIMPORTTIME="1")
        assert "click" not in _imported(fast.stderr), args  # answered by the agent
        fast_err = [ln for ln in fast.stderr.splitlines() if not ln.startswith("import time:")]
        assert (fast.returncode, fast.stdout) == (slow.returncode, "") == (code, ""), args
        assert fast_err == slow.stderr.splitlines(), args
        assert len(fast_err) == 1 and message in fast_err[0], args
    assert SECRET not in "".join(r.stderr for r in full)


def test_options_the_fast_path_does_not_know_go_to_the_full_cli(env: Env) -> None:
    env.unlock()
    r = env.run("get", "--help", PYTHONPROFILEIMPORTTIME="1")
    assert r.returncode == 0 and "click" in _imported(r.stderr)
    r = env.run("get", PATH, "--version", "x")
    assert r.returncode == 2 and "--version" in r.stderr


def test_the_agent_holds_no_passphrase_in_argv_or_environment(env: Env) -> None:
    pid = env.unlock()  # with CUSTODIAN_PASSPHRASE set, as automation does
    for name in ("cmdline", "environ"):
        raw = Path(f"/proc/{pid}/{name}").read_bytes()
        assert PASS.encode() not in raw and b"CUSTODIAN_" not in raw, name
    r = env.run("get", PATH)
    assert r.returncode == 0
    leftovers = b"".join(p.read_bytes() for p in env.runtime.rglob("*") if p.is_file())
    assert SECRET.encode() not in leftovers and PASS.encode() not in leftovers


def test_lock_stops_the_agent(env: Env) -> None:
    pid = env.unlock()
    assert os.path.exists(env.socket)
    assert oct(os.stat(env.socket).st_mode & 0o777) == "0o600"
    r = env.run("lock")
    assert r.returncode == 0
    assert not os.path.exists(env.socket)
    assert _gone(pid)
    r = env.run("get", PATH)
    assert r.returncode == 5 and r.stdout == ""


def test_unlock_no_agent_starts_none_and_get_uses_the_session(env: Env) -> None:
    r = env.run("unlock", "--no-agent", CUSTODIAN_PASSPHRASE=PASS)
    assert r.returncode == 0 and "agent" not in r.stderr
    assert not os.path.exists(env.socket)
    token = re.search(r"export CUSTODIAN_SESSION=(\S+)", r.stdout).group(1)  # type: ignore[union-attr]
    r = env.run("get", PATH, CUSTODIAN_SESSION=token)
    assert (r.returncode, r.stdout) == (0, SECRET + "\n")


def test_a_dead_agents_socket_falls_back_to_the_full_cli(env: Env) -> None:
    pid = env.unlock()
    os.kill(pid, signal.SIGKILL)  # no chance to clean up: the socket stays behind
    assert _gone(pid)
    assert os.path.exists(env.socket)
    r = env.run("get", PATH, CUSTODIAN_PASSPHRASE=PASS)
    assert (r.returncode, r.stdout) == (0, SECRET + "\n")

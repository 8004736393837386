"""The session agent in-process, on both databases: it serves reveals through the
service (events recorded, errors mapped to exit codes), expires by the injected clock,
stops on request, and talks only to its own user."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from custodian.agent.client import ask_agent, stop_agent
from custodian.agent.names import agent_socket, runtime_dir, slot_id
from custodian.agent.server import EXPIRED, Agent

from ..conftest import VaultKit


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Short, private: Unix socket paths are limited to 107 bytes.
    base = Path(tempfile.mkdtemp(prefix="cagent-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
    yield base
    for p in sorted(base.rglob("*"), reverse=True):
        p.unlink() if not p.is_dir() else p.rmdir()
    base.rmdir()


class Running:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        agent.bind()
        self.thread = threading.Thread(target=agent.serve, daemon=True)
        self.thread.start()

    def ask(self, **request: object) -> dict[str, object]:
        return ask_agent(self.agent.path, request, timeout=60)

    def join(self) -> None:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


@pytest.fixture
def alice_agent(vault: VaultKit, runtime: Path) -> Iterator[tuple[Running, str]]:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    vault.customer("globex")  # alice has no grant here
    sock = agent_socket(slot_id(vault.url, "alice"))
    running = Running(Agent(alice, sock, vault.clock.now + timedelta(minutes=15), vault.clock))
    yield running, path
    if running.thread.is_alive():
        running.ask(op="stop")
        running.join()


def test_get_reveals_through_the_service_and_records_the_event(
    vault: VaultKit, alice_agent: tuple[Running, str]
) -> None:
    running, path = alice_agent
    before = len(vault.events())
    assert running.ask(op="get", path=path) == {"ok": True, "value": vault.secret}
    assert running.ask(op="get", path=path, version=1)["value"] == vault.secret
    events = vault.events()[before:]
    assert [(e.actor, e.action, e.outcome, e.target) for e in events] == [
        ("alice", "reveal", "ok", path),
        ("alice", "reveal", "ok", path),
    ]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"path": "acme/dc01/nosuch"}, 3),
        ({"path": "globex/dc01/admin"}, 4),
        ({"path": "not-a-path"}, 2),
        ({"path": "acme/dc01/admin", "field": "nosuch"}, 3),
        ({"path": "acme/dc01/admin", "version": "1"}, 2),  # not an int: a bad request
        ({"path": ["acme"]}, 2),
    ],
)
def test_errors_carry_the_cli_exit_code_and_one_line(
    vault: VaultKit, alice_agent: tuple[Running, str], request_: dict[str, object], code: int
) -> None:
    running, _ = alice_agent
    answer = running.ask(op="get", **request_)
    assert answer["ok"] is False and answer["code"] == code
    message = answer["error"]
    assert isinstance(message, str) and "\n" not in message and vault.secret not in message


def test_unknown_requests_are_refused(alice_agent: tuple[Running, str]) -> None:
    running, _ = alice_agent
    assert running.ask(op="exec", cmd="id")["code"] == 2
    with socket.socket(socket.AF_UNIX) as conn:  # not JSON at all
        conn.connect(running.agent.path)
        conn.sendall(b"\x00garbage\n")
        assert b'"code": 2' in conn.recv(4096)


def test_the_agent_expires_by_the_injected_clock(
    vault: VaultKit, alice_agent: tuple[Running, str]
) -> None:
    running, path = alice_agent
    assert running.ask(op="get", path=path)["ok"] is True
    vault.clock.advance(timedelta(minutes=15))
    answer = running.ask(op="get", path=path)
    assert answer == {"ok": False, "fallback": True, "code": 5, "error": EXPIRED}
    running.join()
    assert not os.path.exists(running.agent.path)


def test_stop_removes_the_socket_before_answering(alice_agent: tuple[Running, str]) -> None:
    running, _ = alice_agent
    assert stop_agent(Path(running.agent.path).name[6:-5]) is True
    assert not os.path.exists(running.agent.path)
    running.join()
    assert stop_agent(Path(running.agent.path).name[6:-5]) is False


def test_socket_is_0600_in_a_0700_dir(alice_agent: tuple[Running, str]) -> None:
    running, _ = alice_agent
    sock = os.stat(running.agent.path)
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600
    folder = os.stat(os.path.dirname(running.agent.path))
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()


def test_a_shared_runtime_dir_is_refused(runtime: Path) -> None:
    (runtime / "custodian").mkdir(mode=0o700)
    os.chmod(runtime / "custodian", 0o755)
    with pytest.raises(PermissionError):
        runtime_dir()


def test_the_agent_stops_when_its_socket_is_removed(alice_agent: tuple[Running, str]) -> None:
    running, _ = alice_agent
    os.unlink(running.agent.path)
    running.join()  # noticed at the next idle poll (at most 5 s)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another uid")
def test_another_uid_gets_no_answer_even_through_an_open_socket(
    alice_agent: tuple[Running, str],
) -> None:
    running, path = alice_agent
    # Open up the directory and the socket: only the SO_PEERCRED check is left.
    os.chmod(os.path.dirname(running.agent.path), 0o755)
    os.chmod(running.agent.path, 0o666)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: become nobody and ask for the secret
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                reply = repr(ask_agent(running.agent.path, {"op": "get", "path": path}))
            except Exception as exc:
                reply = f"refused: {type(exc).__name__}"
            os.write(write, reply.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as fh:
        reply = fh.read()
    os.chmod(os.path.dirname(running.agent.path), 0o700)
    assert reply.startswith("refused:"), reply
    assert running.ask(op="ping")["ok"] is True  # still serving its own user

"""The session agent: one unlocked technician session, kept in memory behind a Unix socket.

`custodian unlock` starts it (unless `--no-agent`), the way ssh-agent and gpg-agent
work, so that a `custodian get` needs neither a passphrase nor the half second the full
CLI takes to import: the client side (`custodian.agent.client`) is stdlib only.

- Who can talk to it: the socket lives in the user's private runtime dir (mode 700),
  is created mode 600, and every connection's peer uid (SO_PEERCRED) must be the
  agent's own uid, or it is closed unanswered.
- What it holds: the technician's private keys (the same bundle the session cache
  seals) and the customer keys its reveals opened. Never the passphrase. Core dumps
  and ptrace attachment are turned off where the OS allows.
- What it does: `get` calls `ActorSession.reveal`, so authorization, the access event
  and fail-closed all stay in the service; `ping`; `stop`.
- When it dies: at the session's expiry, on `custodian lock` or `passwd`, on
  SIGTERM/SIGINT/SIGHUP, or within seconds of its socket being removed (a runtime dir
  cleared at logout). It removes its socket on the way out.
- It writes nothing anywhere: no log, no stderr (it runs detached, stderr to /dev/null).

Protocol: one JSON object per connection each way, newline-terminated.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..clock import Clock, utcnow
from ..errors import CustodianError
from ..secret import PRIMARY_FIELD
from .client import ask_agent, stop_agent
from .names import MAX_MESSAGE, agent_socket, slot_id

if TYPE_CHECKING:
    from ..remote import RemoteVault
    from ..secret import Secret
    from ..service import Custodian


class Session(Protocol):
    """What the agent serves: an `ActorSession`, or a `remote.RemoteSession`."""

    username: str

    def reveal(
        self, path: str, *, field: str = ..., reason: str | None = ..., version: int | None = ...
    ) -> Secret: ...


EXPIRED = "the session expired: run `custodian unlock`"
_PEERCRED = struct.Struct("3i")  # pid, uid, gid
_MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes on Linux, with the trailing NUL


class AgentError(CustodianError):
    title = "session agent"


class Agent:
    """Serves one session on the Unix socket `path` until `expires` (by `clock`)."""

    def __init__(self, actor: Session, path: str, expires: datetime, clock: Clock = utcnow) -> None:
        self.actor = actor
        self.path = path
        self.expires = expires
        self.clock = clock
        self._listener: socket.socket | None = None
        self._inode: tuple[int, int] | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"Agent({self.actor!r}, expires={self.expires.isoformat()})"

    def bind(self) -> None:
        """Listen on `path`, replacing a stale socket; the socket is mode 600 from birth."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        listener.listen(16)
        self._listener = listener
        self._inode = _inode(self.path)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def expired(self) -> bool:
        return self.clock() >= self.expires

    def serve(self) -> None:
        """Answer requests one at a time until expiry or `stop`; then remove the socket."""
        assert self._listener is not None, "bind() first"
        try:
            # Expiry ends the loop only when no request waits: one already queued gets the
            # "expired" answer (and falls back), not a reset connection.
            while not self._stopped and self._listener is not None:
                remaining = (self.expires - self.clock()).total_seconds()
                ready, _, _ = select.select([self._listener], [], [], min(max(remaining, 0), 5.0))
                if not ready:
                    if self.expired:
                        break
                    if _inode(self.path) != self._inode:
                        self._inode = None  # socket removed or replaced: not ours to delete
                        break
                    continue
                conn, _ = self._listener.accept()
                with conn:
                    self._handle(conn)
        finally:
            self.close()

    def _shutdown(self) -> None:
        """Stop listening now (the socket is gone before the last answer is sent)."""
        self._stopped = True
        self.close()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            if self._inode is not None and _inode(self.path) == self._inode:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if peer_uid(conn) != os.getuid():
                return  # another user: no answer at all
            request = _read_request(conn)
            answer = self.answer(request) if request is not None else _error(2, "bad request")
            conn.sendall(json.dumps(answer).encode() + b"\n")
        except OSError:
            return  # the client went away; nothing to clean up

    def answer(self, request: dict[str, object]) -> dict[str, object]:
        """The reply to one request (no socket involved: tests call this too)."""
        if self.expired:
            self._shutdown()
            return {"ok": False, "fallback": True, **_error(5, EXPIRED)}
        op = request.get("op")
        if op == "stop":
            self._shutdown()
            return {"ok": True}
        if op == "ping":
            return {
                "ok": True,
                "user": self.actor.username,
                "pid": os.getpid(),
                "expires": self.expires.isoformat(),
            }
        if op == "get":
            return self._get(request)
        return _error(2, "unknown request")

    def _get(self, request: dict[str, object]) -> dict[str, object]:
        path, field = request.get("path"), request.get("field", PRIMARY_FIELD)
        reason, version = request.get("reason"), request.get("version")
        if not (
            isinstance(path, str)
            and isinstance(field, str)
            and (reason is None or isinstance(reason, str))
            and (version is None or (isinstance(version, int) and not isinstance(version, bool)))
        ):
            return _error(2, "bad request")
        try:
            secret = self.actor.reveal(path, field=field, reason=reason, version=version)
        except CustodianError as exc:
            return _error(exc.exit_code, str(exc))
        except Exception as exc:  # never a traceback, never a value: the class name only
            return _error(1, f"internal error in the session agent ({type(exc).__name__})")
        if secret.is_file:  # bytes: the full CLI writes them (`get --out FILE`)
            return _error(2, f"the field {field!r} is a file: write it with --out FILE")
        return {"ok": True, "value": secret.reveal()}


def _error(code: int, message: str) -> dict[str, object]:
    return {"ok": False, "code": code, "error": message}


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (Linux SO_PEERCRED)."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    return int(_PEERCRED.unpack(raw)[1])


def _read_request(conn: socket.socket) -> dict[str, object] | None:
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE:
            return None
    try:
        request = json.loads(data.split(b"\n", 1)[0])
    except (ValueError, UnicodeDecodeError):
        return None
    return request if isinstance(request, dict) else None


# --- starting and stopping the daemon ---------------------------------------------------


def socket_for(vault_url: str, username: str) -> str:
    return agent_socket(slot_id(vault_url, username))


def stop(vault_url: str, username: str) -> bool:
    """Ask the agent for this vault and user to exit; True if one was running."""
    return stop_agent(slot_id(vault_url, username))


def spawn(
    vault_url: str,
    username: str,
    bundle: bytes,
    expires: datetime,
    *,
    server: bool = False,
    timeout: float = 60.0,
) -> int:
    """Start a detached agent holding `bundle` until `expires`; returns its pid once it
    listens. The bundle travels over a pipe, never through argv or the environment, and
    the agent's environment drops every CUSTODIAN_* variable (CUSTODIAN_PASSPHRASE too).
    `server`: `vault_url` is a custodian server's address (`custodian --server`)."""
    stop(vault_url, username)
    if len(socket_for(vault_url, username).encode()) > _MAX_SOCKET_PATH:
        raise AgentError("did not start: the runtime dir's path is too long for a socket")
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian.agent.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd="/",
        env={k: v for k, v in os.environ.items() if not k.startswith("CUSTODIAN_")},
        start_new_session=True,
        close_fds=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    config = {
        "db": vault_url,
        "server": server,
        "user": username,
        "expires": expires.isoformat(),
        "bundle": base64.b64encode(bundle).decode(),
    }
    try:
        proc.stdin.write(json.dumps(config).encode() + b"\n")
        proc.stdin.close()
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline().decode().strip() if ready else ""
    except OSError:
        line = ""
    finally:
        proc.stdout.close()
    if line != "ready":
        if proc.poll() is None:
            proc.kill()
        why = line.removeprefix("error: ") if line.startswith("error: ") else "did not start"
        raise AgentError(f"the session agent {why}")
    return proc.pid


def _harden() -> None:
    """No core dumps, no ptrace by other processes of this user (Linux; best effort)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def _open(url: str, server: bool) -> Custodian | RemoteVault:
    if server:
        from ..remote import RemoteVault

        return RemoteVault(url)
    from ..service import Custodian

    return Custodian.open(url)


def _on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _daemon() -> int:
    """`python -m custodian.agent.server`: read the config from stdin, listen, answer `ready`."""
    _harden()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    out = sys.stdout
    try:
        config = json.loads(sys.stdin.readline())
        bundle = base64.b64decode(config["bundle"])
        expires = datetime.fromisoformat(config["expires"])
        vault = _open(config["db"], bool(config.get("server")))
        actor = vault.resume(config["user"], bundle)
        agent = Agent(actor, socket_for(config["db"], config["user"]), expires)
        agent.bind()
    except CustodianError as exc:
        out.write(f"error: {type(exc).__name__}: {exc}\n")
        return 1
    except Exception as exc:  # the class name only: a message could carry anything
        out.write(f"error: failed ({type(exc).__name__})\n")
        return 1
    out.write("ready\n")
    out.flush()
    out.close()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    try:
        agent.serve()
    finally:
        vault.close()
    return 0


__all__ = ["Agent", "AgentError", "ask_agent", "peer_uid", "socket_for", "spawn", "stop"]

if __name__ == "__main__":
    sys.exit(_daemon())

"""`custodian get` through a running session agent, importing nothing but the stdlib.

A cold `custodian get` that loads the full CLI pays for click, SQLAlchemy and
cryptography (about half a second) before it does anything. When `custodian unlock`
started an agent (`custodian.agent.server`) for this vault and user, `get` only has to
ask it: this module parses the few `get` options, finds the agent's socket, sends one
JSON line and prints the answer. Anything it does not recognise, or no agent, returns None
and the full CLI runs instead, so behaviour never depends on which path ran.

The names it uses have one copy each, shared with the full CLI: the vault's URL in
`custodian.location`, the slot id, runtime dir and socket in `custodian.agent.names`.
"""

from __future__ import annotations

import json
import os
import socket
import sys

from ..location import SERVER_ENV, path_url, raw_db, server_url
from .names import MAX_MESSAGE, NO_AGENT_ENV, PROTOCOL, agent_socket, slot_id

USER_ENV = "CUSTODIAN_USER"


def ask_agent(path: str, request: dict[str, object], timeout: float = 30.0) -> dict[str, object]:
    """Send one request to the agent at `path` and return its answer.
    Raises ConnectionError (or OSError) when no agent listens there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(json.dumps({"v": PROTOCOL, **request}).encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        chunks, size = [], 0
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_MESSAGE:
                raise ConnectionError("the agent's answer is too long")
    answer = json.loads(b"".join(chunks) or b"null")
    if not isinstance(answer, dict):
        raise ConnectionError("the agent sent no answer")
    return answer


def stop_agent(key: str) -> bool:
    """Ask the agent of slot `key` to exit; True if one was running. A stale socket (its
    agent died) is removed. The agent removes its socket before it answers."""
    try:
        path = agent_socket(key, create=False)
        ask_agent(path, {"op": "stop"}, timeout=10)
        return True
    except FileNotFoundError:
        return False
    except ConnectionRefusedError:
        os.unlink(path)
        return False
    except (OSError, ValueError):
        return False


_GLOBAL_OPTS = {"--db": "db", "--user": "user", "-u": "user", "--server": "server"}
_GET_OPTS = {"--field": "field", "--reason": "reason", "--version": "version"}


def parse_get(argv: list[str]) -> dict[str, str] | None:
    """The options of `[--db X | --server URL] [--user U] get PATH [--field F] [--reason R]
    [--version N]`,
    or None for anything else (the full CLI then parses it and reports errors)."""
    found: dict[str, str] = {}
    args = iter(argv)
    stage = "global"
    for arg in args:
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            table = _GLOBAL_OPTS if stage == "global" else _GET_OPTS
            key = table.get(name)
            if key is None or key in found:
                return None
            if not eq:
                following = next(args, None)
                if following is None:
                    return None
                value = following
            found[key] = value
        elif stage == "global" and arg == "get":
            stage = "get"
        elif stage == "get" and "path" not in found:
            found["path"] = arg
        else:
            return None
    if stage != "get" or "path" not in found:
        return None
    if "version" in found and not found["version"].strip().lstrip("+-").isdigit():
        return None  # click reports a non-integer --version
    return found


def try_get(argv: list[str]) -> int | None:
    """Run `get` through the agent; the exit code, or None when the full CLI must run."""
    if os.environ.get(NO_AGENT_ENV) == "1":
        return None
    opts = parse_get(argv)
    if opts is None:
        return None
    try:
        server = opts.get("server") or os.environ.get(SERVER_ENV)
        if server:
            url = server_url(server)  # a ValueError: the full CLI says what is wrong
        else:
            raw = raw_db(opts.get("db"))
            url = raw if "://" in raw else path_url(raw)  # the agent validated its own URL
        user = opts.get("user") or os.environ.get(USER_ENV)
        if not user:
            import getpass

            user = getpass.getuser()
        sock = agent_socket(slot_id(url, user), create=False)
        request: dict[str, object] = {"op": "get", "path": opts["path"]}
        for key in ("field", "reason"):
            if key in opts:
                request[key] = opts[key]
        if "version" in opts:
            request["version"] = int(opts["version"])
        answer = ask_agent(sock, request)
    except (OSError, ValueError):
        return None  # no agent here (or a dead one): the full CLI unlocks as usual
    if answer.get("fallback") is True:
        return None  # the agent is ending (expired or locked): the full CLI decides
    if answer.get("ok") is True and isinstance(answer.get("value"), str):
        try:
            sys.stdout.write(str(answer["value"]) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            return 1
        return 0
    code = answer.get("code")
    message = answer.get("error")
    sys.stderr.write(f"custodian: {message if isinstance(message, str) else 'agent error'}\n")
    return code if isinstance(code, int) and 0 < code < 128 else 1

"""What the session agent and its clients agree on: the slot id, the runtime directory,
the socket path and the protocol's limits. Stdlib only: the `get` fast path imports it.
"""

from __future__ import annotations

import hashlib
import os

NO_AGENT_ENV = "CUSTODIAN_NO_AGENT"  # set to 1: `get` never asks an agent
MAX_MESSAGE = 1 << 20  # one request or answer, bytes
PROTOCOL = 1


def slot_id(vault_url: str, username: str) -> str:
    """The id of one user's cached session for one vault (keyring entry, files, socket)."""
    return hashlib.sha256(f"{vault_url}\0{username}".encode()).hexdigest()[:32]


def runtime_dir(*, create: bool = True) -> str:
    """The user-only directory holding session files and agent sockets (mode 700).
    Raises PermissionError if it exists but is not private to this user."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        root = os.path.join(base, "custodian")
    else:
        # tempfile.gettempdir()'s order, without importing tempfile; the directory made
        # below is checked to be ours and private, so a shared /tmp is safe.
        env = os.environ
        tmp = env.get("TMPDIR") or env.get("TEMP") or env.get("TMP") or "/tmp"  # noqa: S108
        root = os.path.join(tmp, f"custodian-{os.getuid()}")
    if create:
        os.makedirs(root, mode=0o700, exist_ok=True)
    st = os.stat(root)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{root} must be owned by you and private (mode 700)")
    return root


def agent_socket(key: str, *, create: bool = True) -> str:
    """The socket of the agent serving slot `key`."""
    return os.path.join(runtime_dir(create=create), f"agent-{key}.sock")

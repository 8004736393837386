"""A member's local state: the newest log head their client verified and the key
directory replayed up to it (`trust.Trust`), kept between processes.

One file per (vault, database location, member) under $CUSTODIAN_STATE_DIR or the user
state directory, sealed with AES-256-GCM under a key derived from the member's private
keys and bound to the pinned root. A file that is missing, tampered with or of another
root is ignored: the client replays from the root again (slower, never less safe, except
that it no longer remembers how far the log once reached).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from ..crypto import Context, derive_key, open_with_key, seal_with_key
from ..errors import IntegrityError
from .directory import Directory
from .pin import Pin

STATE_DIR_ENV = "CUSTODIAN_STATE_DIR"

Head = tuple[int, bytes, bytes | None]  # seq, hash, signature


class LocalState:
    """Where one member keeps what their client verified of one vault."""

    def __init__(self, pin: Pin, secret: bytes, location: str, member: int) -> None:
        self._key = derive_key(secret, "local state v1")
        self._context = Context.of("local-state", root=pin.encode().hex())
        name = hashlib.sha256(f"{pin.vault_id}\0{location}\0{member}".encode()).hexdigest()
        self._name = name[:32] + ".state"

    def __repr__(self) -> str:
        return f"LocalState({self._name!r})"

    def path(self) -> Path:
        base = os.environ.get(STATE_DIR_ENV)
        if not base:
            import platformdirs

            base = os.path.join(platformdirs.user_state_dir("custodian"), "trust")
        return Path(base) / self._name

    def load(self) -> tuple[Head, Directory] | None:
        try:
            data = json.loads(open_with_key(self.path().read_bytes(), self._key, self._context))
            seq, digest, signature = data["head"]
            head = (
                int(seq),
                bytes.fromhex(digest),
                bytes.fromhex(signature) if signature else None,
            )
            return head, Directory.from_json(data["dir"])
        except (OSError, ValueError, KeyError, TypeError, IntegrityError):
            return None

    def save(self, head: Head, directory: Directory) -> bool:
        """Write atomically (a new file renamed over the old); False if it could not be."""
        seq, digest, signature = head
        data = {
            "head": [seq, digest.hex(), signature.hex() if signature else None],
            "dir": directory.to_json(),
        }
        path = self.path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(seal_with_key(self._key, json.dumps(data).encode(), self._context))
            os.replace(tmp, path)
        except OSError:
            return False
        return True

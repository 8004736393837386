"""Unlocked sessions that outlive one command, without ever storing the passphrase.

`unlock` seals the technician's private-key bundle with a fresh random session key
(`crypto.seal_with_key`, the slot and the expiry bound as its context) into a user-only
file; the session key goes to the OS keyring (`keyring`), or, where none exists, to a
`CUSTODIAN_SESSION=...` line the user exports. Neither half alone opens anything; both
expire together.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..clock import utcnow
from ..errors import IntegrityError
from .client import stop_agent
from .names import runtime_dir as _runtime_dir
from .names import slot_id

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from ..crypto import Context

S_co = TypeVar("S_co", covariant=True)

SESSION_ENV = "CUSTODIAN_SESSION"
KEYRING_SERVICE = "custodian"
DEFAULT_TTL = timedelta(minutes=15)


class NoKeyring(Exception):
    """No usable OS keyring backend on this machine."""


def runtime_dir() -> Path:
    """The user-only directory for session files and agent sockets (see `agent.names`)."""
    return Path(_runtime_dir())


@dataclass(frozen=True)
class SessionSlot:
    """Where one user's session for one vault lives."""

    vault_url: str
    username: str

    @property
    def key_id(self) -> str:
        return slot_id(self.vault_url, self.username)

    @property
    def file(self) -> Path:
        return runtime_dir() / f"session-{self.key_id}"

    def _context(self, expires: str) -> Context:
        from ..crypto import Context

        return Context.of("session", slot=self.key_id, expires=expires)

    def save(
        self, bundle: bytes, ttl: timedelta = DEFAULT_TTL, *, now: datetime | None = None
    ) -> str:
        """Write the sealed bundle; return the session token (key + expiry)."""
        from ..crypto import new_symmetric_key, seal_with_key

        expires = ((now or utcnow()) + ttl).isoformat()
        key = new_symmetric_key()
        blob = seal_with_key(key, bundle, self._context(expires))
        path = self.file
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            record = {"expires": expires, "blob": base64.b64encode(blob).decode()}
            fh.write(json.dumps(record).encode())
        os.replace(tmp, path)
        return base64.urlsafe_b64encode(key).decode().rstrip("=") + "." + expires

    def load(self, token: str, *, now: datetime | None = None) -> bytes | None:
        """The bundle, or None when the session is missing, expired or does not match."""
        from ..crypto import open_with_key

        try:
            key_text, expires = token.split(".", 1)
            if datetime.fromisoformat(expires) <= (now or utcnow()):
                return None
            data = json.loads(self.file.read_bytes())
            if data["expires"] != expires:
                return None
            blob = base64.b64decode(data["blob"])
            key = base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4))
            return open_with_key(blob, key, self._context(expires))
        except (OSError, ValueError, KeyError, IntegrityError):
            return None

    def erase(self) -> bool:
        try:
            self.file.unlink()
            return True
        except FileNotFoundError:
            return False


def keyring_backend() -> KeyringBackend:
    """The usable keyring, or raise `NoKeyring` saying why."""
    import keyring
    from keyring.backends import fail, null

    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        raise NoKeyring("no OS keyring is available here (no Secret Service, Keychain or similar)")
    return backend


def store_token(slot: SessionSlot, token: str) -> None:
    try:
        keyring_backend().set_password(KEYRING_SERVICE, slot.key_id, token)
    except NoKeyring:
        raise
    except Exception as exc:  # keyring's backends raise many types
        raise NoKeyring(f"the OS keyring refused the session ({type(exc).__name__})") from None


def fetch_token(slot: SessionSlot) -> str | None:
    env = os.environ.get(SESSION_ENV)
    if env:
        return env
    if not slot.file.exists():
        return None  # nothing cached: skip the keyring import entirely
    try:
        return keyring_backend().get_password(KEYRING_SERVICE, slot.key_id)
    except Exception:
        return None


def forget(slot: SessionSlot) -> bool:
    """End the session: stop its agent, erase the sealed file and the keyring entry."""
    stopped = stop_agent(slot.key_id)
    erased = slot.erase() or stopped
    # Nothing stored there, or no keyring: nothing to remove.
    with contextlib.suppress(Exception):
        keyring_backend().delete_password(KEYRING_SERVICE, slot.key_id)
    return erased


class Resumable(Protocol[S_co]):
    """A vault a cached session resumes on: a database (`Custodian`) or a server
    (`remote.RemoteVault`), each cached under its own URL."""

    @property
    def url(self) -> str: ...

    def resume(self, username: str, private_bundle: bytes, /) -> S_co: ...


def resume_cached_session(vault: Resumable[S_co], username: str) -> S_co | None:
    """`username`'s session cached by `custodian unlock` for `vault`, or None when there is
    none or it expired. Raises `AuthenticationFailed` when the account changed since."""
    slot = SessionSlot(vault.url, username)
    token = fetch_token(slot)
    bundle = slot.load(token) if token else None
    return vault.resume(username, bundle) if bundle is not None else None

"""Who acts, on which vault: resolved once per command from options and environment."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..agent.cache import SessionSlot, resume_cached_session
from ..clock import utcnow
from ..errors import UsageError
from ..service import ActorSession, Custodian
from ._io import acting_passphrase

USER_ENV = "CUSTODIAN_USER"


@dataclass
class CliContext:
    db: str | None
    user: str | None
    _vault: Custodian | None = field(default=None, repr=False)
    _actor: ActorSession | None = field(default=None, repr=False)

    @property
    def username(self) -> str:
        return self.user or os.environ.get(USER_ENV) or getpass.getuser()

    def vault(self) -> Custodian:
        if self._vault is None:
            self._vault = Custodian.open(self.db)
        return self._vault

    def slot(self) -> SessionSlot:
        return SessionSlot(self.vault().url, self.username)

    def actor(self) -> ActorSession:
        """The acting technician: a cached session if one is valid, else their passphrase."""
        if self._actor is None:
            vault = self.vault()
            self._actor = resume_cached_session(vault, self.username) or vault.unlock(
                self.username, acting_passphrase(self.username)
            )
        return self._actor

    def close(self) -> None:
        if self._vault is not None:
            self._vault.close()


_RELATIVE = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, future: bool) -> datetime:
    """An ISO date/time (UTC if no zone) or a span such as 30m, 12h, 7d, 2w."""
    m = _RELATIVE.fullmatch(text.strip())
    if m:
        span = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        return utcnow() + span if future else utcnow() - span
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"invalid time {text[:40]!r}: use an ISO date such as 2026-12-31, or 30m, 12h, 7d"
        ) from None
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)

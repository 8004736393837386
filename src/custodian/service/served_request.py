"""What a member asks the server for, as both ends parse it: a reveal's request, and the
event a refused request becomes (`Probe`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..paths import CredentialPath
from ..secret import PRIMARY_FIELD
from . import _readpath, inputs

Probe = tuple[str, str | None, str | None]  # a refused request's event: action, target, reason

REVEAL_REQUESTS = ("reveal", "copy")  # what a member may ask the server to hand out


@dataclass(frozen=True)
class RevealRequest:
    path: str
    field: str = PRIMARY_FIELD
    reason: str | None = None
    version: int | None = None
    action: str = "reveal"  # or "copy": the TUI's copy is an access event of its own

    def checked(self) -> tuple[CredentialPath, str | None, str]:
        """The parsed path, the checked reason and the event's target."""
        if self.action not in REVEAL_REQUESTS:
            raise UsageError(f"a reveal's action is one of: {', '.join(REVEAL_REQUESTS)}")
        cp = CredentialPath.parse(self.path)
        reason = inputs.check_text(self.reason, "reason", 500) if self.reason else None
        if self.version is not None and self.version < 1:
            raise UsageError("a version is a number from 1")
        target = str(cp) + (f"#{self.field}" if self.field != PRIMARY_FIELD else "")
        return cp, reason, target

    @property
    def metadata(self) -> bool:
        """A field that may be a credential's metadata (`get --field username`)."""
        return self.field in _readpath.METADATA_FIELDS

    def probe(self) -> Probe:
        _, reason, target = self.checked()
        return "reveal-metadata" if self.metadata else self.action, target, reason

"""`Rotator`: rotation on the device, as `ActorSession.rotator()` hands it out.

A thin facade like `ActorSession` (each method hands its call to one use-case function),
kept apart so the session's facade stays one sitting long: system targets
(`device_targets.py`), the two-phase rotation (`device_rotation.py`), resume after a crash
(`device_resume.py`), the worklist run and drift check (`device_worklist.py`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..db.models import SystemKind
from ..records import SystemInfo
from . import device_resume, device_rotation, device_targets, device_worklist
from .device_rotation import GRACE, Progress, RotationResult
from .device_targets import HostKey, TargetSettings

if TYPE_CHECKING:
    from .actor import Actor


class Rotator:
    """Rotation on the device for one unlocked technician. `Rotator.Target` builds the
    settings `add_system` and `edit_system` take (front ends see no service module)."""

    Target = TargetSettings

    def __init__(self, actor: Actor) -> None:
        self._actor = actor

    def __repr__(self) -> str:
        return f"Rotator({self._actor.username!r})"

    def add_system(
        self, path: str, kind: SystemKind, target: TargetSettings, *, notes: str | None = None
    ) -> SystemInfo:
        """`add_system` with its target settings, in one transaction."""
        return device_targets.add_system(self._actor, path, kind, notes=notes, settings=target)

    def edit_system(self, path: str, target: TargetSettings) -> SystemInfo:
        """Change a system's target settings (None: unchanged; "": cleared)."""
        return device_targets.edit_system(self._actor, path, target)

    def scan_host_key(self, path: str) -> HostKey:
        """The SSH host key the system presents now (to confirm, then store)."""
        return device_targets.scan_host_key(self._actor, path)

    def rotate(
        self, path: str, *, reason: str | None = None, progress: Progress | None = None
    ) -> RotationResult:
        """Change the secret on the device, verify it, then make it current."""
        return device_rotation.rotate(self._actor, path, reason=reason, progress=progress)

    def resume(self, *, slug: str | None = None, grace: timedelta = GRACE) -> list[RotationResult]:
        """Settle the pending rotations older than `grace`."""
        return device_resume.resume(self._actor, slug=slug, grace=grace)

    def run(
        self,
        *,
        slug: str | None = None,
        cause: str | None = None,
        technician: str | None = None,
        every: bool = False,
        older_than: timedelta = device_worklist.AGE,
        reason: str | None = None,
        dry_run: bool = False,
        concurrency: int = 1,
        progress: Progress | None = None,
    ) -> list[RotationResult]:
        """Rotate what the worklist holds (of one customer, one cause, seen by one
        technician), or with `every` all of `slug`'s credentials."""
        return device_worklist.run(
            self._actor,
            slug=slug,
            cause=cause,
            technician=technician,
            every=every,
            older_than=older_than,
            reason=reason,
            dry_run=dry_run,
            concurrency=concurrency,
            progress=progress,
        )

    def verify(
        self, *, slug: str | None = None, progress: Progress | None = None
    ) -> list[RotationResult]:
        """Does each stored secret still log in? `drift`: changed outside custodian."""
        return device_worklist.verify(self._actor, slug=slug, progress=progress)

"""Service capabilities that arrive with other parts of custodian (audit review,
lifecycle). The TUI shows a screen or badge only when the service offers the method,
and only to roles the service allows, so that no screen fakes what the service lacks
and no refused call lands in the access log just because a screen opened."""

from __future__ import annotations

from custodian import ActorSession, Role

READERS = (Role.ADMIN, Role.AUDITOR)


def offers(actor: ActorSession | None, method: str) -> bool:
    return actor is not None and callable(getattr(actor, method, None))


def rotation_due(actor: ActorSession) -> frozenset[str] | None:
    """Credential paths on the rotation worklist, or None when it is not available to
    this actor (the service offers it to admins and auditors)."""
    if actor.role not in READERS or not offers(actor, "rotation_list"):
        return None
    entries = actor.rotation_list()
    return frozenset(e.path for e in entries)

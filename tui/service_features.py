"""Service capabilities that not every session offers: a server's session offers fewer
than a database's, and audit review and lifecycle arrived with other parts. The TUI
shows a screen, an action or a badge only when the session offers the method, and only
to roles the service allows, so that no screen fakes what the service lacks and no
refused call lands in the access log just because a screen opened."""

from __future__ import annotations

from custodian import ActorSession, Role

READERS = (Role.ADMIN, Role.AUDITOR)


# What each action and screen needs from the session. A server's session (`custodian
# serve`, `custodian.remote`) offers a subset of a database's: what it lacks is hidden.
NEEDS: dict[str, tuple[str, ...]] = {
    "history": ("history",),
    "show": ("show_credential",),
    "edit": ("edit", "show_credential"),
    "edit_system": ("edit", "show_customer", "show_credential"),
    "delete": ("delete",),
    "delete_system": ("delete",),
    "retire": ("retire_credential",),
    "rotate": ("rotator",),
    "worklist": ("rotation_list",),
    "log": ("iter_events",),
    "admin": ("list_technicians", "add_technician", "grant", "revoke"),
}


def offers(actor: ActorSession | None, method: str) -> bool:
    return actor is not None and callable(getattr(actor, method, None))


def can(actor: ActorSession | None, what: str) -> bool:
    """Whether the session offers everything the action or screen `what` calls."""
    return actor is not None and all(offers(actor, m) for m in NEEDS.get(what, ()))


def rotation_due(actor: ActorSession) -> frozenset[str] | None:
    """Credential paths on the rotation worklist, or None when it is not available to
    this actor (the service offers it to admins and auditors)."""
    if actor.role not in READERS or not offers(actor, "rotation_list"):
        return None
    entries = actor.rotation_list()
    return frozenset(e.path for e in entries)

"""`cred delete` and `system delete` through the server (admins), by database mode's
rules and destruction (`policy.role_refusal`, `deletion.delete_in`): the versions'
payloads destroyed, the rows deleted with `secure_delete`, the file rewritten after
(`after_shred`) and the deletion mirrored outside the database, as `deletion.delete`
does.

As with a change (`served_admin`), the prepare deletes in a transaction it rolls back
and returns the event to sign, with the key-directory changes (`uncred`) the deletion
makes; the client checks that they are the deletion it asked for (`check_delete`) and
signs it, and the commit deletes again and appends the signed event in one
transaction. The server serves only stores inside the database (`Served` refuses the
others), so the rollback undoes the destruction too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from ..audit.append import EventDraft, SigningHead, append_presigned
from ..db.models import Role
from ..errors import AccessDenied, CustodianError, IntegrityError, NotFound
from . import policy
from .deletion import Deleted, delete_in, deletion_target
from .directory import uncred_change
from .member import Member
from .served import Account, Login, Probe, Refusal
from .served_admin import _since
from .served_write import writable_customer
from .shredding import after_shred, secure_delete

if TYPE_CHECKING:
    from .served import Served

DELETE_PROBE: Probe = ("delete", None, None)  # a member who is no admin (`require_role`)


@dataclass(frozen=True)
class PreparedDelete:
    events: list[Any]
    head: SigningHead
    at: datetime
    event: EventDraft | None  # None: refused
    refusal: Refusal | None = None


def delete_probe(path: str, role: Role) -> Probe:
    """What the event of a refused deletion names, as database mode records it."""
    if policy.role_refusal("delete", role, Role.ADMIN) is not None:
        return DELETE_PROBE
    action, target = deletion_target(path)
    return action, target, None


class _Undone(Exception):
    def __init__(self, prepared: PreparedDelete) -> None:
        self.prepared = prepared


def prepare_delete(served: Served, login: Login, path: str, start: int) -> PreparedDelete:
    """The deletion made and undone: the event the client is to sign."""
    deletion_target(path)
    try:
        with served.vault.db.transaction() as tx, secure_delete(tx):
            member = served.logged_in(tx, login)
            event: EventDraft | None = None
            refusal: Refusal | None = None
            try:
                event = _delete(served, tx, member, path)[0]
            except (AccessDenied, NotFound) as exc:
                refusal = Refusal(exc, {})
            events, head = _since(served, tx, start)
            raise _Undone(PreparedDelete(events, head, served.vault.clock(), event, refusal))
    except _Undone as undone:
        return undone.prepared


def commit_delete(
    served: Served, login: Login, path: str, at: datetime, head: SigningHead, signature: bytes
) -> dict[str, int]:
    """Delete and append the event the client signed, in one transaction; then rewrite
    the file and mirror the deletion (`deletion.delete`'s order). What was destroyed."""
    served.check_time(at)
    with served.vault.db.transaction() as tx, secure_delete(tx):
        member = served.logged_in(tx, login)
        draft, deleted = _delete(served, tx, member, path)
        append_presigned(tx, draft, at, head, member.signing_key, signature)
    after_shred(served.vault)
    deleted.mirror()
    return deleted.counts


def record_delete_refusal(
    served: Served, login: Login, path: str, at: datetime, head: SigningHead, signature: bytes
) -> CustodianError:
    """Append the refusal of a deletion the client signed (`Served.record_refused`)."""
    with served.vault.db.transaction() as tx:
        role = served.logged_in(tx, login).role
    return served.record_refused(
        login,
        lambda tx, member, _f: _delete(served, tx, member, path),
        delete_probe(path, role),
        "the deletion",
        at,
        head,
        signature,
    )


def _delete(served: Served, tx: Session, member: Account, path: str) -> tuple[EventDraft, Deleted]:
    refusal = policy.role_refusal("delete", member.role, Role.ADMIN)
    if refusal is not None:
        raise refusal
    action, target = deletion_target(path)
    now = served.vault.clock()
    customer, _ = writable_customer(tx, member, target.split("/")[0], now)
    changes: list[dict[str, object]] = []
    store = served.vault.store
    deleted = delete_in(tx, store, customer, target, changes.append, member.username, now)
    return delete_event(action, deleted.fields(), changes, member.username, member.id), deleted


def delete_event(
    action: str,
    fields: dict[str, Any],
    changes: list[dict[str, object]],
    username: str,
    member: int,
) -> EventDraft:
    """A deletion's event, as `Actor.record` writes it (the changes in its detail)."""
    detail = dict(fields["detail"])
    if changes:
        detail["dir"] = changes
    return EventDraft(action, "ok", username, member, **{**fields, "detail": detail})


def check_delete(member: Member, path: str, event: EventDraft) -> None:
    """The event the server would append must be the deletion asked for: its action and
    path, and a directory change (`uncred`) for each credential it destroys, each the
    customer's in the verified directory (before this client signs it)."""
    action, target = deletion_target(path)
    if not _is_deletion(member, action, target, event):
        raise IntegrityError(f"the server prepared another deletion than the one asked ({target})")


def _is_deletion(member: Member, action: str, target: str, event: EventDraft) -> bool:
    detail = event.detail or {}
    destroyed, changes = detail.get("destroyed"), detail.get("dir", [])
    customer = event.customer_id
    if (
        event.action != action
        or event.target != target
        or event.outcome != "ok"
        or customer is None
        or not set(detail) <= {"destroyed", "dir"}
        or not isinstance(destroyed, dict)
        or not all(isinstance(n, int) for n in destroyed.values())
        or not isinstance(changes, list)
        or destroyed.get("credentials") != len(changes)
    ):
        return False
    creds = member.trust.view().creds
    ids: list[int] = []
    for change in changes:
        found = change.get("id") if isinstance(change, dict) else None
        if not isinstance(found, int) or change != uncred_change(customer, found):
            return False
        if creds.get(found, (None,))[0] != customer or found in ids:
            return False
        ids.append(found)
    if action == "cred-delete":
        return ids == [event.credential_id]
    return event.credential_id is None

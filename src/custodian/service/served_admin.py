"""`cred history`, `cred show` and the everyday changes (`cred rename|move|edit`,
`system rename`) through the server, by the rules of database mode: the same functions
(`credential_admin.credential_detail`, `credential_edit`, `system_edit`) on the
customer the member may see or change (`served_read`, `served_write`).

A read is metadata: the server answers it at once, and the client checks what decides
trust (the credential's customer and versions) against the key directory it verified
and builds who can open it from that directory itself (`member_admin`). A change is
metadata too, so the server builds it in a transaction it rolls back and returns the
event it would append; the client checks that event against what it asked and signs
it, and `commit_edit` makes the change again and appends the signed event, in one
transaction. A refusal of either is signed by the client and recorded as a reveal's is
(`Served.record_refused`), with the action and target `probes.recorded` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from ..audit.append import EventDraft, SigningHead, append_presigned, signing_head
from ..errors import AccessDenied, CustodianError, NotFound, UsageError
from ..paths import CredentialPath, SystemPath
from ..records import CredentialDetail, CredentialEdit, SystemEdit
from .credential_admin import Edited, credential_detail, credential_edit, system_edit
from .served import MAX_EVENTS, Account, Login, Probe, Refusal
from .served_read import _visible
from .served_write import writable_customer

if TYPE_CHECKING:
    from .served import Served

READS = ("history", "show")


@dataclass(frozen=True)
class CredentialRead:
    """`cred history` or `cred show` as the server found it, or the refusal to sign;
    either way with the log since the client's head up to the head it was read at."""

    events: list[Any]
    head: SigningHead
    at: datetime
    detail: CredentialDetail | None  # who can open it: left for the client
    customer_id: int | None = None
    credential_id: int | None = None
    refusal: Refusal | None = None


def read_probe(what: str, path: str) -> Probe:
    """What the event of a refused `cred history|show` names (`probes.recorded`)."""
    if what not in READS:
        raise UsageError(f"no credential read {what[:20]!r} (one of {', '.join(READS)})")
    return f"cred-{what}", str(CredentialPath.parse(path)), None


def read_credential(
    served: Served, login: Login, what: str, path: str, start: int
) -> CredentialRead:
    read_probe(what, path)
    cp = CredentialPath.parse(path)
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        try:
            customer = _visible(tx, member, cp.customer, served.vault.clock())
            detail, credential = credential_detail(tx, customer, cp)
        except (AccessDenied, NotFound) as exc:
            events, head = _since(served, tx, start)
            return CredentialRead(events, head, _now(served), None, refusal=Refusal(exc, {}))
        events, head = _since(served, tx, start)  # after the lookup: they cover what it saw
        return CredentialRead(events, head, _now(served), detail, customer.id, credential)


def record_read_refusal(
    served: Served,
    login: Login,
    what: str,
    path: str,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> CustodianError:
    """Append the refusal of a read the client signed (`Served.record_refused`)."""
    cp = CredentialPath.parse(path)

    def check(tx: Session, member: Account, _: dict[str, object]) -> object:
        customer = _visible(tx, member, cp.customer, served.vault.clock())
        return credential_detail(tx, customer, cp)

    return served.record_refused(
        login, check, read_probe(what, path), f"cred {what}", at, head, signature
    )


# --- changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditRequest:
    """A change to a credential (`CredentialEdit`, at `SLUG/SYSTEM/NAME`) or to a system
    (`SystemEdit`, at `SLUG/SYSTEM`)."""

    path: str
    change: CredentialEdit | SystemEdit

    def probe(self) -> Probe:
        if isinstance(self.change, SystemEdit):
            return "system-edit", str(SystemPath.parse(self.path)), None
        return "cred-edit", str(CredentialPath.parse(self.path)), None


@dataclass(frozen=True)
class PreparedEdit:
    events: list[Any]
    head: SigningHead
    at: datetime
    edited: Edited | None  # None: refused
    refusal: Refusal | None = None


def edit_event(edited: Edited, username: str, member: int) -> EventDraft:
    """The event of a change, as `Actor.record` writes it in database mode."""
    return EventDraft(
        edited.action,
        "ok",
        username,
        member,
        customer_id=edited.customer_id,
        credential_id=edited.credential_id,
        target=edited.target,
        detail=edited.detail,
    )


class _Undone(Exception):
    """Rolls a prepare's transaction back with what it found."""

    def __init__(self, prepared: PreparedEdit) -> None:
        self.prepared = prepared


def prepare_edit(served: Served, login: Login, request: EditRequest, start: int) -> PreparedEdit:
    """The change made and undone: the event the client is to sign."""
    try:
        with served.vault.db.transaction() as tx:
            member = served.logged_in(tx, login)
            edited: Edited | None = None
            refusal: Refusal | None = None
            try:
                edited = _apply(served, tx, member, request)
            except (AccessDenied, NotFound) as exc:
                refusal = Refusal(exc, {})  # the event names the path only, as in database mode
            events, head = _since(served, tx, start)
            raise _Undone(PreparedEdit(events, head, _now(served), edited, refusal))
    except _Undone as undone:
        return undone.prepared


def commit_edit(
    served: Served,
    login: Login,
    request: EditRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> str:
    """Make the change and append the event the client signed, in one transaction; the
    path after the change."""
    served.check_time(at)
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        edited = _apply(served, tx, member, request)
        draft = edit_event(edited, member.username, member.id)
        append_presigned(tx, draft, at, head, member.signing_key, signature)
        return edited.target


def record_edit_refusal(
    served: Served,
    login: Login,
    request: EditRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> CustodianError:
    """Append the refusal of a change the client signed (`Served.record_refused`)."""
    return served.record_refused(
        login,
        lambda tx, member, _f: _apply(served, tx, member, request),
        request.probe(),
        "the change",
        at,
        head,
        signature,
    )


def _apply(served: Served, tx: Session, member: Account, request: EditRequest) -> Edited:
    now = served.vault.clock()
    if isinstance(request.change, SystemEdit):
        sp = SystemPath.parse(request.path)
        customer, _ = writable_customer(tx, member, sp.customer, now)
        return system_edit(tx, customer, sp, request.change)
    cp = CredentialPath.parse(request.path)
    customer, _ = writable_customer(tx, member, cp.customer, now)
    return credential_edit(tx, customer, cp, request.change)


def _since(served: Served, tx: Session, start: int) -> tuple[list[Any], SigningHead]:
    head = signing_head(tx)
    if head.seq - start >= MAX_EVENTS:
        raise UsageError("the client is too far behind the log: sync it first")
    events, _ = served.events_in(tx, start, head.seq)
    return events, head


def _now(served: Served) -> datetime:
    return served.vault.clock()

"""A system added through the server (`system add --server`): metadata only, so the
server builds the row and checks its settings (`credentials.add_system`,
`TargetSettings.apply`) and the client only signs the `system-add` event over the head it
verified. A refusal is signed and recorded as a reveal's is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from ..audit.append import EventDraft, SigningHead, append_presigned, signing_head
from ..db.models import System, SystemKind
from ..errors import AccessDenied, AlreadyExists, CustodianError, NotFound, UsageError
from ..paths import SystemPath
from ..records import SystemInfo
from . import rows, views
from .device_targets import TargetSettings
from .served import MAX_EVENTS, Account, Login, Probe, Refusal
from .served_write import writable_customer

if TYPE_CHECKING:
    from .served import Served


@dataclass(frozen=True)
class SystemRequest:
    path: str
    kind: str
    notes: str | None = None
    target: TargetSettings = field(default_factory=TargetSettings)

    def probe(self) -> Probe:
        return "system-add", str(SystemPath.parse(self.path)), None


@dataclass(frozen=True)
class PreparedSystem:
    events: list[Any]
    head: SigningHead
    at: datetime
    customer_id: int | None  # None: refused
    refusal: Refusal | None = None


def system_event(request: SystemRequest, username: str, member: int, customer: int) -> EventDraft:
    """The event of `system add` (what `credentials.add_system` records)."""
    return EventDraft(
        "system-add", "ok", username, member, customer_id=customer, target=request.probe()[1]
    )


def prepare_system(
    served: Served, login: Login, request: SystemRequest, start: int
) -> PreparedSystem:
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        customer_id: int | None = None
        refusal: Refusal | None = None
        try:
            customer_id = _check(served, tx, member, request).customer_id
        except (AccessDenied, NotFound) as exc:
            refusal = Refusal(exc, {})
        head = signing_head(tx)
        if head.seq - start >= MAX_EVENTS:
            raise UsageError("the client is too far behind the log: sync it first")
        events, _ = served.events_in(tx, start, head.seq)
        return PreparedSystem(events, head, served.vault.clock(), customer_id, refusal)


def commit_system(
    served: Served,
    login: Login,
    request: SystemRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> SystemInfo:
    served.check_time(at)
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        system = _check(served, tx, member, request)
        draft = system_event(request, member.username, member.id, system.customer_id)
        append_presigned(tx, draft, at, head, member.signing_key, signature)
        tx.add(system)
        tx.flush()
        return views.system_info(SystemPath.parse(request.path).customer, system)


def record_system_refusal(
    served: Served,
    login: Login,
    request: SystemRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> CustodianError:
    """Append the refusal of `system add` the client signed (`Served.record_refused`)."""
    return served.record_refused(
        login,
        lambda tx, member, _f: _check(served, tx, member, request),
        request.probe(),
        "adding the system",
        at,
        head,
        signature,
    )


def _check(served: Served, tx: Session, member: Account, request: SystemRequest) -> System:
    """The system `credentials.add_system` would add (not yet in the transaction)."""
    sp = SystemPath.parse(request.path)
    now = served.vault.clock()
    customer, _ = writable_customer(tx, member, sp.customer, now)
    if rows.find_system(tx, customer, sp.system) is not None:
        raise AlreadyExists(f"system {str(sp)!r} already exists")
    try:
        kind = SystemKind(request.kind)
    except ValueError:
        raise UsageError(f"no system kind {request.kind[:64]!r}") from None
    assert customer.id is not None
    system = System(
        customer_id=customer.id,
        name=sp.system,
        kind=kind,
        notes=request.notes,
        created_at=now,
    )
    request.target.apply(system)
    return system

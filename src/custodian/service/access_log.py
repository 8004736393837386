"""Reading the access log as an actor may: events, the customer report, alerts,
verification, checkpoints, and making the log append-only in the database.

Who may do what is decided here: admins and auditors read the whole log, a technician
only their own events, and a customer filter names a customer the actor may see; reports,
alerts, verification and checkpoints are for admins and auditors, hardening for admins.
Each run of them is itself recorded. What the log is and how it is checked lives in
`custodian.audit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from ..audit import query, verify
from ..audit.alerts import AlertPolicy, find_alerts
from ..audit.checkpoint import Checkpoint, read_checkpoints
from ..audit.harden import harden
from ..audit.query import EventFilter
from ..db.models import Role
from ..errors import IntegrityError
from ..records import AccessReport, AlertInfo, CheckpointInfo, EventInfo, LogVerification
from .log_review import access_report
from .policy import READERS

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

    from .actor import Actor

Progress = Callable[[int, int], None]  # (events checked, events in the log)

# --- events -------------------------------------------------------------------------------


def events(
    actor: Actor,
    *,
    customer: str | None = None,
    technician: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    until: datetime | None = None,
    credential: str | None = None,
    actions: tuple[str, ...] = (),
    outcomes: tuple[str, ...] = (),
    reason: str | None = None,
    after: int | None = None,
) -> list[EventInfo]:
    """Access events, oldest first; `limit` keeps the newest N. Technicians see only
    their own."""
    flt = EventFilter(
        customer,
        technician,
        credential,
        tuple(actions),
        tuple(outcomes),
        since,
        until,
        reason,
        after,
    )
    if limit is None:
        return list(iter_events(actor, flt))
    _probe(actor, flt)
    with actor.transaction() as tx:
        return query.newest(tx, _readable(actor, tx, flt), limit)


def iter_events(actor: Actor, flt: EventFilter = EventFilter()) -> Iterator[EventInfo]:
    """Every matching event, oldest first, fetched in batches (constant memory), each in
    a transaction of its own. A refused customer filter is refused here, before any."""
    _probe(actor, flt)
    return _batches(actor, flt)


def _batches(actor: Actor, flt: EventFilter) -> Iterator[EventInfo]:
    after = flt.after or 0
    while True:
        with actor.transaction() as tx:
            page = query.oldest(tx, _readable(actor, tx, replace(flt, after=after)), query.BATCH)
        yield from page
        if len(page) < query.BATCH:
            return
        after = page[-1].seq


def _probe(actor: Actor, flt: EventFilter) -> None:
    """A customer filter the actor may not see is a probe: refused and recorded (`log`)."""
    if flt.customer is not None:
        actor.customer_or_refuse(flt.customer, "log", flt.customer)


def _readable(actor: Actor, tx: Session, flt: EventFilter) -> Select[Any]:
    """The events `flt` names that `actor` may read: admins and auditors every one, a
    technician their own; a customer named must be one the actor may see."""
    return query.select_events(
        flt,
        customer_id=lambda slug: actor.customer(tx, slug).id,
        actor_id=None if actor.is_reader else actor.technician_id,
    )


def last_seq(actor: Actor) -> int:
    """The log head's sequence number (where `log --follow` starts)."""
    with actor.transaction() as tx:
        return query.head_seq(tx)


# --- report and alerts --------------------------------------------------------------------


def report(
    actor: Actor,
    customer: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: AlertPolicy | None = None,
) -> AccessReport:
    """Per credential: who revealed it, how often, when last, why; per technician:
    totals; and the anomalies that concern this customer."""
    actor.require_role("log-report", *READERS)
    with actor.transaction() as tx:
        cust = actor.customer(tx, customer)
    made = access_report(
        (cust.slug, cust.name),
        since,
        until,
        iter_events(actor, EventFilter(customer=customer, since=since, until=until)),
        alerts(actor, since=since, until=until, policy=policy, record=False),
    )
    with actor.transaction() as tx:
        actor.record(tx, "log-report", customer_id=cust.id, target=cust.slug)
    return made


def alerts(
    actor: Actor,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: AlertPolicy | None = None,
    record: bool = True,
) -> list[AlertInfo]:
    """Anomalies among the events in [since, until) (docs/audit-format.md, "Alerts")."""
    actor.require_role("log-alerts", *READERS)
    policy = policy or AlertPolicy()
    history = EventFilter(since=policy.history_from(since), until=until)
    found = find_alerts(iter_events(actor, history), policy, since)
    if record:
        with actor.transaction() as tx:
            actor.record(tx, "log-alerts", detail={"alerts": len(found)})
    return found


# --- verification, checkpoints, hardening -------------------------------------------------


def verify_log(
    actor: Actor,
    *,
    checkpoint_text: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    incremental: bool = False,
    every_signature: bool = False,
) -> LogVerification:
    """Verify the whole log (and checkpoints); the run itself is recorded as an event.
    Failing verification is returned, not raised: the CLI maps it to exit 6.
    `incremental`: trust the signatures up to the newest checkpoint (its hash pins them).
    `every_signature`: check each event's signature, not only each actor's newest."""
    if actor.role not in READERS:  # no lapse sweep first: it would write to this log
        actor.require_role("log-verify", *READERS)
    result = _verify(actor, checkpoint_text, workers, progress, incremental, every_signature)
    detail: dict[str, object] = {"through": result.head_seq, "checkpoints": result.checkpoints}
    if every_signature:
        detail["every_signature"] = True
    if result.trusted_through:
        detail["trusted_through"] = result.trusted_through
    if not result.ok:
        detail.update(first_bad=result.first_bad, problem=result.problem)
    try:
        with actor.transaction() as tx:
            actor.record(tx, "log-verify", "ok" if result.ok else "integrity", detail=detail)
    except IntegrityError as exc:
        # The log does not extend what this client verified before (`Trust.sync`: it went
        # back, or was rewritten), or it holds an event forged in this auditor's name,
        # which their session refuses to sign over: the failing result reaches them.
        if result.ok:
            result = replace(result, ok=False, first_bad=result.head_seq + 1, problem=str(exc))
        return replace(result, warnings=(*result.warnings, f"not recorded: {exc}"))
    return result


def _verify(
    actor: Actor,
    checkpoint_text: str | None,
    workers: int | None,
    progress: Progress | None,
    incremental: bool,
    every_signature: bool = False,
) -> LogVerification:
    checkpoints = read_checkpoints(checkpoint_text) if checkpoint_text is not None else []
    result = verify.verify_log(
        actor.vault.db.engine,
        vault_id=actor.vault.vault_id(),
        checkpoints=checkpoints,
        workers=workers,
        progress=progress,
        incremental=incremental,
        every_signature=every_signature,
    )
    if incremental and not result.ok and (result.first_bad or 0) <= result.trusted_through:
        # the trusted prefix changed: check every signature to find the first bad event
        return _verify(actor, checkpoint_text, workers, progress, False, True)
    return result


def checkpoint(
    actor: Actor,
    *,
    previous: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> CheckpointInfo:
    """Verify the log, then sign a line naming the head it verified, to keep outside
    the database. `previous`: earlier checkpoint lines; signatures up to the newest
    are not checked again. The event recording the checkpoint follows its head."""
    actor.require_role("log-checkpoint", *READERS)
    result = _verify(actor, previous, workers, progress, previous is not None)
    if not result.ok:
        raise IntegrityError(
            f"no checkpoint: the log fails to verify at seq {result.first_bad}: {result.problem}"
        )
    cp = Checkpoint.make(
        actor.vault.vault_id(),
        result.head_seq,
        bytes.fromhex(result.head_hash),
        actor.now,
        actor.username,
        actor.signer,
    )
    with actor.transaction() as tx:
        actor.record(tx, "log-checkpoint", detail={"seq": cp.seq, "head": cp.head.hex()})
    return cp.info()


def harden_database(actor: Actor, app_roles: list[str]) -> list[str]:
    """Make access_event append-only in the database (`custodian db harden`)."""
    actor.require_role("db-harden", Role.ADMIN)
    with actor.transaction() as tx:
        done = harden(tx.connection(), app_roles)
        actor.record(tx, "db-harden", detail={"roles": list(app_roles)})
    return done

"""`log`, `log report` and `log alerts` through the server (docs/server.md, "Reviewing
the log"): this client fetches the log from `/log`, checks it against the head its own
trust verified from the root its key pins (`service.VerifiedLog`), and only then picks,
tallies and flags the events by database mode's rules. A server that changed, dropped or
reordered an event is refused (`IntegrityError`, exit 6) before anything is printed.

What the server decides is whether a review is allowed (a customer filter the member
may not see, a report or alerts run without a reader's role: refused and recorded, the
event signed here), and it records a report or an alerts run, signed here, as database
mode does."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import wire
from ..audit.alerts import AlertPolicy, find_alerts
from ..audit.query import EventFilter, matches
from ..errors import Conflict, IntegrityError
from ..records import AccessReport, AlertInfo, EventInfo
from ..service import (
    VerifiedLog,
    access_report,
    reads_whole_log,
    review_event,
    review_probe,
)
from .writes import PREPARE_TRIES

if TYPE_CHECKING:
    from .session import RemoteSession


def events(
    session: RemoteSession,
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
    their own (`access_log.events`)."""
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
    _check(session, "log", customer)
    return _verified(session, flt, limit)


def iter_events(session: RemoteSession, flt: EventFilter = EventFilter()) -> Iterator[EventInfo]:
    """Every matching event, oldest first: all of them verified before the first."""
    _check(session, "log", flt.customer)
    return iter(_verified(session, flt, None))


def last_seq(session: RemoteSession) -> int:
    """The log head's sequence number, as verified here (where `log --follow` starts)."""
    session.sync()
    head = session.member.trust.head
    return head[0] if head else 0


def report(
    session: RemoteSession,
    customer: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: AlertPolicy | None = None,
) -> AccessReport:
    """A customer's report over the events verified here (`access_log.report`)."""
    found = _check(session, "log-report", customer)
    if not isinstance(found, dict) or found.get("slug") != customer:
        raise IntegrityError("the server answered for another customer than asked")
    cid, name = wire.int_of(found.get("id"), "customer"), found.get("name")
    policy = policy or AlertPolicy()
    history = _verified(session, EventFilter(since=policy.history_from(since), until=until))
    if session.review_log is None or session.review_log.slugs.get(cid) != customer:
        raise IntegrityError(f"the access log holds no customer {customer!r} by that id")
    mine = EventFilter(customer=customer, since=since, until=until)
    made = access_report(
        (customer, name if isinstance(name, str) else None),
        since,
        until,
        [e for e in history if matches(mine, e)],
        find_alerts(history, policy, since),
    )
    draft = review_event(
        "log-report", session.username, session.technician_id, customer_id=cid, slug=customer
    )
    _record(session, {"action": "log-report", "customer": customer}, draft)
    return made


def alerts(
    session: RemoteSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    policy: AlertPolicy | None = None,
) -> list[AlertInfo]:
    """Anomalies among the events verified here in [since, until) (`access_log.alerts`)."""
    _check(session, "log-alerts", None)
    policy = policy or AlertPolicy()
    history = _verified(session, EventFilter(since=policy.history_from(since), until=until))
    found = find_alerts(history, policy, since)
    draft = review_event("log-alerts", session.username, session.technician_id, alerts=len(found))
    _record(session, {"action": "log-alerts", "alerts": len(found)}, draft)
    return found


def _verified(
    session: RemoteSession, flt: EventFilter, limit: int | None = None
) -> list[EventInfo]:
    """The events `flt` keeps (the newest `limit`) that this member may read, from the
    first event to the head its trust verified: all of them checked against that head
    before any is returned. Events after `flt.after` continue the chain checked last."""
    session.sync()
    member = session.member
    own = None if reads_whole_log(member.role) else member.technician_id
    head = member.trust.head
    if head is None:
        raise IntegrityError("no verified log head to review the log from")
    log = session.review_log
    if log is None or flt.after is None or flt.after < log.seq:
        log = VerifiedLog()
    kept: deque[EventInfo] = deque(maxlen=limit)
    while log.seq < head[0]:
        answer = session.call("GET", "/log", params={"from": log.seq + 1})
        rows = [wire.event_in(e) for e in wire.list_of(answer.get("events"))]
        rows = [r for r in rows if r[0] <= head[0]]
        if not rows or rows[-1][0] <= log.seq:
            raise IntegrityError(f"the server's log page holds nothing after event {log.seq}")
        kept.extend(log.feed(rows, flt, own))
    log.anchor((head[0], head[1]))
    session.review_log = log
    return list(kept)


def _check(session: RemoteSession, action: str, customer: str | None) -> Any:
    """Whether the server allows the review (a log without a customer filter needs no
    asking); refused, the refusal's event is signed here and recorded, then raised.
    Returns the customer the server found, if any."""
    if action == "log" and customer is None:
        return None
    asked = {"action": action, "customer": customer}
    for _ in range(PREPARE_TRIES):
        body = {**asked, "from": session.member.trust.start()}
        answer = session.call("POST", "/log/review/check", body=body)
        if "refused" not in answer:
            return answer.get("customer")
        try:
            session.caught_up(answer)
            session.record_refusal(
                "/log/review/refused", asked, review_probe(action, customer), answer
            )
        except BaseException:
            session.release(answer.get("lease"))
            raise
    raise Conflict("the access log kept moving on: try again")


def _record(session: RemoteSession, asked: dict[str, Any], draft: Any) -> None:
    """Have the server record a report's or an alerts run's event, signed here."""
    m = session.member
    for _ in range(PREPARE_TRIES):
        body = {**asked, "from": m.trust.start()}
        prepared = session.call("POST", "/log/review/prepare", body=body)
        try:
            head, at = session.caught_up(prepared)
            if "refused" in prepared:
                probe = review_probe(str(asked["action"]), asked.get("customer"))
                session.record_refusal("/log/review/refused", asked, probe, prepared)
                continue
            signature = m.sign_event(draft, head, at)
        except BaseException:
            session.release(prepared.get("lease"))
            raise
        body = {
            **asked,
            "lease": prepared.get("lease"),
            "at": at.isoformat(),
            "head": wire.head_out(head),
            "signature": signature.hex(),
        }
        try:
            session.call("POST", "/log/reviewed", body=body)
        except Conflict:
            continue
        m.appended()
        return
    raise Conflict("the access log kept moving on: try again")

"""A member's review of the log through a server (`log`, `log report`, `log alerts` with
--server), with no I/O: the client reads the events from the server and trusts none of
them until they are anchored in what it verified itself.

Every event the server sends must hash to what it says and link to the one before, from
the first event (its link is `GENESIS`) up to the head this member's trust verified from
the root its key pins (`Trust.catch_up`: every signature since the root checked). The
chain hash covers each event's content, its link and the signature before it, so an
event altered, dropped, added or moved anywhere before that head breaks the chain or
misses the anchor: `IntegrityError` (exit 6), and nothing is printed, since a review
only hands out events once the anchor held (`VerifiedLog.anchor`).

Then the same rules as database mode pick the events (`audit.query.matches`, the rule
`select_events` states in SQL; a technician reads their own events) and the same code
tallies and flags them (`audit.report`, `audit.alerts`). A customer's slug is the one
its `customer-add` event names (slugs never change): what the database joins in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..audit.append import GENESIS, EventDraft, canonical_values, chain_hash, chain_hash_v1
from ..audit.query import EventFilter, matches
from ..audit.report import tally
from ..clock import as_utc
from ..db.models import Role
from ..errors import IntegrityError
from ..records import AccessReport, AlertInfo, EventInfo
from . import policy
from .served import Probe

REVIEW_ACTIONS = ("log", "log-report", "log-alerts")  # what a review may record


class VerifiedLog:
    """The events read so far, each checked against the one before (a chain from the
    first event); `anchor` ties the chain to a head verified from the pinned root."""

    def __init__(self) -> None:
        self.seq, self.hash = 0, GENESIS
        self.signature: bytes | None = None
        self._v2 = False
        self.slugs: dict[int, str] = {}  # customer id -> slug, from `customer-add` events

    def feed(
        self, rows: Iterable[Any], flt: EventFilter, own: int | None = None
    ) -> list[EventInfo]:
        """Check the next events (rows in `trust_log` column order, times decoded) and
        return those `flt` keeps (`own`: only that technician's own). Rows this log
        already checked are skipped. Not to be shown before `anchor` succeeds."""
        kept: list[EventInfo] = []
        for row in rows:
            seq = row[0]
            if seq <= self.seq:
                continue
            self._check(row)
            at, actor_id, actor, action, outcome, cid, target = row[1:8]
            if action == "customer-add" and outcome == "ok" and isinstance(cid, int):
                self.slugs.setdefault(cid, target or "")
            if own is not None and actor_id != own:
                continue
            event = EventInfo(
                seq,
                as_utc(at),
                actor,
                action,
                outcome,
                target,
                row[9],
                row[10],
                self.slugs.get(cid) if cid is not None else None,
            )
            if matches(flt, event):
                kept.append(event)
        return kept

    def anchor(self, head: tuple[int, bytes]) -> None:
        """The chain read must end at `head` (this member's verified head)."""
        if (self.seq, self.hash) != head:
            raise IntegrityError(
                f"the log the server sent does not lead to event {head[0]} as this client"
                " verified it: events were changed, dropped or reordered"
            )

    def _check(self, row: Any) -> None:
        seq, at = row[0], row[1]
        prev, digest, signature = bytes(row[11]), bytes(row[12]), row[13]
        if seq != self.seq + 1 or prev != self.hash:
            raise IntegrityError(f"event {seq} does not link to event {self.seq}")
        canonical = canonical_values(seq, at, *row[2:11])
        if digest == chain_hash(prev, self.signature, canonical):
            self._v2 = True
        elif self._v2 or digest != chain_hash_v1(prev, canonical):
            raise IntegrityError(f"event {seq} does not match its hash")
        self.seq, self.hash = seq, digest
        self.signature = bytes(signature) if signature is not None else None


def reads_whole_log(role: Role) -> bool:
    """Whether `role` reads the whole log (admins and auditors); else their own events."""
    return role in policy.READERS


def review_probe(action: str, customer: str | None) -> Probe:
    """A refused review's event: `log` names the customer filter it was refused (as
    `access_log._probe` records it); a report or alerts run refused by role, nothing."""
    return (action, customer if action == "log" else None, None)


def review_event(
    action: str,
    username: str,
    member: int,
    *,
    customer_id: int | None = None,
    slug: str | None = None,
    alerts: int = 0,
) -> EventDraft:
    """The event a report or an alerts run records (what `access_log` records)."""
    if action == "log-report":
        return EventDraft(action, "ok", username, member, customer_id=customer_id, target=slug)
    return EventDraft(action, "ok", username, member, detail={"alerts": alerts})


def access_report(
    customer: tuple[str, str | None],
    since: datetime | None,
    until: datetime | None,
    events: Iterable[EventInfo],
    alerts: Iterable[AlertInfo],
) -> AccessReport:
    """A customer's report (`log report`) from its events in [since, until) and the
    alerts over every customer: those of this customer, and those of no one customer
    raised by a technician who revealed one of its credentials. `customer`: its slug and
    name. Database mode and a client through a server both build it here."""
    slug, name = customer
    credentials, technicians = tally(events)
    involved = {t.technician for t in technicians}
    found = tuple(
        a for a in alerts if a.customer == slug or (a.customer is None and a.technician in involved)
    )
    return AccessReport(slug, name, since, until, credentials, technicians, found)

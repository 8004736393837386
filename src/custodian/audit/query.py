"""Reading events: `EventFilter`, the query it becomes, and rows turned into `EventInfo`.

One rule, said twice: `select_events` in SQL (database mode, where the database filters
a large log fast) and `matches` over `EventInfo` (a client through a server filters the
events it verified itself); tests/audit/test_query_rule.py holds them to the same
answers.

Which events an actor may read is for the service to decide (service/access_log.py): it
says how a customer's slug becomes an id (its visibility rule), and whose own events a
technician is limited to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from ..clock import as_utc
from ..db.models import AccessEvent, Customer, LogHead
from ..records import EventInfo

BATCH = 2000  # events per page when reading every matching event

_ev = AccessEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EventFilter:
    """What `log` narrows the events to. Every field is optional."""

    customer: str | None = None
    technician: str | None = None
    credential: str | None = None  # a path SLUG/SYSTEM/NAME (any field of it)
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    reason: str | None = None  # substring, case-insensitive
    after: int | None = None  # only events with a greater sequence number


def select_events(
    flt: EventFilter, *, customer_id: Callable[[str], int | None], actor_id: int | None
) -> Select[Any]:
    """The events `flt` names, in no order. `customer_id` turns `flt.customer` into an id
    (or raises); `actor_id`, when given, keeps only that technician's own events."""
    query = select(_ev)
    if actor_id is not None:
        query = query.where(_ev.c.actor_id == actor_id)
    if flt.customer is not None:
        query = query.where(_ev.c.customer_id == customer_id(flt.customer))
    if flt.technician is not None:
        query = query.where(
            or_(
                _ev.c.actor == flt.technician,
                _ev.c.target.startswith(f"{flt.technician}@", autoescape=True),
            )
        )
    if flt.credential is not None:
        query = query.where(
            or_(
                _ev.c.target == flt.credential,
                _ev.c.target.startswith(f"{flt.credential}#", autoescape=True),
            )
        )
    if flt.actions:
        query = query.where(_ev.c.action.in_(flt.actions))
    if flt.outcomes:
        query = query.where(_ev.c.outcome.in_(flt.outcomes))
    if flt.since is not None:
        query = query.where(_ev.c.at >= flt.since)
    if flt.until is not None:
        query = query.where(_ev.c.at < flt.until)
    if flt.reason:
        query = query.where(func.lower(_ev.c.reason).contains(flt.reason.lower(), autoescape=True))
    if flt.after:
        query = query.where(_ev.c.seq > flt.after)
    return query


def matches(flt: EventFilter, e: EventInfo) -> bool:
    """Whether `flt` keeps `e`: `select_events`'s rule over an event in memory (the
    customer by its slug, which names one customer as its id does). Which events an
    actor may read at all is the caller's (a technician: their own)."""
    if flt.customer is not None and e.customer != flt.customer:
        return False
    if flt.technician is not None and not (
        e.actor == flt.technician or (e.target or "").startswith(f"{flt.technician}@")
    ):
        return False
    if flt.credential is not None and not (
        e.target == flt.credential or (e.target or "").startswith(f"{flt.credential}#")
    ):
        return False
    if (flt.actions and e.action not in flt.actions) or (
        flt.outcomes and e.outcome not in flt.outcomes
    ):
        return False
    if (flt.since is not None and e.at < flt.since) or (
        flt.until is not None and e.at >= flt.until
    ):
        return False
    if flt.reason and (e.reason is None or flt.reason.lower() not in e.reason.lower()):
        return False
    return not (flt.after and e.seq <= flt.after)


def oldest(tx: Session, query: Select[Any], n: int) -> list[EventInfo]:
    """The first `n` events of `query`, oldest first."""
    return _infos(tx, tx.execute(query.order_by(_ev.c.seq).limit(n)).all())


def newest(tx: Session, query: Select[Any], n: int) -> list[EventInfo]:
    """The newest `n` events of `query`, oldest first."""
    rows = list(tx.execute(query.order_by(_ev.c.seq.desc()).limit(n)).all())
    rows.sort(key=lambda r: r.seq)
    return _infos(tx, rows)


def head_seq(tx: Session) -> int:
    """The log head's sequence number: the newest event's."""
    return int(tx.execute(select(LogHead.__table__.c.seq)).scalar_one())  # type: ignore[attr-defined]


def _infos(tx: Session, rows: Any) -> list[EventInfo]:
    c = Customer.__table__  # type: ignore[attr-defined]
    slugs: dict[int, str] = dict(tx.execute(select(c.c.id, c.c.slug)).all())
    return [
        EventInfo(
            row.seq,
            as_utc(row.at),
            row.actor,
            row.action,
            row.outcome,
            row.target,
            row.reason,
            row.detail,
            slugs.get(row.customer_id) if row.customer_id is not None else None,
        )
        for row in rows
    ]

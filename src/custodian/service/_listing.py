"""The listings (customers, credentials) as set-based Core queries, built once.

A technician's listing joins their live grants in SQL, so 10,000 customers cost one query
instead of one grant lookup each, and 100,000 credentials come back as plain rows instead
of ORM objects (RECIPES: the ORM costs about five times Core per row). Who may see what is
the same rule as `session._may_see`: readers (admins, auditors) every customer; a
technician the active customers they hold a live grant for (`expires_at` unset or later
than now). `tests/core/test_listing.py` checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..clock import as_utc
from ..db.models import Credential, Customer, CustomerStatus, Grant, SecretVersion, System
from ..errors import UsageError
from ..records import CredentialInfo, CustomerInfo
from . import policy

_c = Customer.__table__  # type: ignore[attr-defined]
_g = Grant.__table__  # type: ignore[attr-defined]
_s = System.__table__  # type: ignore[attr-defined]
_cr = Credential.__table__  # type: ignore[attr-defined]
_sv = SecretVersion.__table__  # type: ignore[attr-defined]

_COUNTS = select(_cr.c.customer_id, func.count().label("n")).group_by(_cr.c.customer_id).subquery()


def _granted(query: Select[Any]) -> Select[Any]:
    """Only active customers the technician `:technician` holds a live grant for."""
    return query.join(
        _g, and_(_g.c.customer_id == _c.c.id, _g.c.technician_id == bindparam("technician"))
    ).where(
        _c.c.status == CustomerStatus.ACTIVE.value,
        policy.live_grant_clause(_g.c.expires_at, bindparam("now")),
    )


_CUSTOMERS = (
    select(
        _c.c.slug,
        _c.c.name,
        _c.c.status,
        _c.c.require_reason,
        _c.c.reason_pattern,
        _c.c.current_key_version,
        _c.c.created_at,
        func.coalesce(_COUNTS.c.n, 0),
    )
    .select_from(_c.outerjoin(_COUNTS, _COUNTS.c.customer_id == _c.c.id))
    .order_by(_c.c.slug)
)
CUSTOMERS_ALL = _CUSTOMERS
CUSTOMERS_GRANTED = _granted(_CUSTOMERS)


_CREDENTIALS = (
    select(
        _c.c.slug,
        _s.c.name,
        _s.c.kind,
        _s.c.host,
        _cr.c.name,
        _cr.c.username,
        _cr.c.url,
        _cr.c.current_version,
        _sv.c.field_names,
        _cr.c.updated_at,
        _cr.c.retired_at,
    )
    .select_from(
        _cr.join(_s, _s.c.id == _cr.c.system_id)
        .join(_c, _c.c.id == _cr.c.customer_id)
        .join(
            _sv,
            and_(_sv.c.credential_id == _cr.c.id, _sv.c.version == _cr.c.current_version),
        )
    )
    .order_by(_c.c.slug, _s.c.name, _cr.c.name)
)
CREDENTIALS_ALL = _CREDENTIALS
CREDENTIALS_GRANTED = _granted(_CREDENTIALS)
CREDENTIALS_OF = _CREDENTIALS.where(_c.c.id == bindparam("customer"))
# A page after a path, in the listing's order (keyset: the server's pagination).
_AFTER = tuple_(_c.c.slug, _s.c.name, _cr.c.name) > tuple_(
    bindparam("a_slug"), bindparam("a_system"), bindparam("a_name")
)


def _filtered(query: Select[Any], clause: Any, paged: bool) -> Select[Any]:
    query = query if clause is None else query.where(clause)
    return query.where(_AFTER).limit(bindparam("page_size", type_=Integer)) if paged else query


# Retired credentials (`cred retire`) are left out unless asked for (RETIRED_FILTERS).
_RETIRED = {
    "hide": _cr.c.retired_at.is_(None),
    "only": _cr.c.retired_at.is_not(None),
    "include": None,
}
# Every listing, built once: (query, retired filter, paged) -> the statement.
QUERIES = {
    (query, retired, paged): _filtered(query, clause, paged)
    for query in (CREDENTIALS_ALL, CREDENTIALS_GRANTED, CREDENTIALS_OF)
    for retired, clause in _RETIRED.items()
    for paged in (False, True)
}


def customers(tx: Session, technician_id: int | None, now: datetime) -> list[CustomerInfo]:
    """Every customer (`technician_id` None: a reader) or those the technician may see."""
    if technician_id is None:
        rows: Sequence[Any] = tx.execute(CUSTOMERS_ALL).all()
    else:
        rows = tx.execute(CUSTOMERS_GRANTED, {"technician": technician_id, "now": now}).all()
    return [
        CustomerInfo(
            slug, name, status, bool(reason), pattern, key_version, as_utc(created), 0, count
        )
        for slug, name, status, reason, pattern, key_version, created, count in rows
    ]


def credentials(
    tx: Session,
    technician_id: int | None,
    now: datetime,
    customer_id: int | None = None,
    *,
    page: tuple[tuple[str, str, str], int] | None = None,
    retired: str = "hide",
) -> list[CredentialInfo]:
    """The current version of every credential visible as for `customers`, or of one
    customer already authorized by the caller (`customer_id`). `page`: only the first
    `size` after the path (slug, system, name) given, in the listing's order. `retired`
    (RETIRED_FILTERS): retired credentials left out, alone, or included."""
    if retired not in _RETIRED:
        raise UsageError(f"unknown retired filter {retired[:20]!r} (one of hide, only, include)")
    params: dict[str, Any] = {}
    if customer_id is not None:
        query, params = CREDENTIALS_OF, {"customer": customer_id}
    elif technician_id is None:
        query = CREDENTIALS_ALL
    else:
        query, params = CREDENTIALS_GRANTED, {"technician": technician_id, "now": now}
    if page is not None:
        (slug, system, name), size = page
        params.update(a_slug=slug, a_system=system, a_name=name, page_size=size)
    query = QUERIES[query, retired, page is not None]
    rows: Sequence[Any] = tx.execute(query, params).all()
    return [
        CredentialInfo(
            f"{slug}/{system}/{name}",
            slug,
            system,
            kind,
            host,
            name,
            username,
            url,
            version,
            tuple(fields.split(",")),
            as_utc(updated),
            as_utc(retired_at) if retired_at else None,
        )
        for slug, system, kind, host, name, username, url, version, fields, updated, retired_at in (
            rows
        )
    ]

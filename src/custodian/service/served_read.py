"""Listings through the server (`cred list`, `customer list` with `--server`): metadata
only, by the rules of database mode (`_listing`, `policy.may_see`).

Metadata is what the database holds in clear, so a client has nothing to verify in it
beyond what it asked for. A listing of one customer the member may not see is refused
like a reveal: the refusal comes back with the log head, the client signs its event,
and the server records it (`record_list_refusal`), as `probes.recorded` does in database
mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from ..audit.append import SigningHead, signing_head
from ..db.models import Customer
from ..errors import AccessDenied, CustodianError, NotFound, UsageError
from ..paths import CredentialPath, check_slug
from ..records import CredentialInfo, CustomerInfo
from . import _listing, policy, rows
from .served import MAX_EVENTS, Account, Login, Probe, Refusal

if TYPE_CHECKING:
    from .served import Served


PAGE_SIZE = 1000  # credentials one answer holds at most
FIRST = ("", "", "")  # before every path


@dataclass(frozen=True)
class CredentialListing:
    """A page of the credentials asked for (`next`: the path the next page starts
    after, None at the end); refused, the refusal to sign and where it goes."""

    credentials: list[CredentialInfo]
    next: str | None = None
    refusal: Refusal | None = None
    events: list[Any] | None = None
    head: SigningHead | None = None
    at: datetime | None = None


def list_probe(slug: str) -> Probe:
    return "cred-list", slug, None


def list_customers(served: Served, login: Login) -> list[CustomerInfo]:
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        return _listing.customers(tx, _scope(member), served.vault.clock())


def list_credentials(
    served: Served,
    login: Login,
    slug: str | None,
    start: int,
    *,
    after: str | None = None,
    size: int = PAGE_SIZE,
    retired: str = "hide",
) -> CredentialListing:
    """A page of every credential the member may see, or of one customer's (`slug`), in
    path order after the path `after`; retired ones as `retired` says (RETIRED_FILTERS)."""
    page = (_key(after), min(max(size, 1), PAGE_SIZE))
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        now = served.vault.clock()
        if slug is None:
            found = _listing.credentials(tx, _scope(member), now, page=page, retired=retired)
            return _page(found, page[1])
        try:
            customer = _visible(tx, member, slug, now)
        except (AccessDenied, NotFound) as exc:
            head = signing_head(tx)
            if head.seq - start >= MAX_EVENTS:
                raise UsageError("the client is too far behind the log: sync it first") from None
            events, _ = served.events_in(tx, start, head.seq)
            return CredentialListing([], None, Refusal(exc, {}), events, head, now)
        found = _listing.credentials(tx, None, now, customer.id, page=page, retired=retired)
        return _page(found, page[1])


def record_list_refusal(
    served: Served, login: Login, slug: str, at: datetime, head: SigningHead, signature: bytes
) -> CustodianError:
    """Append the refusal of a listing the client signed (`Served.record_refused`)."""
    return served.record_refused(
        login,
        lambda tx, member, _f: _visible(tx, member, slug, served.vault.clock()),
        list_probe(slug),
        "the listing",
        at,
        head,
        signature,
    )


def _key(after: str | None) -> tuple[str, str, str]:
    if after is None:
        return FIRST
    cp = CredentialPath.parse(after)
    return cp.customer, cp.system, cp.name


def _page(found: list[CredentialInfo], size: int) -> CredentialListing:
    return CredentialListing(found, found[-1].path if len(found) == size else None)


def _scope(member: Account) -> int | None:
    """Whose grants limit a listing: None for readers, who see every customer."""
    return None if member.role in policy.READERS else member.id


def _visible(tx: Session, member: Account, slug: str, now: datetime) -> Customer:
    """The customer, as `Actor.customer` lets the member see it."""
    check_slug(slug)
    customer = tx.exec(select(Customer).where(Customer.slug == slug)).first()
    if customer is not None and customer.id is not None:
        grant = rows.grant(tx, member.id, customer.id)
        granted = grant is not None and policy.grant_live(grant.expires_at, now)
        if policy.may_see(member.role, customer.status, granted):
            return customer
    raise policy.unseen_customer(member.role, slug)

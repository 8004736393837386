"""`log`, `log report` and `log alerts` through the server: the server's side.

The client reviews the log itself, over events it verified (`log_review.VerifiedLog`):
the server only says whether a review is allowed, by database mode's rules
(`access_log`: a customer filter names a customer the member may see; reports and
alerts are for admins and auditors), and records what database mode records, signed by
the client: a refused review, a report (`log-report`) and an alerts run (`log-alerts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from ..audit.append import SigningHead, append_presigned, signing_head
from ..db.models import Customer
from ..errors import AccessDenied, CustodianError, NotFound, UsageError
from . import policy
from .log_review import REVIEW_ACTIONS, review_event, review_probe
from .served import MAX_EVENTS, Account, Login, Refusal
from .served_read import _visible

if TYPE_CHECKING:
    from .served import Served


@dataclass(frozen=True)
class ReviewRequest:
    """A review: `log` (with a customer filter or not), `log-report` of a customer, or
    `log-alerts` (`alerts`: how many it found, for its event)."""

    action: str
    customer: str | None = None
    alerts: int = 0

    def __post_init__(self) -> None:
        if self.action not in REVIEW_ACTIONS:
            raise UsageError(f"a review is one of {', '.join(REVIEW_ACTIONS)}")
        if self.action == "log-report" and self.customer is None:
            raise UsageError("a report names its customer")
        if self.alerts < 0:
            raise UsageError("a count of alerts is not negative")


@dataclass(frozen=True)
class ReviewCheck:
    """A review allowed (`customer`: the one it names, its id and name), or refused: the
    refusal to sign and where its event goes."""

    customer: tuple[int, str, str] | None = None
    refusal: Refusal | None = None
    events: list[Any] | None = None
    head: SigningHead | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class PreparedReview:
    """Where a report's or an alerts run's event goes; refused, the refusal to sign."""

    events: list[Any]
    head: SigningHead
    at: datetime
    refusal: Refusal | None = None


def check_review(served: Served, login: Login, request: ReviewRequest, start: int) -> ReviewCheck:
    """Whether the member may run the review: refused (and to be recorded), the log
    since `start` and the head the refusal's event is to follow."""
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        try:
            customer = _allowed(tx, served, member, request)
        except _Refused as refused:
            head = signing_head(tx)
            if head.seq - start >= MAX_EVENTS:
                raise UsageError("the client is too far behind the log: sync it first") from None
            events, _ = served.events_in(tx, start, head.seq)
            return ReviewCheck(None, Refusal(refused.error, {}), events, head, served.vault.clock())
        if customer is None:
            return ReviewCheck()
        return ReviewCheck((customer.id or 0, customer.slug, customer.name))


def prepare_review(
    served: Served, login: Login, request: ReviewRequest, start: int
) -> PreparedReview:
    """The head a report's or an alerts run's event follows (checked again first)."""
    if request.action == "log":
        raise UsageError("a review of the log records nothing")
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        refusal = None
        try:
            _allowed(tx, served, member, request)
        except _Refused as refused:
            refusal = Refusal(refused.error, {})
        head = signing_head(tx)
        if head.seq - start >= MAX_EVENTS:
            raise UsageError("the client is too far behind the log: sync it first")
        events, _ = served.events_in(tx, start, head.seq)
        return PreparedReview(events, head, served.vault.clock(), refusal)


def record_review(
    served: Served,
    login: Login,
    request: ReviewRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> None:
    """Append the report's or alerts run's event the client signed."""
    if request.action == "log":
        raise UsageError("a review of the log records nothing")
    served.check_time(at)
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        try:
            customer = _allowed(tx, served, member, request)
        except _Refused as refused:
            raise refused.error from None
        draft = review_event(
            request.action,
            member.username,
            member.id,
            customer_id=customer.id if customer is not None else None,
            slug=customer.slug if customer is not None else None,
            alerts=request.alerts,
        )
        append_presigned(tx, draft, at, head, member.signing_key, signature)


def record_review_refusal(
    served: Served,
    login: Login,
    request: ReviewRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> CustodianError:
    """Append the refusal of a review the client signed (`Served.record_refused`)."""

    def check(tx: Session, member: Account, _found: dict[str, object]) -> None:
        try:
            _allowed(tx, served, member, request)
        except _Refused as refused:
            raise refused.error from None
        except (AccessDenied, NotFound):  # refused now for a reason not recorded
            raise UsageError("the review is refused for another reason: ask again") from None

    return served.record_refused(
        login,
        check,
        review_probe(request.action, request.customer),
        "the review",
        at,
        head,
        signature,
    )


class _Refused(Exception):
    """A refusal database mode records (`Actor.refuse`); other errors are raised as is."""

    def __init__(self, error: AccessDenied | NotFound) -> None:
        self.error = error


def _allowed(
    tx: Session, served: Served, member: Account, request: ReviewRequest
) -> Customer | None:
    """Database mode's rules (`access_log`): a report and alerts need a reader's role
    (refused and recorded); a report's customer must exist (refused, not recorded); a
    log's customer filter must name one the member may see (refused and recorded)."""
    now = served.vault.clock()
    if request.action == "log":
        if request.customer is None:
            return None
        try:
            return _visible(tx, member, request.customer, now)
        except (AccessDenied, NotFound) as exc:
            raise _Refused(exc) from None
    if member.role not in policy.READERS:
        roles = " or ".join(r.value for r in policy.READERS)
        raise _Refused(AccessDenied(f"{request.action} needs the role {roles}"))
    if request.action == "log-report":
        assert request.customer is not None
        return _visible(tx, member, request.customer, now)
    return None

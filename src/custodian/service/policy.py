"""Who may do what: each authorization rule of the service, stated once.

Pure functions over values (no I/O), and their SQL forms where a query must apply the same
rule (`live_grant_clause`), so the general path (`actor.py`) and the reveal's
single-lookup path (`reveal.py`) ask the same questions and get the same answers. The key
hierarchy enforces the same rules independently: a check skipped here still meets a key
that is not wrapped to the actor.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, or_

from ..clock import as_utc
from ..db.models import CustomerStatus, Role
from ..errors import AccessDenied, AuthenticationFailed, CustodianError, IntegrityError, NotFound

READERS = (Role.ADMIN, Role.AUDITOR)  # may see every customer's metadata and the whole log


class ReasonPolicy(Protocol):
    """What the reason rule reads: a `Customer` row, or the reveal lookup's row."""

    @property
    def slug(self) -> str | None: ...
    @property
    def require_reason(self) -> bool | None: ...
    @property
    def reason_pattern(self) -> str | None: ...


def grant_live(expires_at: datetime | None, now: datetime) -> bool:
    """A grant counts until its expiry, by the injected clock (not until a sweep runs)."""
    return expires_at is None or as_utc(expires_at) > now


def live_grant_clause(expires_at: Any, now: Any) -> ColumnElement[bool]:
    """`grant_live` as a SQL condition on a grant's `expires_at` column (`now` a value or a
    bind parameter); its negation selects the lapsed grants."""
    return or_(expires_at.is_(None), expires_at > now)


def may_see(role: Role, status: str, granted: bool) -> bool:
    """Who sees a customer at all: admins and auditors every one; a technician an active
    customer they hold a live grant for."""
    return role in READERS or (status == CustomerStatus.ACTIVE and granted)


def unseen_customer(role: Role, slug: str) -> CustodianError:
    """The refusal for a customer the actor may not see. A technician gets the same answer
    whether the customer exists or not; readers see every customer, so theirs is missing."""
    if role in READERS:
        return NotFound(f"no customer {slug!r}")
    return AccessDenied(f"no access to customer {slug!r}")


def disabled(username: str) -> AccessDenied:
    return AccessDenied(f"the account {username!r} is disabled")


def replaced(username: str) -> AuthenticationFailed:
    """A session holding keys the technician no longer has (an admin reset their
    passphrase): it may not act, nor sign, any more."""
    return AuthenticationFailed(
        f"the keys of {username!r} were replaced (passphrase reset): unlock again"
    )


def check_reason(customer: ReasonPolicy, reason: str | None) -> None:
    """The customer's reason policy: required, and matching its pattern if it has one."""
    if not customer.require_reason:
        return
    if not reason:
        raise AccessDenied(f"customer {customer.slug!r} requires a reason (--reason)")
    if customer.reason_pattern and not re.fullmatch(customer.reason_pattern, reason):
        raise AccessDenied(
            f"the reason does not match customer {customer.slug!r}'s pattern "
            f"{customer.reason_pattern!r}"
        )


def role_refusal(action: str, role: Role, *roles: Role) -> AccessDenied | None:
    """The refusal of `action` to a member without one of `roles` (`Actor.require_role`,
    and the server's checks of the same actions)."""
    if role in roles:
        return None
    return AccessDenied(f"{action} needs the role {' or '.join(r.value for r in roles)}")


def refusal_outcome(exc: CustodianError) -> str:
    """How a refused or failed attempt is recorded in the access log."""
    return {AccessDenied: "denied", IntegrityError: "integrity"}.get(type(exc), "failed")

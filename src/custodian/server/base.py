"""What every route of the server shares: the vault, the token secret, the login throttle
and the signing slot, and the two rules each request meets (`login`, `leased`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request

from .. import wire
from ..errors import AuthenticationFailed, Conflict, RateLimited
from ..service import HeadMoved, Login, Served
from .slot import SigningSlot
from .throttle import BURST, RATE, RateLimit, Throttle
from .tokens import Tokens


class Routes:
    def __init__(self, served: Served, tokens: Tokens, rate: float = RATE) -> None:
        self.served, self.tokens = served, tokens
        self.throttle = Throttle()
        self.rate = RateLimit(rate, max(BURST, rate * 5))
        self.slot = SigningSlot()
        self.vault_id = served.vault.vault_id()

    def login_of(self, request: Request) -> Login:
        """Who the bearer token names (checked against the database in the request's own
        transaction: `Served.logged_in`)."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise AuthenticationFailed("log in first: no session token")
        session = self.tokens.check(header[7:])
        request.state.member = session.member
        if not self.rate.allow(session.member):
            raise RateLimited("too many requests from this member: slow down")
        return Login(session.member, session.key_tag)

    @contextlib.contextmanager
    def leased(self, body: dict[str, Any]) -> Iterator[None]:
        """A commit under the lease its prepare took: refused once the lease is gone; the
        slot is free again afterwards, whatever happens."""
        lease = body.get("lease")
        if not isinstance(lease, str) or not self.slot.holds(lease):
            raise Conflict("the signing slot expired: prepare again")
        try:
            yield
        except HeadMoved:
            raise Conflict("the access log moved on: prepare again") from None
        finally:
            self.slot.release(lease)

    def prepared(
        self, prepare: Callable[[], Any], found: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        """A prepare under a lease on the signing slot: its answer is the lease, the log
        since the client's head, the head to sign after and the time, then the refusal
        to sign or what `found` makes of the prepared result. The lease is freed at once
        if the prepare fails."""
        lease = self.leasing()
        try:
            prepared = prepare()
        except BaseException:
            self.slot.release(lease)
            raise
        answer: dict[str, Any] = {
            "lease": lease,
            "events": [wire.event_out(e) for e in prepared.events],
            "head": wire.head_out(prepared.head),
            "at": prepared.at.isoformat(),
        }
        if prepared.refusal is not None:
            return {**answer, "refused": wire.refusal_out(prepared.refusal)}
        return {**answer, **found(prepared)}

    def leasing(self) -> str:
        """A lease on the signing slot for a prepare (`Conflict` when it stays taken)."""
        lease = self.slot.acquire()
        if lease is None:
            raise Conflict("the server is busy: try again")
        return lease

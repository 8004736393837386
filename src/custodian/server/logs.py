"""`log`, `log report` and `log alerts` through the server (docs/server.md, "Reviewing
the log"): the client reviews the log it fetches from `/log` and verifies itself; these
routes say whether a review is allowed and record what database mode records, signed
by the client (`service.served_review`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from ..errors import UsageError
from ..service import (
    ReviewRequest,
    check_review,
    prepare_review,
    record_review,
    record_review_refusal,
)
from .base import Routes
from .http import call, number, signed, text


class LogReviewRoutes(Routes):
    async def check_review(self, request: Request) -> Response:
        """Whether a review is allowed; refused, the answer holds a lease for the client
        to sign the refusal's event (`review_refused`)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            asked, start = review_in(body), number(body.get("from"), "from")
            lease = self.leasing() if asked.customer is not None or asked.action != "log" else None
            try:
                found = check_review(self.served, login, asked, start)
            except BaseException:
                self.slot.release(lease)
                raise
            if found.refusal is None:
                self.slot.release(lease)
                customer = found.customer
                return {
                    "customer": None
                    if customer is None
                    else {"id": customer[0], "slug": customer[1], "name": customer[2]}
                }
            assert lease is not None and found.head is not None and found.at is not None
            return {
                "lease": lease,
                "events": [wire.event_out(e) for e in found.events or []],
                "head": wire.head_out(found.head),
                "at": found.at.isoformat(),
                "refused": wire.refusal_out(found.refusal),
            }

        return await call(request, run, waits=True)

    async def prepare_review(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            asked, start = review_in(body), number(body.get("from"), "from")
            return self.prepared(
                lambda: prepare_review(self.served, login, asked, start), lambda _: {}
            )

        return await call(request, run, waits=True)

    async def reviewed(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                record_review(
                    self.served,
                    login,
                    review_in(body),
                    *signed(body),
                )
            return {}

        return await call(request, run)

    async def review_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_review_refusal(
                    self.served,
                    login,
                    review_in(body),
                    *signed(body),
                )

        return await call(request, run)


def review_in(body: dict[str, Any]) -> ReviewRequest:
    customer = body.get("customer")
    if customer is not None and not isinstance(customer, str):
        raise UsageError("'customer' must be a customer's slug")
    return ReviewRequest(text(body, "action"), customer, number(body.get("alerts", 0), "alerts"))

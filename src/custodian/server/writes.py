"""New versions (docs/server.md, "A new version") and the listings."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from ..errors import UsageError
from ..records import RETIRED_FILTERS
from ..service import (
    PAGE_SIZE,
    commit_system,
    commit_write,
    list_credentials,
    list_customers,
    prepare_system,
    prepare_write,
    record_list_refusal,
    record_system_refusal,
    record_write_refusal,
)
from .base import Routes
from .http import MAX_WRITE_BODY, call, number, signed, text


class WriteRoutes(Routes):
    async def prepare_write(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            write, start = (
                wire.write_request_in(body, committing=False),
                number(body.get("from"), "from"),
            )
            return self.prepared(
                lambda: prepare_write(self.served, login, write, start),
                lambda p: {"target": wire.write_target_out(p.target)},
            )

        return await call(request, run, waits=True)

    async def write(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            fields = body.get("fields")
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise UsageError("'fields' must be a list of field names")
            with self.leased(body):
                at, head, signature = signed(body)  # inside: a bad one frees the slot too
                version = commit_write(
                    self.served,
                    login,
                    wire.write_request_in(body, committing=True),
                    at=at,
                    head=head,
                    signature=signature,
                    version=number(body.get("version"), "version"),
                    fields=fields,
                    sealed=wire.bytes_of(body.get("sealed"), "sealed version"),
                )
            return {"version": version}

        return await call(request, run, limit=MAX_WRITE_BODY)

    async def write_refused(self, request: Request) -> Response:
        """Record the refusal of a write a client signed; answers with the refusal."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_write_refusal(
                    self.served,
                    login,
                    wire.write_request_in(body, committing=False),
                    *signed(body),
                )

        return await call(request, run)

    async def customers(self, request: Request) -> Response:
        def run(_: dict[str, Any]) -> dict[str, Any]:
            found = list_customers(self.served, self.login_of(request))
            return {"customers": [wire.customer_out(c) for c in found]}

        return await call(request, run, body=False)

    async def credentials(self, request: Request) -> Response:
        """A listing; a refused one (a customer the member may not see) holds the lease
        for the client to sign its event (`credentials_refused`)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            slug = body.get("customer")
            if slug is not None and not isinstance(slug, str):
                raise UsageError("'customer' must be a customer's slug")
            start = number(body.get("from"), "from")
            lease = self.leasing() if slug is not None else None
            try:
                found = list_credentials(
                    self.served,
                    login,
                    slug,
                    start,
                    after=_after(body.get("after")),
                    size=number(body.get("limit", PAGE_SIZE), "limit"),
                    retired=_retired(body.get("retired", "hide")),
                )
            except BaseException:
                self.slot.release(lease)
                raise
            if found.refusal is None:
                self.slot.release(lease)
                return {
                    "credentials": [wire.credential_out(c) for c in found.credentials],
                    "next": found.next,
                }
            assert (
                lease is not None
                and found.events is not None
                and found.head is not None
                and found.at
            )
            return {
                "lease": lease,
                "events": [wire.event_out(e) for e in found.events],
                "head": wire.head_out(found.head),
                "at": found.at.isoformat(),
                "refused": wire.refusal_out(found.refusal),
            }

        return await call(request, run, waits=True)

    async def credentials_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_list_refusal(
                    self.served,
                    login,
                    text(body, "customer"),
                    *signed(body),
                )

        return await call(request, run)

    async def prepare_system(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            asked, start = wire.system_request_in(body), number(body.get("from"), "from")
            return self.prepared(
                lambda: prepare_system(self.served, login, asked, start),
                lambda p: {"customer_id": p.customer_id},
            )

        return await call(request, run, waits=True)

    async def system(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                added = commit_system(
                    self.served,
                    login,
                    wire.system_request_in(body),
                    *signed(body),
                )
            return {"system": added.to_dict()}

        return await call(request, run)

    async def system_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_system_refusal(
                    self.served,
                    login,
                    wire.system_request_in(body),
                    *signed(body),
                )

        return await call(request, run)


def _after(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError("'after' must be a credential's path")
    return value


def _retired(value: Any) -> str:
    if value not in RETIRED_FILTERS:
        raise UsageError(f"'retired' must be one of {', '.join(RETIRED_FILTERS)}")
    return str(value)

"""The ASGI application of `custodian serve` (Starlette): HTTP in, `service.Served` out.

Nothing here decides who may read what: `Served` applies the service's rules, and a
client verifies every answer. This module routes requests, authenticates the bearer
token, throttles failed logins and holds the signing slot; `http.py` reads bodies, maps
errors to statuses (`custodian.wire`) and logs each request as one JSON line without its
body, token or any value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import wire
from ..errors import AuthenticationFailed, Conflict, CustodianError, UsageError
from ..service import (
    HeadMoved,
    Login,
    Served,
    auth_message,
    commit_write,
    list_credentials,
    list_customers,
    prepare_write,
    record_list_refusal,
    record_write_refusal,
)
from ..wire import API
from .http import (
    addr,
    call,
    not_allowed,
    not_found,
    number,
    reveal_request,
    text,
    who,
    write_request,
)
from .openapi import OPENAPI
from .slot import SigningSlot
from .throttle import Throttle
from .tokens import Tokens

Handler = Callable[[Request], Awaitable[Response]]


def create_app(served: Served, tokens: Tokens) -> Starlette:
    """The application over one vault; `tokens` holds the secret every instance shares."""
    api = _Api(served, tokens)
    routes = [
        Route("/health", api.health, methods=["GET"]),
        Route("/ready", api.ready, methods=["GET"]),
        Route(f"{API}/openapi.json", api.openapi, methods=["GET"]),
        Route(f"{API}/login/key", api.login_key, methods=["POST"]),
        Route(f"{API}/login/challenge", api.login_challenge, methods=["POST"]),
        Route(f"{API}/login", api.login, methods=["POST"]),
        Route(f"{API}/log", api.log, methods=["GET"]),
        Route(f"{API}/reveal/prepare", api.prepare_reveal, methods=["POST"]),
        Route(f"{API}/reveal", api.reveal, methods=["POST"]),
        Route(f"{API}/reveal/refused", api.refused, methods=["POST"]),
        Route(f"{API}/write/prepare", api.prepare_write, methods=["POST"]),
        Route(f"{API}/write", api.write, methods=["POST"]),
        Route(f"{API}/write/refused", api.write_refused, methods=["POST"]),
        Route(f"{API}/customers", api.customers, methods=["GET"]),
        Route(f"{API}/credentials", api.credentials, methods=["POST"]),
        Route(f"{API}/credentials/refused", api.credentials_refused, methods=["POST"]),
        Route(f"{API}/lease/release", api.release, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})


class _Api:
    def __init__(self, served: Served, tokens: Tokens) -> None:
        self.served, self.tokens = served, tokens
        self.throttle = Throttle()
        self.slot = SigningSlot()
        self.vault_id = served.vault.vault_id()

    # --- probes and the document ------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.served.check_ready)
        except CustodianError as exc:
            return JSONResponse({"status": "not ready", "why": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    # --- logging in ---------------------------------------------------------------------------

    async def login_key(self, request: Request) -> Response:
        """The member's passphrase-locked key bundle (their client opens it)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            account = self.served.find_member(username)
            if account.locked is None:
                raise AuthenticationFailed("authentication failed")
            return {"technician_id": account.id, "locked": account.locked.hex()}

        return await call(request, run)

    async def login_challenge(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            return {"challenge": self.tokens.challenge(username).hex(), "vault_id": self.vault_id}

        return await call(request, run)

    async def login(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            try:
                challenge = wire.bytes_of(body.get("challenge"), "challenge")
                signature = wire.bytes_of(body.get("signature"), "signature")
                self.tokens.check_challenge(username, challenge)
                account = self.served.find_member(username)
                message = auth_message(self.vault_id, username, challenge)
                if not self.served.verify_login(account, message, signature):
                    raise AuthenticationFailed("authentication failed")
            except CustodianError as exc:
                self._failed(request, username, exc)
                raise AuthenticationFailed("authentication failed") from None
            self.throttle.succeeded(who(request, username))
            token, ttl = self.tokens.issue(account.id, account.signing_key)
            return {"token": token, "expires_in": ttl, "technician_id": account.id}

        return await call(request, run)

    def _throttled(self, request: Request, username: str) -> None:
        wait = max(self.throttle.wait(who(request, username)), self.throttle.wait(addr(request)))
        if wait > 0:
            raise AuthenticationFailed(f"too many failed logins: try again in {wait:.0f} s")

    def _failed(self, request: Request, username: str, exc: CustodianError) -> None:
        self.throttle.failed(who(request, username))
        self.throttle.failed(addr(request))
        found = self.served.member_id(username)
        self.served.record_failed_login(username, found, f"server login: {exc}"[:200])

    # --- the log and the reveal -----------------------------------------------------------------

    def _login(self, request: Request) -> Login:
        """Who the bearer token names (checked against the database in the request's own
        transaction: `Served.logged_in`)."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise AuthenticationFailed("log in first: no session token")
        session = self.tokens.check(header[7:])
        request.state.member = session.member
        return Login(session.member, session.key_tag)

    async def log(self, request: Request) -> Response:
        def run(_: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            start = number(request.query_params.get("from"), "from")
            events, (seq, digest) = self.served.events(login, start)
            return {
                "events": [wire.event_out(e) for e in events],
                "head": {"seq": seq, "hash": digest.hex()},
            }

        return await call(request, run, body=False)

    async def prepare_reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            reveal, start = reveal_request(body), number(body.get("from"), "from")
            lease = self.slot.acquire()
            if lease is None:
                raise Conflict("the server is busy: try again")
            try:
                prepared = self.served.prepare_reveal(login, reveal, start)
            except BaseException:
                self.slot.release(lease)
                raise
            answer = {
                "lease": lease,
                "events": [wire.event_out(e) for e in prepared.events],
                "head": wire.head_out(prepared.head),
                "at": prepared.at.isoformat(),
            }
            if prepared.refusal is not None:
                return {**answer, "refused": wire.refusal_out(prepared.refusal)}
            assert prepared.target is not None
            return {**answer, "target": wire.target_out(prepared.target)}

        return await call(request, run)

    async def reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            with self._leased(body):
                sealed = self.served.commit_reveal(
                    login,
                    reveal_request(body),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )
            return {"target": wire.target_out(sealed.target), "sealed": sealed.sealed.hex()}

        return await call(request, run)

    async def prepare_write(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            write, start = write_request(body), number(body.get("from"), "from")
            lease = self.slot.acquire()
            if lease is None:
                raise Conflict("the server is busy: try again")
            try:
                prepared = prepare_write(self.served, login, write, start)
            except BaseException:
                self.slot.release(lease)
                raise
            answer = {
                "lease": lease,
                "events": [wire.event_out(e) for e in prepared.events],
                "head": wire.head_out(prepared.head),
                "at": prepared.at.isoformat(),
            }
            if prepared.refusal is not None:
                return {**answer, "refused": wire.refusal_out(prepared.refusal)}
            assert prepared.target is not None
            return {**answer, "target": wire.write_target_out(prepared.target)}

        return await call(request, run)

    async def write(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            fields = body.get("fields")
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise UsageError("'fields' must be a list of field names")
            with self._leased(body):
                version = commit_write(
                    self.served,
                    login,
                    write_request(body),
                    at=wire.time_of(body.get("at")),
                    head=wire.head_in(body.get("head")),
                    signature=wire.bytes_of(body.get("signature"), "signature"),
                    version=number(body.get("version"), "version"),
                    fields=fields,
                    sealed=wire.bytes_of(body.get("sealed"), "sealed version"),
                )
            return {"version": version}

        return await call(request, run)

    async def write_refused(self, request: Request) -> Response:
        """Record the refusal of a write a client signed; answers with the refusal."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            with self._leased(body):
                raise record_write_refusal(
                    self.served,
                    login,
                    write_request(body),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )

        return await call(request, run)

    @contextlib.contextmanager
    def _leased(self, body: dict[str, Any]) -> Iterator[None]:
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

    async def refused(self, request: Request) -> Response:
        """Record the refusal of a reveal a client signed; answers with the refusal."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            with self._leased(body):
                raise self.served.record_refusal(
                    login,
                    reveal_request(body),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )

        return await call(request, run)

    async def customers(self, request: Request) -> Response:
        def run(_: dict[str, Any]) -> dict[str, Any]:
            found = list_customers(self.served, self._login(request))
            return {"customers": [wire.customer_out(c) for c in found]}

        return await call(request, run, body=False)

    async def credentials(self, request: Request) -> Response:
        """A listing; a refused one (a customer the member may not see) holds the lease
        for the client to sign its event (`credentials_refused`)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            slug = body.get("customer")
            if slug is not None and not isinstance(slug, str):
                raise UsageError("'customer' must be a customer's slug")
            start = number(body.get("from"), "from")
            lease = self.slot.acquire() if slug is not None else None
            try:
                found = list_credentials(self.served, login, slug, start)
            except BaseException:
                self.slot.release(lease)
                raise
            if found.refusal is None:
                self.slot.release(lease)
                return {"credentials": [wire.credential_out(c) for c in found.credentials]}
            if lease is None:
                raise Conflict("the server is busy: try again")
            assert found.events is not None and found.head is not None and found.at
            return {
                "lease": lease,
                "events": [wire.event_out(e) for e in found.events],
                "head": wire.head_out(found.head),
                "at": found.at.isoformat(),
                "refused": wire.refusal_out(found.refusal),
            }

        return await call(request, run)

    async def credentials_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            with self._leased(body):
                raise record_list_refusal(
                    self.served,
                    login,
                    text(body, "customer"),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )

        return await call(request, run)

    async def release(self, request: Request) -> Response:
        """A prepared signer that will not commit frees the signing slot."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            self._login(request)
            self.slot.release(text(body, "lease"))
            return {}

        return await call(request, run)

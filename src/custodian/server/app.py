"""The ASGI application of `custodian serve` (Starlette): HTTP in, `service.Served` out.

Nothing here decides who may read what: `Served` applies the service's rules, and a
client verifies every answer. This module parses requests, authenticates the bearer
token, maps errors to statuses (`service.wire`), limits request sizes and failed logins,
and logs each request as one JSON line without its body, token or any value.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import wire
from ..errors import AuthenticationFailed, Conflict, CustodianError, UsageError
from ..secret import PRIMARY_FIELD
from ..service import (
    HeadMoved,
    Login,
    RevealRequest,
    Served,
    WriteRequest,
    auth_message,
    commit_write,
    prepare_write,
)
from ..wire import API
from .openapi import OPENAPI
from .slot import SigningSlot
from .throttle import Throttle
from .tokens import Tokens

MAX_BODY = 64 * 1024  # bytes a request body may hold
log = logging.getLogger("custodian.server")

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
        Route(f"{API}/lease/release", api.release, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed})


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
            username = _text(body, "user")
            self._throttled(request, username)
            account = self.served.find_member(username)
            if account.locked is None:
                raise AuthenticationFailed("authentication failed")
            return {"technician_id": account.id, "locked": account.locked.hex()}

        return await _call(request, run)

    async def login_challenge(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = _text(body, "user")
            self._throttled(request, username)
            return {"challenge": self.tokens.challenge(username).hex(), "vault_id": self.vault_id}

        return await _call(request, run)

    async def login(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = _text(body, "user")
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
            self.throttle.succeeded(_who(request, username))
            token, ttl = self.tokens.issue(account.id, account.signing_key)
            return {"token": token, "expires_in": ttl, "technician_id": account.id}

        return await _call(request, run)

    def _throttled(self, request: Request, username: str) -> None:
        wait = max(self.throttle.wait(_who(request, username)), self.throttle.wait(_addr(request)))
        if wait > 0:
            raise AuthenticationFailed(f"too many failed logins: try again in {wait:.0f} s")

    def _failed(self, request: Request, username: str, exc: CustodianError) -> None:
        self.throttle.failed(_who(request, username))
        self.throttle.failed(_addr(request))
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
            start = _int(request.query_params.get("from"), "from")
            events, (seq, digest) = self.served.events(login, start)
            return {
                "events": [wire.event_out(e) for e in events],
                "head": {"seq": seq, "hash": digest.hex()},
            }

        return await _call(request, run, body=False)

    async def prepare_reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            reveal, start = _reveal_request(body), _int(body.get("from"), "from")
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

        return await _call(request, run)

    async def reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            lease = body.get("lease")
            if not isinstance(lease, str) or not self.slot.holds(lease):
                raise Conflict("the signing slot expired: prepare the reveal again")
            try:
                sealed = self.served.commit_reveal(
                    login,
                    _reveal_request(body),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )
            except HeadMoved:
                raise Conflict("the access log moved on: prepare the reveal again") from None
            finally:
                self.slot.release(lease)
            return {"target": wire.target_out(sealed.target), "sealed": sealed.sealed.hex()}

        return await _call(request, run)

    async def prepare_write(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            write, start = _write_request(body), _int(body.get("from"), "from")
            lease = self.slot.acquire()
            if lease is None:
                raise Conflict("the server is busy: try again")
            try:
                prepared = prepare_write(self.served, login, write, start)
            except BaseException:
                self.slot.release(lease)
                raise
            return {
                "lease": lease,
                "events": [wire.event_out(e) for e in prepared.events],
                "head": wire.head_out(prepared.head),
                "at": prepared.at.isoformat(),
                "target": wire.write_target_out(prepared.target),
            }

        return await _call(request, run)

    async def write(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            lease = body.get("lease")
            if not isinstance(lease, str) or not self.slot.holds(lease):
                raise Conflict("the signing slot expired: prepare the write again")
            fields = body.get("fields")
            if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                raise UsageError("'fields' must be a list of field names")
            try:
                version = commit_write(
                    self.served,
                    login,
                    _write_request(body),
                    at=wire.time_of(body.get("at")),
                    head=wire.head_in(body.get("head")),
                    signature=wire.bytes_of(body.get("signature"), "signature"),
                    version=_int(body.get("version"), "version"),
                    fields=fields,
                    sealed=wire.bytes_of(body.get("sealed"), "sealed version"),
                )
            except HeadMoved:
                raise Conflict("the access log moved on: prepare the write again") from None
            finally:
                self.slot.release(lease)
            return {"version": version}

        return await _call(request, run)

    async def refused(self, request: Request) -> Response:
        """Record the refusal a client signed; answers with the refusal itself."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self._login(request)
            lease = body.get("lease")
            if not isinstance(lease, str) or not self.slot.holds(lease):
                raise Conflict("the signing slot expired: prepare the reveal again")
            try:
                raise self.served.record_refusal(
                    login,
                    _reveal_request(body),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )
            except HeadMoved:
                raise Conflict("the access log moved on: prepare the reveal again") from None
            finally:
                self.slot.release(lease)

        return await _call(request, run)

    async def release(self, request: Request) -> Response:
        """A prepared signer that will not commit frees the signing slot."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            self._login(request)
            self.slot.release(_text(body, "lease"))
            return {}

        return await _call(request, run)


# --- plumbing --------------------------------------------------------------------------------


async def _call(
    request: Request, run: Callable[[dict[str, Any]], dict[str, Any]], *, body: bool = True
) -> Response:
    """Read the JSON body, run `run` in the thread pool (it does database work), and
    answer with its result or its error; log the request either way."""
    started = time.perf_counter()
    status = 500
    try:
        parsed = await _body(request) if body else {}
        result = await run_in_threadpool(run, parsed)
        status = 200
        return JSONResponse(result)
    except CustodianError as exc:
        status = wire.status_of(exc)
        return JSONResponse(wire.error_body(exc), status_code=status)
    except Exception as exc:  # an answer, never a traceback, and never its message
        log.error("internal error %s on %s", type(exc).__name__, request.url.path)
        return JSONResponse(wire.error_body(CustodianError("internal server error")), 500)
    finally:
        _log_request(request, status, started)


async def _body(request: Request) -> dict[str, Any]:
    size = request.headers.get("content-length")
    if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
        raise UsageError(f"a request body holds at most {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise UsageError(f"a request body holds at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise UsageError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise UsageError("the request body is not a JSON object")
    return body


def _log_request(request: Request, status: int, started: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    record = {
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client": _addr(request),
        "member": getattr(request.state, "member", None),
    }
    log.info(json.dumps(record))


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 500:
        raise UsageError(f"{key!r} must be a non-empty string")
    return value


def _int(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what!r} must be a number") from None
    if number < 0:
        raise UsageError(f"{what!r} must not be negative")
    return number


def _reveal_request(body: dict[str, Any]) -> RevealRequest:
    field = body.get("field", PRIMARY_FIELD)
    reason = body.get("reason")
    version = body.get("version")
    if not isinstance(field, str) or (reason is not None and not isinstance(reason, str)):
        raise UsageError("'field' and 'reason' must be strings")
    if version is not None and type(version) is not int:
        raise UsageError("'version' must be a number")
    return RevealRequest(_text(body, "path"), field, reason, version)


def _write_request(body: dict[str, Any]) -> WriteRequest:
    expected = body.get("expected_version")
    if expected is not None and type(expected) is not int:
        raise UsageError("'expected_version' must be a number")
    return WriteRequest(_text(body, "path"), expected)


def _addr(request: Request) -> str:
    return request.client.host if request.client else "-"


def _who(request: Request, username: str) -> str:
    return f"{_addr(request)}\x00{username}"


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(wire.error_body(UsageError(f"no such endpoint {request.url.path}")), 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(wire.error_body(UsageError(f"{request.method} is not allowed here")), 405)

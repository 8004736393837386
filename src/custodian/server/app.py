"""The ASGI application of `custodian serve` (Starlette): HTTP in, `service.Served` out.

Nothing here decides who may read what: `Served` applies the service's rules, and a
client verifies every answer. This module routes requests to their handlers: `login.py`
(logging in), `reveals.py` (the log feed, the reveal), `writes.py` (new versions, the
listings), `logs.py` (reviewing the log), all over `base.Routes` (the bearer token, the
signing slot's lease); `http.py` reads bodies, maps errors to statuses (`custodian.wire`)
and logs each request as one JSON line without its body, token or any value.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import CustodianError
from ..service import Served
from ..wire import API
from .credentials import CredentialRoutes
from .http import call, not_allowed, not_found, text
from .login import LoginRoutes
from .logs import LogReviewRoutes
from .openapi import OPENAPI
from .reveals import RevealRoutes
from .throttle import RATE
from .tokens import Tokens
from .writes import WriteRoutes


def create_app(served: Served, tokens: Tokens, rate: float = RATE) -> Starlette:
    """The application over one vault; `tokens` holds the secret every instance shares,
    `rate` the requests per second each member may send (0: no limit)."""
    api = _Api(served, tokens, rate)
    routes = [
        Route("/health", api.health, methods=["GET"]),
        Route("/ready", api.ready, methods=["GET"]),
        Route(f"{API}/openapi.json", api.openapi, methods=["GET"]),
        Route(f"{API}/login/key", api.login_key, methods=["POST"]),
        Route(f"{API}/login/challenge", api.login_challenge, methods=["POST"]),
        Route(f"{API}/login/verifier", api.login_verifier, methods=["POST"]),
        Route(f"{API}/login/failed", api.login_failed, methods=["POST"]),
        Route(f"{API}/login", api.login, methods=["POST"]),
        Route(f"{API}/log", api.log, methods=["GET"]),
        Route(f"{API}/log/verify", api.prepare_verification, methods=["POST"]),
        Route(f"{API}/log/verified", api.verified, methods=["POST"]),
        Route(f"{API}/log/verify/refused", api.verification_refused, methods=["POST"]),
        Route(f"{API}/log/review/check", api.check_review, methods=["POST"]),
        Route(f"{API}/log/review/prepare", api.prepare_review, methods=["POST"]),
        Route(f"{API}/log/reviewed", api.reviewed, methods=["POST"]),
        Route(f"{API}/log/review/refused", api.review_refused, methods=["POST"]),
        Route(f"{API}/reveal/prepare", api.prepare_reveal, methods=["POST"]),
        Route(f"{API}/reveal", api.reveal, methods=["POST"]),
        Route(f"{API}/reveal/refused", api.refused, methods=["POST"]),
        Route(f"{API}/write/prepare", api.prepare_write, methods=["POST"]),
        Route(f"{API}/write", api.write, methods=["POST"]),
        Route(f"{API}/write/refused", api.write_refused, methods=["POST"]),
        Route(f"{API}/system/prepare", api.prepare_system, methods=["POST"]),
        Route(f"{API}/system", api.system, methods=["POST"]),
        Route(f"{API}/system/refused", api.system_refused, methods=["POST"]),
        Route(f"{API}/customers", api.customers, methods=["GET"]),
        Route(f"{API}/credentials", api.credentials, methods=["POST"]),
        Route(f"{API}/credentials/refused", api.credentials_refused, methods=["POST"]),
        Route(f"{API}/lease/release", api.release, methods=["POST"]),
        Route(f"{API}/credential", api.credential, methods=["POST"]),
        Route(f"{API}/credential/refused", api.credential_refused, methods=["POST"]),
        Route(f"{API}/edit/prepare", api.prepare_edit, methods=["POST"]),
        Route(f"{API}/edit", api.edit, methods=["POST"]),
        Route(f"{API}/edit/refused", api.edit_refused, methods=["POST"]),
        Route(f"{API}/delete/prepare", api.prepare_delete, methods=["POST"]),
        Route(f"{API}/delete", api.delete, methods=["POST"]),
        Route(f"{API}/delete/refused", api.delete_refused, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})


class _Api(LoginRoutes, RevealRoutes, WriteRoutes, CredentialRoutes, LogReviewRoutes):
    """Every route of the application, and the probes."""

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

    async def release(self, request: Request) -> Response:
        """A prepared signer that will not commit frees the signing slot."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            self.login_of(request)
            self.slot.release(text(body, "lease"))
            return {}

        return await call(request, run)

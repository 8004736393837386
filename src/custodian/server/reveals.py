"""The log feed, the reveal (docs/server.md, "A reveal") and an auditor's verification."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from ..errors import UsageError
from ..service import prepare_verification, record_verification, record_verification_refusal
from .base import Routes
from .http import call, number, reveal_request, signed


class RevealRoutes(Routes):
    async def log(self, request: Request) -> Response:
        def run(_: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            start = number(request.query_params.get("from"), "from")
            events, (seq, digest) = self.served.events(login, start)
            return {
                "events": [wire.event_out(e) for e in events],
                "head": {"seq": seq, "hash": digest.hex()},
            }

        return await call(request, run, body=False)

    async def prepare_reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            reveal, start = reveal_request(body), number(body.get("from"), "from")
            return self.prepared(
                lambda: self.served.prepare_reveal(login, reveal, start),
                lambda p: {"target": wire.target_out(p.target), "metadata": p.metadata},
            )

        return await call(request, run, waits=True)

    async def reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                sealed = self.served.commit_reveal(
                    login,
                    reveal_request(body),
                    *signed(body),
                )
            answer: dict[str, Any] = {"target": wire.target_out(sealed.target)}
            if sealed.value is not None:
                return {**answer, "value": sealed.value}
            assert sealed.sealed is not None
            return {**answer, "sealed": sealed.sealed.hex()}

        return await call(request, run)

    async def refused(self, request: Request) -> Response:
        """Record the refusal of a reveal a client signed; answers with the refusal."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise self.served.record_refusal(
                    login,
                    reveal_request(body),
                    *signed(body),
                )

        return await call(request, run)

    async def prepare_verification(self, request: Request) -> Response:
        """Where an auditor's verification goes (after their client verified the log)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            start = number(body.get("from"), "from")
            return self.prepared(
                lambda: prepare_verification(self.served, login, start), lambda _: {}
            )

        return await call(request, run, waits=True)

    async def verified(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            ok = body.get("ok")
            if not isinstance(ok, bool):
                raise UsageError("'ok' says whether the log verified")
            with self.leased(body):
                at, head, signature = signed(body)  # inside: a bad one frees the slot too
                record_verification(
                    self.served,
                    login,
                    ok=ok,
                    through=number(body.get("through"), "through"),
                    at=at,
                    head=head,
                    signature=signature,
                )
            return {}

        return await call(request, run)

    async def verification_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_verification_refusal(
                    self.served,
                    login,
                    *signed(body),
                )

        return await call(request, run)

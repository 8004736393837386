"""The log feed and the reveal (docs/server.md, "A reveal")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from .base import Routes
from .http import call, number, reveal_request


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
            lease = self.leasing()
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
            target = wire.target_out(prepared.target)
            return {**answer, "target": target, "metadata": prepared.metadata}

        return await call(request, run)

    async def reveal(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                sealed = self.served.commit_reveal(
                    login,
                    reveal_request(body),
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
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
                    wire.time_of(body.get("at")),
                    wire.head_in(body.get("head")),
                    wire.bytes_of(body.get("signature"), "signature"),
                )

        return await call(request, run)

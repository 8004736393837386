"""`cred history`, `cred show`, the everyday changes (`cred rename|move|edit`, `system
rename`) and deletions (`cred delete`, `system delete`) through the server
(`service.served_admin`, `service.served_delete`; docs/server.md, "Showing, changing and
deleting a credential")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from ..audit.append import EventDraft
from ..errors import UsageError
from ..records import CredentialDetail, CredentialEdit, SystemEdit
from ..service import (
    Edited,
    EditRequest,
    commit_delete,
    commit_edit,
    prepare_delete,
    prepare_edit,
    read_credential,
    record_delete_refusal,
    record_edit_refusal,
    record_read_refusal,
)
from .base import Routes
from .http import call, number, signed, text

_CRED_TEXTS = ("name", "system", "username", "url", "notes")
_SYSTEM_TEXTS = ("name", "kind", "host", "notes")


class CredentialRoutes(Routes):
    async def credential(self, request: Request) -> Response:
        """A credential's versions (`history`) or its details (`show`); a refused one
        holds the lease for the client to sign its event (`credential_refused`)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            what, path = text(body, "what"), text(body, "path")
            start = number(body.get("from"), "from")
            lease = self.leasing()
            try:
                found = read_credential(self.served, login, what, path, start)
            except BaseException:
                self.slot.release(lease)
                raise
            answer: dict[str, Any] = {
                "events": [wire.event_out(e) for e in found.events],
                "head": wire.head_out(found.head),
                "at": found.at.isoformat(),
            }
            if found.refusal is not None:
                return {**answer, "lease": lease, "refused": wire.refusal_out(found.refusal)}
            self.slot.release(lease)
            assert found.detail is not None
            return {
                **answer,
                "customer_id": found.customer_id,
                "credential_id": found.credential_id,
                "detail": detail_out(found.detail),
            }

        return await call(request, run, waits=True)

    async def credential_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_read_refusal(
                    self.served,
                    login,
                    text(body, "what"),
                    text(body, "path"),
                    *signed(body),
                )

        return await call(request, run)

    async def prepare_edit(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            asked, start = edit_request_in(body), number(body.get("from"), "from")
            return self.prepared(
                lambda: prepare_edit(self.served, login, asked, start),
                lambda p: {"event": edited_out(p.edited)},
            )

        return await call(request, run, waits=True)

    async def edit(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                path = commit_edit(
                    self.served,
                    login,
                    edit_request_in(body),
                    *signed(body),
                )
            return {"path": path}

        return await call(request, run)

    async def edit_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_edit_refusal(
                    self.served,
                    login,
                    edit_request_in(body),
                    *signed(body),
                )

        return await call(request, run)

    async def prepare_delete(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            path, start = text(body, "path"), number(body.get("from"), "from")
            return self.prepared(
                lambda: prepare_delete(self.served, login, path, start),
                lambda p: {"event": event_out(p.event)},
            )

        return await call(request, run, waits=True)

    async def delete(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                destroyed = commit_delete(
                    self.served,
                    login,
                    text(body, "path"),
                    *signed(body),
                )
            return {"destroyed": destroyed}

        return await call(request, run)

    async def delete_refused(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            with self.leased(body):
                raise record_delete_refusal(
                    self.served,
                    login,
                    text(body, "path"),
                    *signed(body),
                )

        return await call(request, run)


def event_out(event: EventDraft | None) -> dict[str, Any]:
    """An event the client is to sign: what it says but who signs it."""
    assert event is not None
    return {
        "action": event.action,
        "customer_id": event.customer_id,
        "credential_id": event.credential_id,
        "target": event.target,
        "detail": event.detail,
    }


def detail_out(detail: CredentialDetail) -> dict[str, Any]:
    """`cred show` but who can open it (the client builds that from its directory)."""
    return {
        "credential": wire.credential_out(detail.credential),
        "port": detail.port,
        "notes": detail.notes,
        "tags": list(detail.tags),
        "versions": [{**v.to_dict(), "fields": list(v.fields)} for v in detail.versions],
    }


def edited_out(edited: Edited | None) -> dict[str, Any]:
    assert edited is not None
    return {
        "action": edited.action,
        "customer_id": edited.customer_id,
        "credential_id": edited.credential_id,
        "target": edited.target,
        "detail": edited.detail,
    }


def edit_request_in(body: dict[str, Any]) -> EditRequest:
    """A change as the server reads it (`UsageError`s: the client's input is bad)."""
    path, change = text(body, "path"), body.get("change")
    if not isinstance(change, dict):
        raise UsageError("'change' must be an object")
    system = body.get("kind") == "system"
    if not system and body.get("kind") != "credential":
        raise UsageError("'kind' must be 'credential' or 'system'")
    allowed = set(_SYSTEM_TEXTS) | {"port"} if system else set(_CRED_TEXTS) | {"tags"}
    if set(change) - allowed:
        raise UsageError(f"unknown change {sorted(set(change) - allowed)[0][:40]!r}")
    texts = {k: _opt_text(change.get(k), k) for k in allowed - {"port", "tags"}}
    if system:
        port = change.get("port")
        if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
            raise UsageError("'port' must be a number")
        return EditRequest(path, SystemEdit(port=port, **texts))
    tags = change.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        raise UsageError("'tags' must be a list of tags")
    return EditRequest(
        path, CredentialEdit(tags=tuple(tags) if tags is not None else None, **texts)
    )


def _opt_text(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{what!r} must be a text")
    return value

"""Writes through the server: new versions, new credentials, new systems
(docs/server.md, "A new version"). Each prepares, verifies what the server found
(`service.Member`), seals and signs here, then commits; again when the log moved on first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import wire
from ..errors import Conflict, IntegrityError
from ..records import SystemInfo
from ..secret import SecretPayload
from ..service import NewCredential, SystemRequest, TargetSettings, WriteRequest, system_event

if TYPE_CHECKING:
    from .session import RemoteSession

PREPARE_TRIES = 20  # a write signs again when other events came first, at most this often


def set_secret(
    session: RemoteSession,
    path: str,
    payload: SecretPayload,
    *,
    keep_other_fields: bool = True,
    expected_version: int | None = None,
) -> int:
    """A new version of a credential: sealed here to the customer key the directory
    names, signed here, stored by the server with its event (`service.served_write`)."""
    request = WriteRequest(path, expected_version)
    return _write(session, request, payload, keep_other_fields)[0]


def add_credential(
    session: RemoteSession,
    path: str,
    payload: SecretPayload,
    *,
    username: str | None = None,
    url: str | None = None,
    notes: str | None = None,
) -> int:
    """A new credential and its first version, as `set_secret` writes one (the server
    reserves its id at prepare: the signed event names it). Returns the version."""
    request = WriteRequest(path, new=NewCredential(username, url, notes))
    return _write(session, request, payload, False)[0]


def add_system(
    session: RemoteSession, path: str, kind: str, *, notes: str | None = None, **target: Any
) -> SystemInfo:
    """A system and its target settings (`wire.SYSTEM_TEXT`, `port`): the server
    builds and checks it, this client signs its event."""
    request = SystemRequest(path, kind, notes, TargetSettings(**target))
    asked = wire.system_request_out(path, kind, notes, target)
    for _ in range(PREPARE_TRIES):
        m = session.member
        prepared = session.call("POST", "/system/prepare", body={**asked, "from": m.trust.start()})
        try:
            head, at = session.caught_up(prepared)
            if "refused" in prepared:
                session.record_refusal("/system/refused", asked, request.probe(), prepared)
                continue
            customer = wire.int_of(prepared.get("customer_id"), "customer")
            draft = system_event(request, session.username, session.technician_id, customer)
            signature = m.sign_event(draft, head, at)
        except BaseException:
            session.release(prepared.get("lease"))
            raise
        body = {
            **asked,
            "lease": prepared.get("lease"),
            "at": at.isoformat(),
            "head": wire.head_out(head),
            "signature": signature.hex(),
        }
        try:
            added = session.call("POST", "/system", body=body)
        except Conflict:
            continue
        m.appended()
        return wire.system_in(added.get("system"))
    raise Conflict("the access log kept moving on: try again")


def _write(
    session: RemoteSession, request: WriteRequest, payload: SecretPayload, keep_other_fields: bool
) -> tuple[int, int]:
    """Prepare, verify, seal, sign, commit; again when the log moved on first.
    Returns the version and the credential's id."""
    asked = wire.write_request_out(request)
    for _ in range(PREPARE_TRIES):
        m = session.member
        prepared = session.call("POST", "/write/prepare", body={**asked, "from": m.trust.start()})
        try:
            head, at = session.caught_up(prepared)
            if "refused" in prepared:
                session.record_refusal("/write/refused", asked, request.probe(), prepared)
                continue
            target = wire.write_target_in(prepared.get("target"))
            version, fields, sealed, signature = m.seal_write(
                request,
                payload,
                keep_other_fields=keep_other_fields,
                target=target,
                head=head,
                at=at,
            )
        except BaseException:
            session.release(prepared.get("lease"))
            raise
        body = {
            **asked,
            "credential_id": target.credential_id,
            "lease": prepared.get("lease"),
            "at": at.isoformat(),
            "head": wire.head_out(head),
            "signature": signature.hex(),
            "version": version,
            "fields": fields,
            "sealed": sealed.hex(),
        }
        try:
            written = session.call("POST", "/write", body=body)
        except Conflict:
            continue  # another event came first: prepare again
        if written.get("version") != version:
            raise IntegrityError("the server stored another version than this client sealed")
        m.appended()
        return version, target.credential_id
    raise Conflict("the access log kept moving on: try again")

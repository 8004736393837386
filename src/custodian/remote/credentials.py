"""`cred history`, `cred show`, the everyday changes (`cred rename|move|edit`, `system
rename`) and deletions (`cred delete`, `system delete`) through the server
(`service.served_admin`, `service.served_delete`). What the server answers
is checked against the key directory this client verified (`service.verified_detail`,
`service.check_edit`) before it is shown or signed; refusals are signed here and
recorded by the server, as database mode records them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import wire
from ..audit.append import EventDraft
from ..clock import utcnow
from ..errors import Conflict, IntegrityError
from ..records import CredentialDetail, CredentialEdit, SystemEdit, VersionInfo
from ..service import (
    Edited,
    EditRequest,
    check_delete,
    check_edit,
    delete_probe,
    edit_event,
    read_probe,
    verified_detail,
)
from .writes import PREPARE_TRIES

if TYPE_CHECKING:
    from .session import RemoteSession


def history(session: RemoteSession, path: str) -> list[VersionInfo]:
    """Every version of the credential at `path`, oldest first."""
    return list(_read(session, "history", path).versions)


def show_credential(session: RemoteSession, path: str) -> CredentialDetail:
    """Its metadata, field names, versions, and who can open it (from the directory)."""
    return _read(session, "show", path)


def edit(session: RemoteSession, path: str, change: CredentialEdit | SystemEdit) -> str:
    """Rename, move or edit a credential, or rename or edit a system (by `change`'s
    kind); the path after the change."""
    request = EditRequest(path, change)
    asked = edit_request_out(request)
    for _ in range(PREPARE_TRIES):
        m = session.member
        prepared = session.call("POST", "/edit/prepare", body={**asked, "from": m.trust.start()})
        try:
            head, at = session.caught_up(prepared)
            if "refused" in prepared:
                session.record_refusal("/edit/refused", asked, request.probe(), prepared)
                continue
            edited = edited_in(prepared.get("event"))
            check_edit(m, request, edited)
            signature = m.sign_event(edit_event(edited, m.username, m.technician_id), head, at)
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
            done = session.call("POST", "/edit", body=body)
        except Conflict:
            continue  # another event came first: prepare again
        if done.get("path") != edited.target:
            raise IntegrityError("the server made another change than the one signed")
        m.appended()
        return edited.target
    raise Conflict("the access log kept moving on: try again")


def delete(session: RemoteSession, path: str) -> dict[str, int]:
    """Delete a credential or a system (admins): the server destroys its versions and
    appends the event this client signed, with the key-directory changes (`uncred`)
    checked here first (`service.check_delete`). What was destroyed."""
    for _ in range(PREPARE_TRIES):
        m = session.member
        prepared = session.call(
            "POST", "/delete/prepare", body={"path": path, "from": m.trust.start()}
        )
        try:
            head, at = session.caught_up(prepared)
            if "refused" in prepared:
                probe = delete_probe(path, m.role)
                session.record_refusal("/delete/refused", {"path": path}, probe, prepared)
                continue
            draft = event_in(prepared.get("event"), m.username, m.technician_id)
            check_delete(m, path, draft)
            signature = m.sign_event(draft, head, at)
        except BaseException:
            session.release(prepared.get("lease"))
            raise
        body = {
            "path": path,
            "lease": prepared.get("lease"),
            "at": at.isoformat(),
            "head": wire.head_out(head),
            "signature": signature.hex(),
        }
        try:
            done = session.call("POST", "/delete", body=body)
        except Conflict:
            continue
        destroyed = done.get("destroyed")
        assert draft.detail is not None
        if not isinstance(destroyed, dict) or destroyed != draft.detail.get("destroyed"):
            raise IntegrityError("the server made another deletion than the one signed")
        m.appended()
        return {str(k): int(v) for k, v in destroyed.items()}
    raise Conflict("the access log kept moving on: try again")


def _read(session: RemoteSession, what: str, path: str) -> CredentialDetail:
    probe = read_probe(what, path)
    for _ in range(PREPARE_TRIES):
        start = session.member.trust.start()
        body = {"what": what, "path": path, "from": start}
        answer = session.call("POST", "/credential", body=body)
        try:
            session.caught_up(answer)  # the directory as of the read: what it is checked by
            if "refused" in answer:
                session.record_refusal(
                    "/credential/refused", {"what": what, "path": path}, probe, answer
                )
                continue  # the log moved on first: ask again
        except BaseException:
            session.release(answer.get("lease"))
            raise
        return verified_detail(
            session.member,
            path,
            wire.int_of(answer.get("customer_id"), "customer"),
            wire.int_of(answer.get("credential_id"), "credential"),
            detail_in(answer.get("detail")),
            utcnow(),
        )
    raise Conflict("the access log kept moving on: try again")


def edit_request_out(request: EditRequest) -> dict[str, Any]:
    change = request.change
    kind = "system" if isinstance(change, SystemEdit) else "credential"
    fields = {k: v for k, v in vars(change).items() if v is not None}
    if "tags" in fields:
        fields["tags"] = list(fields["tags"])
    return {"path": request.path, "kind": kind, "change": fields}


def detail_in(item: Any) -> CredentialDetail:
    """`cred show` as the server sent it (checked afterwards: `verified_detail`)."""
    if not isinstance(item, dict):
        raise IntegrityError("the server sent a malformed credential")
    try:
        port = item["port"]
        versions = tuple(
            VersionInfo(
                wire.int_of(v["version"], "version"),
                wire.int_of(v["key_version"], "version"),
                tuple(str(f) for f in v["fields"]),
                str(v["created_by"]),
                wire.time_of(v["created_at"]),
            )
            for v in wire.list_of(item["versions"])
        )
        notes = item["notes"]
        return CredentialDetail(
            wire.credential_in(item["credential"]),
            None if port is None else wire.int_of(port, "port"),
            notes if notes is None else str(notes),
            tuple(str(t) for t in wire.list_of(item["tags"])),
            versions,
            (),
        )
    except (KeyError, TypeError):
        raise IntegrityError("the server sent a malformed credential") from None


def event_in(item: Any, username: str, member: int) -> EventDraft:
    """An event the server prepared, as this member would sign it."""
    edited = edited_in(item)
    return EventDraft(
        edited.action,
        "ok",
        username,
        member,
        customer_id=edited.customer_id,
        target=edited.target,
        credential_id=edited.credential_id,
        detail=edited.detail,
    )


def edited_in(item: Any) -> Edited:
    if not isinstance(item, dict) or not isinstance(item.get("detail"), dict):
        raise IntegrityError("the server sent a malformed change")
    target, action = item.get("target"), item.get("action")
    if not isinstance(target, str) or not isinstance(action, str):
        raise IntegrityError("the server sent a malformed change")
    return Edited(
        action,
        wire.int_or_none(item.get("customer_id"), "customer"),
        wire.int_or_none(item.get("credential_id"), "credential"),
        target,
        dict(item["detail"]),
    )

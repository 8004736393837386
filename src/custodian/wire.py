"""The server API's JSON shapes, in one module both sides import: `custodian.server`
writes them, `custodian.remote` reads them (docs/server.md).

Bytes travel as lowercase hex, times as ISO 8601 with their offset; an event is the list
of the access log's columns in their stored order, so a client replays exactly the bytes
the log hashed (`trust_log.replay`). An error is `{"error": {"type", "exit", "message"}}`,
its type one of `errors.py`'s classes, so a client raises what a database-mode command
raises and exits with the same code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import errors
from .audit.append import SigningHead
from .errors import AccessDenied, CustodianError, IntegrityError, NotFound
from .records import CredentialInfo, CustomerInfo, SystemInfo
from .service import (
    NewCredential,
    Refusal,
    RevealTarget,
    SystemRequest,
    TargetSettings,
    WriteRequest,
    WriteTarget,
)

API = "/v1"

# HTTP status for each error class (the most specific class listed first wins).
STATUS: tuple[tuple[type[CustodianError], int], ...] = (
    (errors.Conflict, 409),
    (errors.NotFound, 404),
    (errors.AccessDenied, 403),
    (errors.AuthenticationFailed, 401),
    (errors.UsageError, 400),
    (errors.IntegrityError, 500),
    (errors.RateLimited, 429),
    (errors.BackendUnavailable, 503),
    (CustodianError, 500),
)
_TYPES: dict[str, type[CustodianError]] = {
    cls.__name__: cls
    for cls in (
        CustodianError,
        errors.UsageError,
        errors.AlreadyExists,
        errors.NotFound,
        errors.AccessDenied,
        errors.AuthenticationFailed,
        errors.SessionLocked,
        errors.IntegrityError,
        errors.BackendUnavailable,
        errors.RateLimited,
        errors.Conflict,
    )
}


def status_of(exc: CustodianError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def error_body(exc: CustodianError) -> dict[str, Any]:
    """The error as the client raises it again: its nearest class the client knows."""
    kind = next(c.__name__ for c in type(exc).__mro__ if c.__name__ in _TYPES)
    return {"error": {"type": kind, "exit": exc.exit_code, "message": str(exc)[:1000]}}


def error_from(body: Any, status: int) -> CustodianError:
    """The error a server's answer states; an answer that is not one is an integrity
    failure (the server said something a server of ours never says)."""
    try:
        error = body["error"]
        cls = _TYPES[error["type"]]
        return cls(str(error["message"])[:1000])
    except (KeyError, TypeError):
        return IntegrityError(f"the server answered {status} without an error this client knows")


# --- values -------------------------------------------------------------------------------


def hex_or_none(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


def bytes_of(value: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise IntegrityError(f"the server sent a malformed {what}") from None


def bytes_or_none(value: Any, what: str) -> bytes | None:
    return None if value is None else bytes_of(value, what)


def time_of(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise IntegrityError("the server sent a malformed time") from None
    if at.tzinfo is None:
        raise IntegrityError("the server sent a time without its offset")
    return at


def int_of(value: Any, what: str) -> int:
    if type(value) is not int:
        raise IntegrityError(f"the server sent a malformed {what}")
    return value


def int_or_none(value: Any, what: str) -> int | None:
    return None if value is None else int_of(value, what)


# --- the log --------------------------------------------------------------------------------


def event_out(row: Any) -> list[Any]:
    """One event row (`trust_log` column order, its time decoded) as JSON."""
    seq, at, *middle, detail, prev, digest, signature = row
    return [
        seq,
        at.isoformat(),
        *middle,
        detail,
        bytes(prev).hex(),
        bytes(digest).hex(),
        hex_or_none(bytes(signature) if signature is not None else None),
    ]


def event_in(item: Any) -> tuple[Any, ...]:
    """An event row as `Trust.catch_up` reads it (times already datetimes)."""
    if not isinstance(item, list) or len(item) != 14:
        raise IntegrityError("the server sent a malformed event")
    seq, at, *middle, detail, prev, digest, signature = item
    for value in (*middle, detail):
        if value is not None and not isinstance(value, int | str):
            raise IntegrityError("the server sent a malformed event")
    return (
        int_of(seq, "event"),
        time_of(at),
        *middle,
        detail,
        bytes_of(prev, "event"),
        bytes_of(digest, "event"),
        bytes_or_none(signature, "event"),
    )


def head_out(head: SigningHead) -> dict[str, Any]:
    return {"seq": head.seq, "hash": head.hash.hex(), "signature": hex_or_none(head.signature)}


def head_in(item: Any) -> SigningHead:
    if not isinstance(item, dict):
        raise IntegrityError("the server sent a malformed log head")
    return SigningHead(
        int_of(item.get("seq"), "log head"),
        bytes_of(item.get("hash"), "log head"),
        bytes_or_none(item.get("signature"), "log head"),
    )


def target_out(target: RevealTarget) -> dict[str, Any]:
    return {
        "customer_id": target.customer_id,
        "slug": target.slug,
        "credential_id": target.credential_id,
        "version": target.version,
        "key_version": target.key_version,
        "kv_version": target.kv_version,
        "wrapped": hex_or_none(target.wrapped),
    }


def target_in(item: Any) -> RevealTarget:
    if not isinstance(item, dict) or not isinstance(item.get("slug"), str):
        raise IntegrityError("the server sent a malformed credential")
    return RevealTarget(
        int_of(item.get("customer_id"), "credential"),
        item["slug"],
        int_of(item.get("credential_id"), "credential"),
        int_of(item.get("version"), "credential"),
        int_of(item.get("key_version"), "credential"),
        int_or_none(item.get("kv_version"), "credential"),
        bytes_or_none(item.get("wrapped"), "key wrap"),
    )


def refusal_out(refusal: Refusal) -> dict[str, Any]:
    return {
        **error_body(refusal.error),
        "customer_id": refusal.fields.get("customer_id"),
        "credential_id": refusal.fields.get("credential_id"),
    }


def refusal_in(item: Any) -> Refusal:
    if not isinstance(item, dict):
        raise IntegrityError("the server sent a malformed refusal")
    error = error_from(item, 403)
    if not isinstance(error, AccessDenied | NotFound):
        raise IntegrityError("the server sent a malformed refusal")
    return Refusal(
        error,
        {
            "customer_id": int_or_none(item.get("customer_id"), "refusal"),
            "credential_id": int_or_none(item.get("credential_id"), "refusal"),
        },
    )


def write_target_out(target: WriteTarget) -> dict[str, Any]:
    current = target.current
    return {
        "customer_id": target.customer_id,
        "slug": target.slug,
        "credential_id": target.credential_id,
        "current_version": target.current_version,
        "current_fields": list(target.current_fields),
        "key_version": target.key_version,
        "public_key": target.public_key.hex(),
        "current": None
        if current is None
        else {"key_version": current[0], "sealed": current[1].hex(), "wrapped": current[2].hex()},
        "field_limit": target.field_limit,
    }


def write_target_in(item: Any) -> WriteTarget:
    if not isinstance(item, dict) or not isinstance(item.get("slug"), str):
        raise IntegrityError("the server sent a malformed credential")
    fields = item.get("current_fields")
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise IntegrityError("the server sent a malformed credential")
    current = item.get("current")
    if current is not None and not isinstance(current, dict):
        raise IntegrityError("the server sent a malformed credential")
    return WriteTarget(
        int_of(item.get("customer_id"), "credential"),
        item["slug"],
        int_of(item.get("credential_id"), "credential"),
        int_of(item.get("current_version"), "credential"),
        tuple(fields),
        int_of(item.get("key_version"), "credential"),
        bytes_of(item.get("public_key"), "customer key"),
        None
        if current is None
        else (
            int_of(current.get("key_version"), "credential"),
            bytes_of(current.get("sealed"), "payload"),
            bytes_of(current.get("wrapped"), "key wrap"),
        ),
        int_of(item.get("field_limit"), "field limit"),
    )


def credential_out(info: CredentialInfo) -> dict[str, Any]:
    return {**info.to_dict(), "fields": list(info.fields)}


def credential_in(item: Any) -> CredentialInfo:
    """A listed credential (metadata, shown as it is; never used to decide anything)."""
    try:
        return CredentialInfo(
            path=str(item["path"]),
            customer=str(item["customer"]),
            system=str(item["system"]),
            system_kind=str(item["system_kind"]),
            host=_opt_text(item["host"]),
            name=str(item["name"]),
            username=_opt_text(item["username"]),
            url=_opt_text(item["url"]),
            version=int_of(item["version"], "credential"),
            fields=tuple(str(f) for f in item["fields"]),
            updated_at=time_of(item["updated_at"]),
            retired_at=time_of(item["retired_at"]) if item.get("retired_at") else None,
        )
    except (KeyError, TypeError):
        raise IntegrityError("the server sent a malformed credential") from None


def customer_out(info: CustomerInfo) -> dict[str, Any]:
    return info.to_dict()


def customer_in(item: Any) -> CustomerInfo:
    try:
        return CustomerInfo(
            slug=str(item["slug"]),
            name=str(item["name"]),
            status=str(item["status"]),
            require_reason=bool(item["require_reason"]),
            reason_pattern=_opt_text(item["reason_pattern"]),
            key_version=int_of(item["key_version"], "customer"),
            created_at=time_of(item["created_at"]),
            systems=int_of(item["systems"], "customer"),
            credentials=int_of(item["credentials"], "customer"),
        )
    except (KeyError, TypeError):
        raise IntegrityError("the server sent a malformed customer") from None


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def write_request_out(request: WriteRequest) -> dict[str, Any]:
    """A write as the client asks for it; at commit it adds the credential's id."""
    out: dict[str, Any] = {"path": request.path, "expected_version": request.expected_version}
    if request.new is not None:
        new = request.new
        out["new"] = {"username": new.username, "url": new.url, "notes": new.notes}
    return out


def write_request_in(body: dict[str, Any], *, committing: bool) -> WriteRequest:
    """A write as the server reads it (`UsageError`s: the client's input is bad)."""
    path, expected, new = body.get("path"), body.get("expected_version"), body.get("new")
    if not isinstance(path, str) or not path:
        raise errors.UsageError("'path' must be a credential's path")
    if expected is not None and type(expected) is not int:
        raise errors.UsageError("'expected_version' must be a number")
    if new is None:
        return WriteRequest(path, expected)
    if not isinstance(new, dict):
        raise errors.UsageError("'new' holds a credential's username, url and notes")
    username, url, notes = (new.get(k) for k in ("username", "url", "notes"))
    for value in (username, url, notes):
        if value is not None and not isinstance(value, str):
            raise errors.UsageError("'new' holds a credential's username, url and notes")
    ident = body.get("credential_id") if committing else None
    if committing and type(ident) is not int:
        raise errors.UsageError("'credential_id' must be the id the prepare reserved")
    return WriteRequest(path, expected, NewCredential(username, url, notes, ident))


# Target settings a system added through a server may carry (not `ca_file`: a path on
# the server's disk would be read; not a host key fetched by the server).
SYSTEM_TEXT = ("host", "connector", "host_key", "tls_name", "rotation_account")


def system_request_out(path: str, kind: str, notes: str | None, target: dict[str, Any]) -> Any:
    return {"path": path, "kind": kind, "notes": notes, "target": target}


def system_request_in(body: dict[str, Any]) -> SystemRequest:
    path, kind, notes, target = (body.get(k) for k in ("path", "kind", "notes", "target"))
    if not isinstance(path, str) or not isinstance(kind, str):
        raise errors.UsageError("'path' and 'kind' name the system to add")
    if notes is not None and not isinstance(notes, str):
        raise errors.UsageError("'notes' must be text")
    if not isinstance(target, dict) or set(target) - {*SYSTEM_TEXT, "port"}:
        raise errors.UsageError(f"'target' holds only {', '.join((*SYSTEM_TEXT, 'port'))}")
    port = target.get("port")
    if port is not None and type(port) is not int:
        raise errors.UsageError("'port' must be a number")
    texts = {k: target.get(k) for k in SYSTEM_TEXT}
    if not all(v is None or isinstance(v, str) for v in texts.values()):
        raise errors.UsageError("a target setting must be text")
    return SystemRequest(path, kind, notes, TargetSettings(port=port, **texts))


def system_in(item: Any) -> SystemInfo:
    try:
        return SystemInfo(
            customer=str(item["customer"]),
            name=str(item["name"]),
            kind=str(item["kind"]),
            host=_opt_text(item["host"]),
            notes=_opt_text(item["notes"]),
        )
    except (KeyError, TypeError):
        raise IntegrityError("the server sent a malformed system") from None


def list_of(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise IntegrityError("the server sent a malformed list")
    return value

"""HTTP plumbing of the server: JSON bodies in, answers and errors out, the request log.

Every endpoint's work runs in the thread pool (`_call`): it does database work.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import wire
from ..errors import CustodianError, UsageError
from ..secret import PRIMARY_FIELD
from ..service import RevealRequest, SigningHead

MAX_BODY = 64 * 1024  # bytes a request body may hold ...
MAX_WRITE_BODY = 48 * 1024 * 1024  # ... and a new version's (its sealed payload, in hex)
WAITING_THREADS = 256  # prepares that may wait for the signing slot at once
log = logging.getLogger("custodian.server")
_limiters: list[anyio.CapacityLimiter] = []


class BodyTooLarge(UsageError):
    """A request body over `MAX_BODY`: answered 413 (a usage error to the client)."""


def _waiting() -> anyio.CapacityLimiter:
    """The threads of requests that may wait for the signing slot (made in the loop)."""
    if not _limiters:
        _limiters.append(anyio.CapacityLimiter(WAITING_THREADS))
    return _limiters[0]


async def call(
    request: Request,
    run: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    body: bool = True,
    waits: bool = False,
    limit: int = MAX_BODY,
) -> Response:
    """Read the JSON body, run `run` in a worker thread (it does database work), and
    answer with its result or its error; log the request either way.

    `waits`: `run` may wait for the signing slot (a prepare). It runs in threads of its
    own (`_waiting`), so that prepares waiting for the slot never take the threads the
    commits that free it need: with one pool, 40 waiting prepares starve every commit."""
    started = time.perf_counter()
    status = 500
    try:
        parsed = await _body(request, limit) if body else {}
        if waits:
            result = await anyio.to_thread.run_sync(run, parsed, limiter=_waiting())
        else:
            result = await run_in_threadpool(run, parsed)
        status = 200
        return JSONResponse(result)
    except BodyTooLarge as exc:
        status = 413
        return JSONResponse(wire.error_body(exc), status_code=status)
    except CustodianError as exc:
        status = wire.status_of(exc)
        return JSONResponse(wire.error_body(exc), status_code=status)
    except Exception as exc:  # an answer, never a traceback, and never its message
        log.error("internal error %s on %s", type(exc).__name__, request.url.path)
        return JSONResponse(wire.error_body(CustodianError("internal server error")), 500)
    finally:
        _log_request(request, status, started)


async def _body(request: Request, limit: int) -> dict[str, Any]:
    size = request.headers.get("content-length")
    if size is not None and not size.isdigit():
        raise UsageError("the request's Content-Length is not a number")
    if size is not None and int(size) > limit:
        raise BodyTooLarge(f"a request body holds at most {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise BodyTooLarge(f"a request body holds at most {limit} bytes")
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
        "client": addr(request),
        "member": getattr(request.state, "member", None),
    }
    log.info(json.dumps(record))


def signed(body: dict[str, Any]) -> tuple[datetime, SigningHead, bytes]:
    """What every commit of a prepared event carries: the event's time, the head it
    follows and the member's signature."""
    return (
        wire.time_of(body.get("at")),
        wire.head_in(body.get("head")),
        wire.bytes_of(body.get("signature"), "signature"),
    )


def text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > 500:
        raise UsageError(f"{key!r} must be a non-empty string")
    return value


def number(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what!r} must be a number") from None
    if number < 0:
        raise UsageError(f"{what!r} must not be negative")
    return number


def reveal_request(body: dict[str, Any]) -> RevealRequest:
    field = body.get("field", PRIMARY_FIELD)
    reason = body.get("reason")
    version = body.get("version")
    action = body.get("action", "reveal")
    if not isinstance(field, str) or (reason is not None and not isinstance(reason, str)):
        raise UsageError("'field' and 'reason' must be strings")
    if not isinstance(action, str):
        raise UsageError("'action' must be a string")
    if version is not None and type(version) is not int:
        raise UsageError("'version' must be a number")
    return RevealRequest(text(body, "path"), field, reason, version, action)


def addr(request: Request) -> str:
    return request.client.host if request.client else "-"


def who(request: Request, username: str) -> str:
    return f"{addr(request)}\x00{username}"


async def not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(wire.error_body(UsageError(f"no such endpoint {request.url.path}")), 404)


async def not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse(wire.error_body(UsageError(f"{request.method} is not allowed here")), 405)

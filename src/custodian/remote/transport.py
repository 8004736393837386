"""One HTTP connection to a custodian server, as custodian's own calls and errors.

The standard library's `http.client`, kept alive between requests: a reveal is two small
requests, and a general-purpose client costs more per request than the server's work
(docs/performance.md, "Through the server"). TLS verifies the server's certificate and
name with the system's CAs, or with `CUSTODIAN_CA_FILE` for a private CA.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

from .. import wire
from ..errors import BackendUnavailable, IntegrityError, UsageError
from ..location import server_url

CA_ENV = "CUSTODIAN_CA_FILE"  # a CA bundle to verify the server's certificate with
TIMEOUT = 30.0
MAX_ANSWER = 64 * 1024 * 1024  # bytes one answer may hold (a page of 2000 events is ~1 MB)

# A kept-alive connection the server closed while it was idle: sending again on a new
# one is safe (the request never arrived, or a commit's second try meets its own event
# and answers 409, and the client prepares again).
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def check_url(url: str) -> str:
    """A server address (`location.server_url`), or a `UsageError` saying why not."""
    try:
        return server_url(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class Transport:
    def __init__(self, url: str, *, ca_file: str | None = None) -> None:
        self.url = check_url(url)
        parts = urlsplit(self.url)
        self._host = parts.hostname or ""
        self._port = parts.port
        self._base = parts.path.rstrip("/") + wire.API
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            ca_file = ca_file or os.environ.get(CA_ENV)
            self._tls = ssl.create_default_context(cafile=ca_file or None)
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport({self.url!r})"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        target = self._base + path + ("?" + urlencode(params) if params else "")
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"accept": "application/json"}
        if payload is not None:
            headers["content-type"] = "application/json"
        if token:
            headers["authorization"] = f"Bearer {token}"
        with self._lock:
            status, data = self._exchange(method, target, payload, headers)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        if status != 200:
            raise wire.error_from(parsed, status)
        if not isinstance(parsed, dict):
            raise IntegrityError("the server's answer is not a JSON object")
        return parsed

    def _exchange(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        reused = self._conn is not None
        try:
            return self._once(method, target, payload, headers)
        except _STALE as exc:
            self._drop()
            if not reused:
                raise self._unreachable(exc) from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise self._unreachable(exc) from None
        try:  # once more, on a new connection
            return self._once(method, target, payload, headers)
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise self._unreachable(exc) from None

    def _once(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        conn = self._connection()
        conn.request(method, target, body=payload, headers=headers)
        answer = conn.getresponse()
        data = answer.read(MAX_ANSWER + 1)
        if len(data) > MAX_ANSWER:
            self._drop()
            raise IntegrityError("the server's answer is larger than any it sends")
        if answer.will_close:
            self._drop()
        return answer.status, data

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._tls is not None:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=TIMEOUT, context=self._tls
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _unreachable(self, exc: BaseException) -> BackendUnavailable:
        return BackendUnavailable(f"cannot reach the server at {self.url}: {type(exc).__name__}")

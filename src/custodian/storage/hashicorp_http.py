"""The HTTP transport under hvac: one urllib3 pool per client, configured once.

hvac's default adapter sends each request through a `requests.Session`, which re-reads
the environment (proxies, `~/.netrc`, CA bundle variables) and runs its hooks, cookie jar
and adapter lookup every time: on a loopback KV read that costs more CPU than the read
itself (docs/vault-backend.md, "The transport"). `VaultTransport` keeps hvac's API, its
Vault headers and its error mapping, and sends over urllib3, the engine requests itself
uses. Settled once, when the client is made:

- proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`),
  as Vault's own CLI and requests read them;
- TLS verified against `VAULT_CACERT` (a file, or a directory of certificates named by
  subject hash), else the system's trust store, as Vault's CLI does; always verified;
- redirects followed (an HA standby answers 307 with the active node's address); no
  retries, so a failure is reported at once.

`send_get` splits a GET in two: the request goes out now and the answer is read when the
caller asks for it, so a reveal writes its access event while Vault answers, on one
thread (docs/vault-backend.md, "The transport"). It needs a direct connection: through
a proxy, or when anything but a plain answer comes back (a redirect, a dropped keep-alive
connection), it does what `request` does.

hvac is used only here and in the `hashicorp*.py` modules, urllib3 only here.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import hvac.adapters
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import make_headers, parse_url

# What the transport raises when Vault cannot be reached (refused, reset, timed out, TLS).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (urllib3.exceptions.HTTPError,)
# What a direct connection raises when it cannot carry a request (send_get).
_BROKEN = (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError)


class Response:
    """The part of `requests.Response` that hvac reads."""

    __slots__ = ("content", "headers", "status_code", "url")

    def __init__(self, status_code: int, headers: Any, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


class VaultTransport(hvac.adapters.JSONAdapter):  # type: ignore[misc]  # hvac is untyped
    """hvac's JSON adapter over a urllib3 pool: `hvac.Client(..., adapter=VaultTransport)`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        verify, timeout = self._kwargs["verify"], self._kwargs["timeout"]
        self.pool, self._connect = _pool(self.base_uri, verify, timeout)
        self._idle: list[HTTPConnection] = []  # send_get's kept-alive connections
        self._base_path = (parse_url(self.base_uri).path or "").rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        raise_exception: bool = True,
        json: Any = None,
        params: dict[str, Any] | None = None,
        wrap_ttl: str | int | None = None,
    ) -> Any:
        path, sent = self._prepare(url, headers, params, wrap_ttl)
        body = None
        if json is not None:
            body = _json_body(json)
            sent["Content-Type"] = "application/json"
        url = self.urljoin(self.base_uri, path)
        answer = self.pool.urlopen(method.upper(), url, body=body, headers=sent)
        response = Response(answer.status, answer.headers, answer.data, url)
        return self._answer(method, response, raise_exception)

    def send_get(self, url: str, params: dict[str, Any] | None = None) -> Callable[[], Any]:
        """Send a GET now; the returned function reads the answer, returned or raised as
        `request` would. This never raises: errors come from that function. Dropping it
        unread drops its connection."""
        if self._connect is None:  # through a proxy
            return self._fallback(url, params)
        path, sent = self._prepare(url, None, params, None)
        try:
            conn = self._idle.pop()  # atomic: threads may share a client
        except IndexError:
            conn = None
        if conn is None or not conn.is_connected:
            conn = self._connect()
        try:
            conn.request("GET", self._base_path + path, headers=sent)
        except urllib3.exceptions.ConnectTimeoutError as exc:  # refused (a subclass) or timed out
            conn.close()  # on a new connection: a second try would wait as long again
            return _raising(exc)
        except _BROKEN:
            conn.close()
            return self._fallback(url, params)

        def answer() -> Any:
            full = self.urljoin(self.base_uri, path)
            try:
                got = conn.getresponse()
                response: Response | None = Response(got.status, got.headers, got.data, full)
            except (TimeoutError, urllib3.exceptions.TimeoutError):
                conn.close()  # the server took the request and did not answer: no second try
                pool = self.pool.connection_from_url(full)
                raise urllib3.exceptions.ReadTimeoutError(pool, full, "read timed out") from None
            except _BROKEN:
                response = None
            if response is None or 300 <= response.status_code < 400:
                conn.close()  # stale, or a standby naming the active node: `request` follows it
                return self.request("GET", url, params=params)
            if got.headers.get("Connection", "").lower() == "close":
                conn.close()
            else:
                self._idle.append(conn)
            return self._answer("GET", response, True)

        return answer

    def _fallback(self, url: str, params: dict[str, Any] | None) -> Callable[[], Any]:
        """`request`, when called, for a GET that a direct connection cannot carry (a proxy,
        a failed or stale connection, a redirect): a GET may go out twice."""
        return lambda: self.request("GET", url, params=params)

    def _prepare(
        self,
        url: str,
        headers: dict[str, str] | None,
        params: dict[str, Any] | None,
        wrap_ttl: str | int | None,
    ) -> tuple[str, dict[str, str]]:
        """The request's path (with its query) and headers, as hvac's own adapter sets
        them: `//` read as `/` like Vault does, the token, namespace and SSRF header."""
        while "//" in url:
            url = url.replace("//", "/")
        path = "/" + url.lstrip("/")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            path = f"{path}?{urlencode(query, doseq=True)}"
        sent = dict(headers or {})
        if self.request_header:
            sent["X-Vault-Request"] = "true"
        if self.token:
            sent["X-Vault-Token"] = self.token
        if self.namespace:
            sent["X-Vault-Namespace"] = self.namespace
        if wrap_ttl:
            sent["X-Vault-Wrap-TTL"] = str(wrap_ttl)
        return path, sent

    def _answer(self, method: str, response: Response, raise_exception: bool) -> Any:
        """As hvac's JSON adapter: the decoded body of a 200, hvac's exception for an
        error, else the response itself."""
        if not response.ok and raise_exception and not self.ignore_exceptions:
            self._raise_for_error(method, response.url, response)
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                pass
        return response

    def close(self) -> None:
        self.pool.clear()
        while self._idle:
            self._idle.pop().close()
        super().close()


def _raising(exc: Exception) -> Callable[[], Any]:
    def answer() -> Any:
        raise exc

    return answer


def _json_body(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False).encode()


def _pool(
    base_uri: str, verify: bool | str, timeout: float
) -> tuple[urllib3.PoolManager, Callable[[], HTTPConnection] | None]:
    """A pool for `base_uri`, through the proxy the environment names for it if any; and,
    without a proxy, a maker of direct connections with the same TLS and timeout."""
    import requests.utils

    tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED"}  # and the system's roots
    if isinstance(verify, str):
        tls["ca_cert_dir" if os.path.isdir(verify) else "ca_certs"] = verify
    options: dict[str, Any] = {
        "maxsize": 4,
        "retries": urllib3.Retry(total=None, connect=0, read=False, redirect=10, status=0, other=0),
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        **tls,
    }
    proxy = requests.utils.select_proxy(base_uri, requests.utils.get_environ_proxies(base_uri))
    if proxy:
        auth = parse_url(proxy).auth
        headers = make_headers(proxy_basic_auth=auth) if auth else None
        return urllib3.ProxyManager(proxy, proxy_headers=headers, **options), None
    url = parse_url(base_uri)
    host, port = url.host or "", url.port

    def connect() -> HTTPConnection:
        if url.scheme == "https":
            return HTTPSConnection(host, port, timeout=timeout, **tls)
        return HTTPConnection(host, port, timeout=timeout)

    return urllib3.PoolManager(**options), connect

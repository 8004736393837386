"""One HTTP connection to a custodian server, as custodian's own calls and errors."""

from __future__ import annotations

import os
import ssl
from typing import Any

import httpx

from .. import wire
from ..errors import BackendUnavailable, IntegrityError, UsageError
from ..location import server_url

CA_ENV = "CUSTODIAN_CA_FILE"  # a CA bundle to verify the server's certificate with
TIMEOUT = 30.0


def check_url(url: str) -> str:
    """A server address (`location.server_url`), or a `UsageError` saying why not."""
    try:
        return server_url(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class Transport:
    def __init__(self, url: str, *, ca_file: str | None = None) -> None:
        self.url = check_url(url)
        ca_file = ca_file or os.environ.get(CA_ENV)
        verify: ssl.SSLContext | bool = True
        if ca_file:
            verify = ssl.create_default_context(cafile=ca_file)
        self._client = httpx.Client(
            base_url=self.url + wire.API, verify=verify, timeout=TIMEOUT, trust_env=False
        )

    def __repr__(self) -> str:
        return f"Transport({self.url!r})"

    def close(self) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else None
        try:
            answer = self._client.request(method, path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"cannot reach the server at {self.url}: {type(exc).__name__}"
            ) from None
        try:
            parsed = answer.json()
        except ValueError:
            parsed = None
        if answer.status_code != 200:
            raise wire.error_from(parsed, answer.status_code)
        if not isinstance(parsed, dict):
            raise IntegrityError("the server's answer is not a JSON object")
        return parsed

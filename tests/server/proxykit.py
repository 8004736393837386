"""A hostile server: an HTTP proxy on loopback in front of the real one, which edits the
JSON that passes through it. Clients pointed at `proxy.url` see the real server's
answers, except where a test's edit lies.

    proxy.on_answer("/v1/log", lambda request, answer: {...})   # rewrite an answer
    proxy.on_request("/v1/reveal/prepare", lambda body: {...})  # rewrite what the server hears
    proxy.answer_instead("/v1/reveal", lambda body: {...})      # answer in its place

It forwards with httpx, so what reaches the server and what comes back are real HTTP
exchanges. It keeps every (path, body) it forwarded in `proxy.requests`, every (path,
answer) it returned in `proxy.answers`, and every edit that raised in `proxy.errors`
(its client got a 502: a test must find none).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

AnswerEdit = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
RequestEdit = Callable[[dict[str, Any]], dict[str, Any]]


class Proxy:
    def __init__(self, upstream: str) -> None:
        self._client = httpx.Client(base_url=upstream, trust_env=False, timeout=30)
        self._answer_edits: dict[str, AnswerEdit] = {}
        self._request_edits: dict[str, RequestEdit] = {}
        self._instead: dict[str, RequestEdit] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[str] = []  # edits that broke: a test must find none
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def on_answer(self, path: str, edit: AnswerEdit) -> None:
        """Rewrite each successful JSON answer to `path`; `edit(request body, answer)`."""
        self._answer_edits[path] = edit

    def on_request(self, path: str, edit: RequestEdit) -> None:
        """Rewrite each JSON request body to `path` before the server sees it."""
        self._request_edits[path] = edit

    def answer_instead(self, path: str, answer: RequestEdit) -> None:
        """Answer requests to `path` with `answer(request body)`, never asking the server
        (as a server that appends nothing would)."""
        self._instead[path] = answer

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._client.close()

    def _forward(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, bytes]:
        path = urlsplit(target).path
        body: dict[str, Any] = json.loads(raw) if raw else {}
        if path in self._request_edits:
            body = self._request_edits[path](body)
            raw = json.dumps(body).encode()
        self.requests.append((path, body))
        if path in self._instead:
            made = self._instead[path](body)
            self.answers.append((path, made))
            return 200, json.dumps(made).encode()
        answer = self._client.request(method, target, content=raw or None, headers=headers)
        if answer.status_code != 200:
            return answer.status_code, answer.content
        parsed = answer.json()
        if path in self._answer_edits:
            parsed = self._answer_edits[path](body, parsed)
        self.answers.append((path, parsed))
        return 200, json.dumps(parsed).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type")
                }
                try:
                    status, out = proxy._forward(self.command, self.path, headers, raw)
                except Exception as exc:  # a broken edit, not a lie: the test fails on it
                    proxy.errors.append(repr(exc))
                    status, out = 502, b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _relay

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

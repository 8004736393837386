"""The HTTP transport under hvac (storage/hashicorp_http.py).

Proxies come from the environment, as Vault's CLI reads them, once per client: a real
loopback listener stands in for a proxy and records who connected; it answers nothing,
so a request sent through it fails. TLS is checked against a real `bao server -dev-tls`
and the CA it generates."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from custodian.errors import BackendUnavailable
from custodian.storage.hashicorp import VaultSecretStore
from custodian.storage.hashicorp_http import TRANSPORT_ERRORS, VaultTransport
from tests.vault.baokit import BaoServer, make_kit, make_store

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class DeadProxy:
    """Accepts connections, counts them, closes them without a reply."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeadProxy]:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    dead = DeadProxy()
    yield dead
    dead.sock.close()


def test_a_proxy_in_the_environment_carries_the_requests(
    bao: BaoServer, proxy: DeadProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    store = VaultSecretStore(bao.addr, bao.root_token)
    with pytest.raises(BackendUnavailable, match="cannot reach Vault"):
        store.check()
    assert proxy.connections >= 1


def test_no_proxy_names_the_vault_host(
    bao: BaoServer, proxy: DeadProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    VaultSecretStore(bao.addr, bao.root_token).check()
    assert proxy.connections == 0


def test_the_environment_is_read_once_per_client(
    bao: BaoServer, proxy: DeadProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = VaultSecretStore(bao.addr, bao.root_token)
    store.check()  # the client exists now, without a proxy
    monkeypatch.setenv("http_proxy", proxy.url)
    store.check()
    assert proxy.connections == 0


# --- TLS: a `-dev-tls` server with a CA of its own ------------------------------------


@pytest.fixture
def tls_server(bao_factory: Callable[..., BaoServer]) -> BaoServer:
    return bao_factory(tls=True)


def test_tls_with_the_servers_ca_reveals(tls_server: BaoServer, db_url: str, clock: Any) -> None:
    kit = make_kit(db_url, tls_server, make_store(tls_server), clock)
    try:
        alice = kit.tech("alice")
        path = kit.customer("acme", grant=("alice",))
        assert alice.reveal(path, reason="T-1").reveal() == kit.secret
    finally:
        kit.vault.close()


def test_tls_without_the_ca_is_refused(tls_server: BaoServer) -> None:
    store = VaultSecretStore(tls_server.addr, tls_server.root_token)  # certifi's roots only
    with pytest.raises(BackendUnavailable, match=r"cannot reach Vault at https://.*\(SSLError\)"):
        store.check()


def test_vault_cacert_may_name_a_directory_of_certificates(
    tls_server: BaoServer, tmp_path: Path
) -> None:
    assert tls_server.cacert is not None
    folder = tmp_path / "cas"
    folder.mkdir()
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(tls_server.cacert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy(tls_server.cacert, folder / f"{digest}.0")  # OpenSSL's lookup by subject
    VaultSecretStore(tls_server.addr, tls_server.root_token, cacert=str(folder)).check()


def test_vault_cacert_from_the_environment(
    tls_server: BaoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_ADDR", tls_server.addr)
    monkeypatch.setenv("VAULT_TOKEN", tls_server.root_token)
    monkeypatch.setenv("VAULT_CACERT", str(tls_server.cacert))
    VaultSecretStore.from_env().check()
    monkeypatch.setenv("VAULT_CACERT", str(tls_server.log))  # not a certificate
    with pytest.raises(BackendUnavailable, match="cannot reach Vault"):
        VaultSecretStore.from_env().check()


# --- send_get: a GET in two halves ----------------------------------------------------


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what some tests do


class FakeVault:
    """A loopback HTTP/1.1 server answering every GET with `{"data": {"path": ...}}`.
    `seen` is set when a request arrives; `close_after_each` drops the connection after
    each answer without saying so (a keep-alive connection gone stale); `redirect_to`
    answers 307 to that address instead (an HA standby naming the active node); `hang`
    takes requests and answers none (a stuck server)."""

    def __init__(
        self, close_after_each: bool = False, redirect_to: str | None = None, hang: bool = False
    ) -> None:
        fake = self
        self.seen = threading.Event()
        self.release = threading.Event()  # with `hang`: answers nothing until this is set
        self.requests = 0
        self.peers: set[tuple[str, int]] = set()  # one per connection

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake.requests += 1
                fake.peers.add(self.client_address)
                fake.seen.set()
                if hang:
                    fake.release.wait(30)
                    return
                if redirect_to:
                    self.send_response(307)
                    self.send_header("Location", redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"data": {"path": self.path}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = close_after_each

            def log_message(self, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.addr = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def transport(self, timeout: float = 5) -> VaultTransport:
        return VaultTransport(base_uri=self.addr, token="t", timeout=timeout)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_vault(proxy: DeadProxy) -> Iterator[Callable[..., FakeVault]]:
    """FakeVault servers, stopped at teardown (`proxy` clears the environment's proxies)."""
    made: list[FakeVault] = []

    def make(**options: Any) -> FakeVault:
        made.append(FakeVault(**options))
        return made[-1]

    yield make
    for fake in made:
        fake.close()


def test_send_get_sends_before_the_answer_is_asked_for(
    fake_vault: Callable[..., FakeVault],
) -> None:
    fake = fake_vault()
    answer = fake.transport().send_get("/v1/secret/data/a", {"version": 2})
    assert fake.seen.wait(5)  # the server has the request; nobody has read yet
    assert answer() == {"data": {"path": "/v1/secret/data/a?version=2"}}


def test_send_get_keeps_its_connection_and_recovers_from_a_stale_one(
    fake_vault: Callable[..., FakeVault],
) -> None:
    kept, dropping = fake_vault(), fake_vault(close_after_each=True)
    for fake in (kept, dropping):
        transport = fake.transport()
        for n in range(20):
            assert transport.send_get(f"/v1/k/{n}")() == {"data": {"path": f"/v1/k/{n}"}}
    assert kept.requests == 20 and len(kept.peers) == 1  # kept alive; nothing sent twice
    assert len(dropping.peers) >= 20


def test_an_answer_dropped_unread_does_not_reach_the_next_read(
    fake_vault: Callable[..., FakeVault],
) -> None:
    fake = fake_vault()
    transport = fake.transport()
    transport.send_get("/v1/first")  # a refused reveal drops its answer unread
    assert transport.send_get("/v1/second")() == {"data": {"path": "/v1/second"}}


def test_send_get_follows_a_standby_to_the_active_node(
    fake_vault: Callable[..., FakeVault],
) -> None:
    active = fake_vault()
    standby = fake_vault(redirect_to=active.addr)
    assert standby.transport().send_get("/v1/x")() == {"data": {"path": "/v1/x"}}
    assert standby.requests >= 1 and active.requests >= 1


def test_send_get_through_a_proxy_reports_at_the_answer(
    proxy: DeadProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    answer = VaultTransport(base_uri="http://127.0.0.1:9", token="t", timeout=5).send_get("/v1/x")
    assert proxy.connections == 0  # nothing sent yet: errors come from the answer
    with pytest.raises(TRANSPORT_ERRORS):
        answer()
    assert proxy.connections >= 1


def test_a_server_that_takes_the_read_and_never_answers_times_out_once(
    fake_vault: Callable[..., FakeVault],
) -> None:
    fake = fake_vault(hang=True)
    answer = fake.transport(timeout=0.5).send_get("/v1/x")
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        answer()
    assert fake.requests == 1  # not sent again: a timeout is no stale connection


def test_a_refused_connection_is_reported_at_the_answer_without_a_second_try(
    proxy: DeadProxy,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = VaultTransport(base_uri=f"http://127.0.0.1:{port}", token="t").send_get("/v1/x")
    with pytest.raises(urllib3.exceptions.NewConnectionError):  # not the pool's MaxRetryError
        answer()

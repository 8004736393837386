"""Real servers for rotation tests, started on loopback and stopped by PID.

- `need(binary)`: skip when a server's binary is absent, but only outside CI (`CI` set:
  fail instead, since `scripts/ensure-services.sh` installs it there).
- `Sshd`: OpenSSH on a free port (UsePAM=no, password logins), with throw-away local
  accounts (`account()`), a sudo rule for a rotation account, `kill()` / `start()`.
- `free_port()`, `wait_port()`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest


def need(binary: str, why: str) -> str:
    path = binary if os.path.isabs(binary) else shutil.which(binary)
    if path and os.path.exists(path) and os.access(path, os.X_OK):
        if os.geteuid() != 0:
            message = f"{why} needs root (test accounts, sshd, slapd)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        return path
    message = f"{binary} is not installed ({why}; scripts/ensure-services.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def run_root(args: list[str], stdin: str | None = None) -> None:
    subprocess.run(args, input=stdin, text=True, check=True, capture_output=True)


@dataclass
class Sshd:
    root: Path
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    users: list[str] = field(default_factory=list)
    sudoers: list[Path] = field(default_factory=list)

    @property
    def host_key(self) -> str:
        return " ".join((self.root / "hostkey.pub").read_text().split()[:2])

    @property
    def log(self) -> Path:
        return self.root / "sshd.log"

    def start(self) -> None:
        binary = need("/usr/sbin/sshd", "sshd for SSH rotation")
        if not (self.root / "hostkey").exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.root / "hostkey")],
                check=True,
            )
        Path("/run/sshd").mkdir(exist_ok=True)
        self.port = self.port or free_port()
        options = {
            "ListenAddress": self.host,
            "PidFile": "none",
            "UsePAM": "no",
            "PasswordAuthentication": "yes",
            "KbdInteractiveAuthentication": "no",
            "StrictModes": "no",
            "AuthorizedKeysFile": ".ssh/authorized_keys",
        }
        args = [binary, "-D", "-e", "-f", "/dev/null", "-p", str(self.port)]
        args += ["-h", str(self.root / "hostkey")]
        for key, value in options.items():
            args += ["-o", f"{key}={value}"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        wait_port(self.host, self.port, self.proc)

    def kill(self) -> None:
        stop(self.proc)

    def account(self, password: str, *, sudo_chpasswd: bool = False) -> str:
        name = f"ct{uuid.uuid4().hex[:10]}"
        run_root(["useradd", "-m", "-s", "/bin/bash", name])
        self.users.append(name)
        run_root(["chpasswd"], f"{name}:{password}\n")
        if sudo_chpasswd:
            rule = Path(f"/etc/sudoers.d/custodian-test-{name}")
            rule.write_text(f"{name} ALL=(root) NOPASSWD: /usr/sbin/chpasswd\n")
            rule.chmod(0o440)
            self.sudoers.append(rule)
        return name

    def accepts(self, user: str, password: str) -> bool:
        """An independent check: does sshd let `user` in with `password`?"""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(
                self.host,
                port=self.port,
                username=user,
                password=password,
                look_for_keys=False,
                allow_agent=False,
                timeout=10,
            )
            return True
        except paramiko.AuthenticationException:
            return False
        finally:
            client.close()

    def close(self) -> None:
        self.kill()
        for rule in self.sudoers:
            rule.unlink(missing_ok=True)
        for name in self.users:
            for _ in range(50):  # "currently used by process" right after sshd stops
                done = subprocess.run(["userdel", "-r", name], capture_output=True)
                if done.returncode in (0, 6):
                    break
                time.sleep(0.1)

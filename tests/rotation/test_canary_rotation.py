"""The canary tests, extended to connectors: during real rotations (self change with
`passwd`, a rotation account with `sudo chpasswd`, the netmiko generic driver), no process
on this machine (custodian, sshd, its children: the "device" is local here) carries the
old or the new secret in its argv or environment, and no file written under the temporary
directory holds either."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CANARY, VaultKit

from .conftest import add_cred, current, linux_system
from .servers import Sshd


class ProcWatch:
    """Every distinct argv and environment seen in /proc while running."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                for name in ("cmdline", "environ"):
                    with contextlib.suppress(OSError):
                        self.seen.add(Path(f"/proc/{pid}/{name}").read_bytes())
            time.sleep(0.002)

    def __enter__(self) -> ProcWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _files_since(start: float) -> list[Path]:
    out = []
    for root, _dirs, files in os.walk(tempfile.gettempdir()):
        for name in files:
            p = Path(root, name)
            try:
                if p.stat().st_mtime >= start and p.stat().st_size < 20_000_000 and p.is_file():
                    out.append(p)
            except OSError:
                continue
    return out


@pytest.mark.parametrize("how", ["self", "rotation-account", "generic-ssh"])
def test_no_secret_in_argv_environment_or_temporary_files(
    vault: VaultKit, sshd: Sshd, how: str
) -> None:
    start = time.time() - 1
    user = sshd.account(CANARY)
    if how == "rotation-account":
        rot_pw = CANARY + "-rotadm"
        rotadm = sshd.account(rot_pw, sudo_chpasswd=True)
        system = linux_system(vault, sshd, rotation_account="web01/rotadm")
        add_cred(vault, f"{system}/rotadm", rotadm, rot_pw)
    else:
        system = linux_system(vault, sshd, **({"connector": how} if how != "self" else {}))
    path = add_cred(vault, f"{system}/svc", user, CANARY)
    with ProcWatch() as watch:
        for _ in range(2):  # CANARY -> new1 -> new2: every one of them is a secret
            vault.admin.rotator().rotate(path)
    secrets = [CANARY.encode()] + [
        v.encode() for v in (current(vault, path), vault.admin.reveal(path, version=2).reveal())
    ]
    assert sshd.accepts(user, current(vault, path))
    assert len(watch.seen) > 10  # the watch did see processes
    changer = {"self": b"passwd", "rotation-account": b"chpasswd", "generic-ssh": b"passwd"}
    assert any(blob.startswith(changer[how]) or b"/" + changer[how] in blob for blob in watch.seen)
    for blob in watch.seen:
        for secret in secrets:
            assert secret not in blob
    for f in _files_since(start):
        try:
            data = f.read_bytes()
        except OSError:  # gone meanwhile (a database's -shm, another test's files)
            continue
        for secret in secrets:
            assert secret not in data, f

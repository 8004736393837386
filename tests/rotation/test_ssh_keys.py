"""A key-based account: its authorized_keys entry rotated over SSH (log in with the old
key, swap the line, log in with the new key), against a real sshd."""

from __future__ import annotations

import io
import os
import pwd
from pathlib import Path

import paramiko

from custodian.connectors.ssh import new_private_key
from custodian.secret import SecretPayload
from tests.conftest import VaultKit

from .conftest import linux_system
from .servers import Sshd


def _install(user: str, private: str, extra: str = "") -> Path:
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(private))
    entry = pwd.getpwnam(user)
    ak = Path(entry.pw_dir) / ".ssh" / "authorized_keys"
    ak.parent.mkdir(mode=0o700, exist_ok=True)
    ak.write_text(f"{extra}ssh-ed25519 {key.get_base64()} old-key\n")
    for p in (ak.parent, ak):
        os.chown(p, entry.pw_uid, entry.pw_gid)
    return ak


def _logs_in(sshd: Sshd, user: str, private: str) -> bool:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            sshd.host,
            port=sshd.port,
            username=user,
            pkey=paramiko.Ed25519Key.from_private_key(io.StringIO(private)),
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        return True
    except paramiko.AuthenticationException:
        return False
    finally:
        client.close()


def test_the_authorized_key_is_replaced(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account("Unused-pass-1!")
    old = new_private_key()
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOfSomeoneElseXXXXXXXXXXXXXXXXXXXX other\n"
    ak = _install(user, old, other)
    path = linux_system(vault, sshd) + "/deploy"
    vault.admin.add_credential(path, SecretPayload({"private-key": old}), username=user)
    result = vault.admin.rotator().rotate(path)
    assert result.outcome == "rotated"
    new = vault.admin.reveal(path, field="private-key").reveal()
    assert new != old and new.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert _logs_in(sshd, user, new)
    assert not _logs_in(sshd, user, old)
    lines = ak.read_text().splitlines()
    assert lines[0] == other.strip()  # someone else's key stays
    assert len(lines) == 2 and lines[1].endswith(" custodian")

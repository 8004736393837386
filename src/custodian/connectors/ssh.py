"""`ssh`: a Linux (or any POSIX) server's local account, over SSH with paramiko.

- The account changes its own password: `passwd`, with the current and new password on
  its stdin (no PTY needed).
- A rotation account changes it for them: `sudo -n /usr/sbin/chpasswd` (or plain
  `chpasswd` as root) with `user:new` on its stdin. The rotation account needs
  `rotadm ALL=(root) NOPASSWD: /usr/sbin/chpasswd` in /etc/sudoers.d/.
- The server's host key must be the one stored with the system (`--host-key`, or
  `--trust-host-key`); an unknown or changed key refuses the connection before any
  password is sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko

from ..secret import Secret
from .base import (
    Account,
    ChangeRefused,
    ChangeUnknown,
    HostKeyMismatch,
    LoginRejected,
    Target,
    TargetUnreachable,
)

PORT = 22
# A key-based account's authorized_keys, rewritten with the old key's line replaced by the
# new one. Only public keys travel (on stdin: the old key's base64, then the new line).
_SWAP_KEY = (
    'sh -c \'set -e; umask 077; mkdir -p ~/.ssh; f=~/.ssh/authorized_keys; touch "$f";'
    ' read -r old; read -r new; { grep -vF -- "$old" "$f" || true;'
    ' printf "%s\\n" "$new"; } > "$f.custodian"; mv "$f.custodian" "$f"\''
)


def is_key(secret: Secret) -> bool:
    return secret.reveal().lstrip().startswith("-----BEGIN")


def load_key(secret: Secret) -> paramiko.PKey:
    """A private key from its PEM / OpenSSH text, in memory (never a file)."""
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(secret.reveal()))
        except (paramiko.SSHException, ValueError):
            continue
    raise ChangeRefused("the stored private key is not one paramiko can load (unencrypted)")


def public_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()} custodian"


def new_private_key() -> str:
    """A fresh Ed25519 key in OpenSSH's private key format."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def parse_host_key(line: str) -> paramiko.PKey:
    """An OpenSSH public key line (`ssh-ed25519 AAAA... [comment]`) as a paramiko key."""
    parts = line.split()
    try:
        if len(parts) < 2:
            raise ValueError
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1]))
    except (ValueError, binascii.Error, paramiko.SSHException):
        raise HostKeyMismatch(
            "the stored host key is not an OpenSSH public key line ('ssh-ed25519 AAAA...')"
        ) from None


def fingerprint(line: str) -> str:
    """`SHA256:...`, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(parse_host_key(line).asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def fetch_host_key(target: Target) -> str:
    """The key the server at `target` presents, as an OpenSSH line (trust on first use:
    the caller shows its fingerprint and stores it only when confirmed)."""
    try:
        sock = socket.create_connection((target.host, target.port or PORT), target.timeout)
    except OSError as exc:
        raise TargetUnreachable(f"{target.where(PORT)}: {_why(exc)}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=target.timeout)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except (paramiko.SSHException, OSError) as exc:
        raise TargetUnreachable(f"{target.where(PORT)}: {_why(exc)}") from None
    finally:
        transport.close()


def _why(exc: BaseException) -> str:
    """A one-line reason that cannot carry a secret (the exception's class and errno)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return type(exc).__name__


@contextmanager
def session(target: Target, login: Account) -> Iterator[paramiko.SSHClient]:
    """An SSH connection logged in as `login`, the host key checked against the stored one."""
    if not target.host_key:
        raise HostKeyMismatch(
            f"no SSH host key is stored for {target.host}: set one (system edit --host-key"
            " or --trust-host-key) before rotating"
        )
    stored = parse_host_key(target.host_key)
    port = target.port or PORT
    client = paramiko.SSHClient()
    name = target.host if port == PORT else f"[{target.host}]:{port}"
    client.get_host_keys().add(name, stored.get_name(), stored)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = load_key(login.secret) if is_key(login.secret) else None
    try:
        client.connect(
            target.host,
            port=port,
            username=login.username,
            password=None if key else login.secret.reveal(),
            pkey=key,
            look_for_keys=False,
            allow_agent=False,
            timeout=target.timeout,
            banner_timeout=target.timeout,
            auth_timeout=target.timeout,
        )
    except paramiko.BadHostKeyException:
        client.close()
        raise HostKeyMismatch(
            f"{target.where(PORT)} presented a host key other than the stored one: refused"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise LoginRejected(
            f"{target.where(PORT)} refused the password of {login.username!r}"
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise HostKeyMismatch(
                f"{target.where(PORT)} presented a key of another type than the stored one"
            ) from None
        raise TargetUnreachable(f"{target.where(PORT)}: {_why(exc)}") from None
    except OSError as exc:
        client.close()
        raise TargetUnreachable(f"{target.where(PORT)}: {_why(exc)}") from None
    try:
        yield client
    finally:
        client.close()


def run(client: paramiko.SSHClient, command: str, stdin: str, timeout: float) -> int:
    """Run `command` (no secret in it) with `stdin` on the remote side; its exit status."""
    try:
        channel = client.get_transport().open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.exec_command(command)
        channel.sendall(stdin.encode())
        channel.shutdown_write()
        while channel.recv(4096) or channel.recv_stderr(4096):
            pass
        return int(channel.recv_exit_status())
    except (paramiko.SSHException, OSError) as exc:
        raise ChangeUnknown(f"the connection broke during {command!r}: {_why(exc)}") from None


def _check_name(account: str) -> str:
    if not account or any(c in account for c in ":\n\r\0 ") or len(account) > 64:
        raise ChangeRefused(f"{account[:64]!r} is not a valid account name")
    return account


class SshConnector:
    """Password rotation of a local account over SSH."""

    name = "ssh"

    def change(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        _check_name(account)
        if is_key(new):
            return self._swap_key(target, account, new, login=login)
        with session(target, login) as client:
            if login.username == account:
                old = login.secret.reveal()
                status = run(
                    client, "passwd", f"{old}\n{new.reveal()}\n{new.reveal()}\n", target.timeout
                )
            else:
                command = "/usr/sbin/chpasswd"
                if login.username != "root":
                    command = "sudo -n " + command
                status = run(client, command, f"{account}:{new.reveal()}\n", target.timeout)
        if status != 0:
            raise ChangeRefused(
                f"{target.where(PORT)}: changing the password of {account!r} failed"
                f" (exit status {status})"
            )

    def _swap_key(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        """Replace the old key's line in the account's authorized_keys by the new key's."""
        if login.username != account or not is_key(login.secret):
            raise ChangeRefused(f"a key of {account!r} is rotated by logging in with its old key")
        old_b64 = load_key(login.secret).get_base64()
        with session(target, login) as client:
            status = run(
                client, _SWAP_KEY, f"{old_b64}\n{public_line(load_key(new))}\n", target.timeout
            )
        if status != 0:
            raise ChangeRefused(
                f"{target.where(PORT)}: rewriting the authorized_keys of {account!r} failed"
                f" (exit status {status})"
            )

    def verify(self, target: Target, login: Account) -> bool:
        try:
            with session(target, login):
                return True
        except LoginRejected:
            return False

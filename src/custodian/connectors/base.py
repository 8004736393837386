"""The connector protocol and its errors.

    CustodianError
    ├── DeviceError          exit 1  the device said no, or could not be asked
    │   ├── TargetUnreachable        no answer (connection refused, timeout): nothing changed
    │   │   └── ChangeUnknown        the connection broke while the change was sent: it
    │   │                            may or may not have arrived
    │   ├── LoginRejected            the device refused the secret we logged in with
    │   └── ChangeRefused            logged in, but the device refused the new secret
    └── IntegrityError
        └── HostKeyMismatch  exit 6  the SSH host key or the TLS certificate is not the
                                     one stored with the system

A connector never puts a secret in argv, an environment, a log, a file or a message: it
sends it over the connection it opened (stdin of a remote command, an LDAP attribute, a
SQL literal of a pre-hashed verifier).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import CustodianError, IntegrityError
from ..secret import Secret


class DeviceError(CustodianError):
    title = "device error"


class TargetUnreachable(DeviceError):
    title = "target unreachable"


class ChangeUnknown(TargetUnreachable):
    title = "change unknown"


class LoginRejected(DeviceError):
    title = "login rejected"


class ChangeRefused(DeviceError):
    title = "change refused"


class HostKeyMismatch(IntegrityError):
    title = "host key mismatch"


@dataclass(frozen=True)
class Target:
    """Where the device is and how it proves who it is."""

    host: str
    port: int | None = None
    host_key: str | None = None  # SSH: the OpenSSH public key line stored with the system
    ca_file: str | None = None  # TLS: the CA file (None: the system store)
    tls_name: str | None = None  # TLS: the name the certificate carries, if not `host`
    timeout: float = 10.0

    def where(self, default_port: int) -> str:
        return f"{self.host}:{self.port or default_port}"


@dataclass(frozen=True)
class Account:
    """Who logs in, with which secret (`Secret` masks itself in every repr)."""

    username: str
    secret: Secret


@runtime_checkable
class Connector(Protocol):
    """What custodian asks of a device. Implementations are stateless and thread-safe."""

    name: str

    def change(self, target: Target, account: str, new: Secret, *, login: Account) -> None:
        """Set `account`'s secret to `new` on the device, logged in as `login`: the account
        itself with its current secret, or a privileged rotation account. Raises a
        `DeviceError` (or `HostKeyMismatch`); returns only once the device took it."""
        ...

    def verify(self, target: Target, login: Account) -> bool:
        """Log in as `login`: True if the device accepts the secret, False if it refuses
        it. Raises `TargetUnreachable` when the device cannot say."""
        ...

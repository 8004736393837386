"""Connectors: change a credential's secret on the device itself, and check it logs in.

One small protocol (`base.Connector`: `change` and `verify`) and one module per kind of
target: `ssh` (Linux servers), `ldap` (OpenLDAP, RFC 3062), `active_directory`
(`unicodePwd` over LDAPS), `postgresql` (`ALTER ROLE`), `network` (netmiko command
templates for switches and routers). `registry.load(name)` finds a connector by name: the
built-in ones, then the `custodian.connectors` entry-point group, so an MSP can add its
own without forking (docs/rotation.md).

It may import `custodian.errors` and `custodian.secret` only (below the service; no database,
storage, audit or crypto), plus each connector's own client library.
"""

from .base import (
    Account,
    ChangeRefused,
    ChangeUnknown,
    Connector,
    DeviceError,
    HostKeyMismatch,
    LoginRejected,
    Target,
    TargetUnreachable,
)
from .registry import default_for, load, names

__all__ = [
    "Account",
    "ChangeRefused",
    "ChangeUnknown",
    "Connector",
    "DeviceError",
    "HostKeyMismatch",
    "LoginRejected",
    "Target",
    "TargetUnreachable",
    "default_for",
    "load",
    "names",
]

"""Finding a connector by name: the built-in ones, then the `custodian.connectors`
entry-point group (`[project.entry-points."custodian.connectors"] printer-web =
"mypkg.printer:PrinterConnector"`). A name that names nothing is a `UsageError`."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ..errors import UsageError
from .base import Connector

GROUP = "custodian.connectors"
BUILTIN = {
    "ssh": "custodian.connectors.ssh:SshConnector",
    "ldap": "custodian.connectors.ldap:LdapConnector",
    "active-directory": "custodian.connectors.active_directory:ActiveDirectoryConnector",
    "postgresql": "custodian.connectors.postgresql:PostgresConnector",
    "cisco-ios": "custodian.connectors.network:CiscoIos",
    "aruba-os": "custodian.connectors.network:ArubaOs",
    "hp-procurve": "custodian.connectors.network:HpProcurve",
    "juniper-junos": "custodian.connectors.network:JuniperJunos",
    "mikrotik-routeros": "custodian.connectors.network:MikrotikRouterOs",
    "generic-ssh": "custodian.connectors.network:GenericSsh",
}
# The connector a system of each kind gets when none is named.
_BY_KIND = {
    "linux": "ssh",
    "active-directory": "active-directory",
    "database": "postgresql",
    "switch": "cisco-ios",
    "router": "cisco-ios",
}


def default_for(kind: str) -> str | None:
    return _BY_KIND.get(kind)


def names() -> list[str]:
    """Every connector name: built in, then installed by entry points."""
    return sorted(set(BUILTIN) | {ep.name for ep in entry_points(group=GROUP)})


def load(name: str) -> Connector:
    """An instance of the connector called `name`."""
    spec = BUILTIN.get(name)
    if spec is not None:
        module, _, attr = spec.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    else:
        found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
        if not found:
            raise UsageError(f"no connector {name[:64]!r} (known: {', '.join(names())})")
        try:
            factory = found[0].load()
        except Exception as exc:  # a broken plug-in: one line, not a traceback
            raise UsageError(
                f"the connector {name!r} failed to load ({type(exc).__name__})"
            ) from None
    connector = factory()
    if not isinstance(connector, Connector):
        raise UsageError(f"{name!r} is not a connector (it lacks change or verify)")
    return connector

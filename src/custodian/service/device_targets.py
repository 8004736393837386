"""How a system is reached for rotation on the device: its target settings and connector.

`system add/edit --host --port --connector --host-key --trust-host-key --ca-file
--tls-name --rotation-account` (docs/rotation.md). The connector defaults from the kind
(`connectors.default_for`); a host key must parse, a CA file must exist, a rotation account
names a credential (SYSTEM/NAME) of the same customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..connectors import Connector, Target, default_for, load, names
from ..db.models import System, SystemKind
from ..errors import NotFound, UsageError
from ..paths import SystemPath, check_name
from ..records import SystemInfo, _Record
from . import credentials, inputs, rows, views

if TYPE_CHECKING:
    from .actor import Actor


@dataclass(frozen=True)
class TargetSettings:
    """What to change about a system's target; None leaves a setting as it is, "" clears it."""

    host: str | None = None
    port: int | None = None
    connector: str | None = None
    host_key: str | None = None
    ca_file: str | None = None
    tls_name: str | None = None
    rotation_account: str | None = None

    def apply(self, system: System) -> None:
        """Check every setting given, then set it on `system`."""
        if self.host is not None:
            system.host = inputs.check_text(self.host, "host", 255) if self.host else None
        if self.port is not None:
            if not 0 <= self.port <= 65535:
                raise UsageError(f"port {self.port} is not 1..65535")
            system.port = self.port or None
        if self.connector is not None:
            if self.connector and self.connector not in names():
                raise UsageError(
                    f"no connector {self.connector[:64]!r} (known: {', '.join(names())})"
                )
            system.connector = self.connector or None
        if self.host_key is not None:
            system.host_key = _host_key(self.host_key) if self.host_key else None
        if self.ca_file is not None:
            system.ca_file = _ca_file(self.ca_file) if self.ca_file else None
        if self.tls_name is not None:
            system.tls_name = inputs.check_text(self.tls_name, "TLS name", 255) or None
        if self.rotation_account is not None:
            system.rotation_account = _account(self.rotation_account) or None


def _host_key(line: str) -> str:
    from ..connectors.ssh import parse_host_key

    text = inputs.check_text(line, "host key", 4096)
    parse_host_key(text)
    return " ".join(text.split()[:2])  # the comment goes


def _ca_file(path: str) -> str:
    p = Path(inputs.check_text(path, "CA file", 1024)).expanduser().resolve()
    if not p.is_file():
        raise UsageError(f"no CA file {str(p)[:200]!r}")
    return str(p)


def _account(text: str) -> str:
    parts = text.split("/")
    if len(parts) != 2:
        raise UsageError("a rotation account is SYSTEM/NAME: a credential of the same customer")
    return f"{check_name(parts[0], 'system')}/{check_name(parts[1], 'credential')}"


# --- reading a target ---------------------------------------------------------------------


def connector_name(system: System) -> str | None:
    return system.connector or default_for(system.kind)


def connector_of(system: System, where: str) -> tuple[str, Connector]:
    name = connector_name(system)
    if name is None:
        raise UsageError(
            f"{where}: a system of kind {system.kind!r} has no default connector: name one"
            " (system edit --connector)"
        )
    return name, load(name)


def target_of(system: System, where: str) -> Target:
    if not system.host:
        raise UsageError(f"{where}: the system has no host (system edit --host)")
    return Target(
        host=system.host,
        port=system.port,
        host_key=system.host_key,
        ca_file=system.ca_file,
        tls_name=system.tls_name,
    )


# --- use cases ----------------------------------------------------------------------------


def add_system(
    actor: Actor,
    path: str,
    kind: SystemKind,
    *,
    notes: str | None = None,
    settings: TargetSettings,
) -> SystemInfo:
    """`credentials.add_system` with target settings, in its one transaction."""
    return credentials.add_system(actor, path, kind, notes=notes, target=settings)


def edit_system(actor: Actor, path: str, settings: TargetSettings) -> SystemInfo:
    sp = SystemPath.parse(path)
    with actor.transaction() as tx:
        customer = actor.writable_customer(tx, sp.customer)
        system = rows.find_system(tx, customer, sp.system)
        if system is None:
            raise NotFound(f"no system {str(sp)!r}")
        settings.apply(system)
        tx.add(system)
        changed = sorted(k for k, v in vars(settings).items() if v is not None)
        actor.record(
            tx, "system-edit", customer_id=customer.id, target=str(sp), detail={"set": changed}
        )
        return views.system_info(customer.slug, system)


@dataclass(frozen=True)
class HostKey(_Record):
    key: str
    fingerprint: str


def scan_host_key(actor: Actor, path: str) -> HostKey:
    """The SSH host key the system's host presents now, to show and store on confirmation
    (trust on first use). Reads the system only; stores nothing."""
    from ..connectors.ssh import fetch_host_key, fingerprint

    sp = SystemPath.parse(path)
    with actor.transaction() as tx:
        customer = actor.writable_customer(tx, sp.customer)
        system = rows.find_system(tx, customer, sp.system)
        if system is None:
            raise NotFound(f"no system {str(sp)!r}")
        target = target_of(system, str(sp))
    key = fetch_host_key(target)
    return HostKey(key, fingerprint(key))

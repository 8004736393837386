"""`ImportItem`, what every reader produces, and `guess_kind`, a system's kind from its name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ...db.models import SystemKind
from ...secret import Secret

# Name tokens that reveal a system's kind, first match wins (docs/import-backup.md).
_KIND_TOKENS: tuple[tuple[SystemKind, frozenset[str]], ...] = (
    (SystemKind.ACTIVE_DIRECTORY, frozenset({"dc", "ad", "adds", "domain", "ldap"})),
    (
        SystemKind.DATABASE,
        frozenset(
            {"sql", "db", "mssql", "mysql", "postgres", "postgresql", "pg", "oracle", "database"}
        ),
    ),
    (SystemKind.SWITCH, frozenset({"sw", "switch", "switches"})),
    (
        SystemKind.ROUTER,
        frozenset({"rtr", "fw", "router", "routers", "firewall", "firewalls", "gw", "gateway"}),
    ),
    (SystemKind.PRINTER, frozenset({"printer", "printers", "mfp", "prn", "copier"})),
)


def guess_kind(system_name: str) -> SystemKind:
    """The kind a system's name suggests: `DC01` is active-directory, `sql-prod` a
    database, `core-sw1` a switch, `FW` a router, `MFP 2nd floor` a printer."""
    tokens = re.findall(r"[a-z]+", system_name.lower())
    for token in tokens:
        for kind, words in _KIND_TOKENS:
            if token in words:
                return kind
    return SystemKind.OTHER


@dataclass(frozen=True)
class ImportItem:
    """One credential to import, as a parser read it. `source` ("file:line") prefixes
    every error about it. `fields` are the secret fields; their values never print."""

    source: str
    customer: str  # slug
    system: str
    name: str
    fields: Mapping[str, Secret] = field(repr=False)
    customer_name: str | None = None
    username: str | None = None
    url: str | None = None
    notes: str | None = field(default=None, repr=False)
    kind: SystemKind | None = None  # None: guessed from the system's name
    host: str | None = None

    @property
    def path(self) -> str:
        return f"{self.customer}/{self.system}/{self.name}"

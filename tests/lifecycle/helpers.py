"""Small helpers shared by the lifecycle tests."""

from __future__ import annotations

from typing import Any

from custodian.crypto import KeyPair
from custodian.db.models import SystemKind
from custodian.secret import SecretPayload


def add_creds(vault: Any, slug: str, names: list[str], system: str = "srv") -> list[str]:
    """Add `names` on `slug/system` (creating the system if needed), each with a value
    `value-of-NAME-1`; returns their paths."""
    systems = {s.name for s in vault.admin.show_customer(slug).systems}
    if system not in systems:
        vault.admin.add_system(f"{slug}/{system}", SystemKind.DATABASE, host=f"{system}.example")
    paths = []
    for name in names:
        path = f"{slug}/{system}/{name}"
        vault.admin.add_credential(
            path, SecretPayload({"password": f"value-of-{name}-1"}), username=f"user-{name}"
        )
        paths.append(path)
    return paths


def private_key(session: Any) -> KeyPair:
    """The technician's own private key, as a leaver who kept it would hold it."""
    return session._key


def ids(vault: Any, slug: str) -> int:
    return vault.sql("SELECT id FROM customer WHERE slug = :s", s=slug)[0][0]


def tech_id(vault: Any, name: str) -> int:
    return vault.sql("SELECT id FROM technician WHERE username = :n", n=name)[0][0]

"""Which secret store a vault uses, kept in its database (`secret_backend`, migration 0004).

No row means `sql`. A `vault` row holds Vault's address, KV mount, path prefix and auth
mount, never a token: tokens come from the environment, as for Vault's own CLI. hvac is
imported only when a Vault store first talks to Vault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlmodel import Session, select

from ..db.models import SecretBackend
from ..errors import UsageError
from .base import SecretStore
from .hashicorp import VaultSecretStore
from .sql import SqlSecretStore

KINDS = ("sql", "vault")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")


@dataclass(frozen=True)
class BackendConfig:
    kind: str = "sql"
    vault_addr: str | None = None
    vault_mount: str = "secret"
    vault_prefix: str = "custodian"
    vault_auth_mount: str = "userpass"
    migrating_to: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"unknown backend {self.kind!r}: use sql or vault")
        for what, value in (
            ("mount", self.vault_mount),
            ("auth mount", self.vault_auth_mount),
            *(("prefix", part) for part in self.vault_prefix.split("/")),
        ):
            if not _SEGMENT.fullmatch(value):
                raise UsageError(f"invalid Vault {what} {value[:60]!r}")


def load(tx: Session) -> BackendConfig:
    row = tx.exec(select(SecretBackend)).first()
    if row is None:
        return BackendConfig()
    return BackendConfig(
        row.kind,
        row.vault_addr,
        row.vault_mount or "secret",
        row.vault_prefix or "custodian",
        row.vault_auth_mount or "userpass",
        row.migrating_to,
    )


def save(tx: Session, config: BackendConfig) -> None:
    row = tx.get(SecretBackend, 1) or SecretBackend(id=1)
    row.kind = config.kind
    row.vault_addr = config.vault_addr
    row.vault_mount = config.vault_mount
    row.vault_prefix = config.vault_prefix
    row.vault_auth_mount = config.vault_auth_mount
    row.migrating_to = config.migrating_to
    tx.add(row)


def build_store(config: BackendConfig) -> SecretStore:
    """The store `config` names. Vault's address comes from `VAULT_ADDR` when set."""
    if config.kind == "sql":
        return SqlSecretStore()
    return build_vault_store(config)


def build_vault_store(config: BackendConfig) -> VaultSecretStore:
    """The Vault store of `config`'s Vault settings, whatever its `kind` (migrate)."""
    return VaultSecretStore.from_env(
        addr=config.vault_addr,
        mount=config.vault_mount,
        prefix=config.vault_prefix,
        auth_mount=config.vault_auth_mount,
    )


def configured_store(tx: Session) -> SecretStore:
    config = load(tx)
    if config.migrating_to is not None:
        raise UsageError(
            f"a migration to {config.migrating_to} is unfinished:"
            f" run `custodian migrate --to {config.migrating_to}` to complete it"
        )
    return build_store(config)


def checked_store(config: BackendConfig) -> SecretStore:
    """The store for a new vault, after checking that it can be used (`init`)."""
    store = build_store(config)
    check = getattr(store, "check", None)
    if check is not None:
        check()
    return store


def with_address(config: BackendConfig, store: SecretStore) -> BackendConfig:
    """`config` with the Vault address actually used (from `VAULT_ADDR` if not given)."""
    address = getattr(store, "addr", None)
    if config.kind != "vault" or config.vault_addr or not address:
        return config
    return replace(config, vault_addr=address)

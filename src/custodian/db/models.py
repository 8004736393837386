"""The schema. Alembic migrations in `migrations/` are generated from these models.

Rows hold public keys, sealed blobs and metadata; never a plaintext secret or an
unwrapped private key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    ADMIN = "admin"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"


class SystemKind(StrEnum):
    ACTIVE_DIRECTORY = "active-directory"
    DATABASE = "database"
    SWITCH = "switch"
    ROUTER = "router"
    PRINTER = "printer"
    APPLICATION = "application"
    LINUX = "linux"  # a server reached over SSH
    OTHER = "other"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    OFFBOARDED = "offboarded"
    PURGED = "purged"


class RecipientKind(StrEnum):
    TECHNICIAN = "technician"
    ORG = "org"
    RECOVERY = "recovery"


def _blob(nullable: bool = False) -> Column[bytes]:
    return Column(LargeBinary, nullable=nullable)


class VaultInfo(SQLModel, table=True):
    """One row: the vault's identity and organization-wide public material."""

    __tablename__ = "vault_info"
    id: int = Field(default=1, primary_key=True)
    vault_id: str
    created_at: datetime
    recovery_public_key: bytes = Field(sa_column=_blob())
    kdf_memory_kib: int
    kdf_iterations: int
    kdf_lanes: int
    retention_days: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    max_age_by_kind: str | None = None  # JSON: system kind -> days a password may age
    # The most one secret field may hold (service/secret_policy.py, `field-limit`).
    max_field_bytes: int = Field(default=1048576, sa_column_kwargs={"server_default": "1048576"})


class Technician(SQLModel, table=True):
    __tablename__ = "technician"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    role: str = Field(max_length=16)
    active: bool = True
    public_key: bytes = Field(sa_column=_blob())
    signing_public_key: bytes = Field(sa_column=_blob())
    locked_private: bytes | None = Field(default=None, sa_column=_blob(nullable=True))
    # the passphrase's verifier for `custodian serve` (crypto PassphraseKey.login_key)
    login_key: bytes | None = Field(default=None, sa_column=_blob(nullable=True))
    created_at: datetime
    failed_unlocks: int = 0
    last_failed_at: datetime | None = None


class OrgKey(SQLModel, table=True):
    __tablename__ = "org_key"
    version: int = Field(primary_key=True)
    public_key: bytes = Field(sa_column=_blob())
    created_at: datetime


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=63)
    name: str = Field(max_length=200)
    status: str = Field(default=CustomerStatus.ACTIVE, max_length=16)
    require_reason: bool = False
    reason_pattern: str | None = None
    current_key_version: int = 1
    created_at: datetime
    offboarded_at: datetime | None = None
    purge_after: datetime | None = None
    # who may reveal `otp-seed`: "admins" or "granted" (every granted technician)
    otp_seed_policy: str = Field(
        default="admins", max_length=16, sa_column_kwargs={"server_default": "admins"}
    )
    max_age_days: int | None = None  # a password older than this is due for rotation


class CustomerKey(SQLModel, table=True):
    __tablename__ = "customer_key"
    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    version: int = Field(primary_key=True)
    public_key: bytes = Field(sa_column=_blob())
    created_at: datetime


class KeyWrap(SQLModel, table=True):
    """A private key (org or customer, one version) sealed to one recipient's public key."""

    __tablename__ = "key_wrap"
    __table_args__ = (
        UniqueConstraint("customer_id", "key_version", "recipient_kind", "recipient_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    key_version: int
    recipient_kind: str = Field(max_length=16)
    recipient_id: int = Field(index=True)
    wrapped: bytes = Field(sa_column=_blob())


class Grant(SQLModel, table=True):
    __tablename__ = "grant"
    __table_args__ = (UniqueConstraint("technician_id", "customer_id"),)
    id: int | None = Field(default=None, primary_key=True)
    technician_id: int = Field(foreign_key="technician.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    granted_by: int = Field(foreign_key="technician.id")
    granted_at: datetime
    expires_at: datetime | None = None
    # May add credentials and versions, sealed to the customer's public key, but holds no
    # wrap of its key: cannot read them (onboarding a site).
    write_only: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class System(SQLModel, table=True):
    __tablename__ = "system"
    __table_args__ = (UniqueConstraint("customer_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    host: str | None = Field(default=None, max_length=255)
    port: int | None = None
    notes: str | None = None
    created_at: datetime
    # How rotation reaches the device (docs/rotation.md; `port` above); None: the default.
    connector: str | None = Field(default=None, max_length=64)
    host_key: str | None = Field(default=None, max_length=4096)  # OpenSSH public key line
    ca_file: str | None = Field(default=None, max_length=1024)  # LDAPS: the CA to trust
    tls_name: str | None = Field(default=None, max_length=255)  # the name its certificate has
    rotation_account: str | None = Field(default=None, max_length=257)  # SYSTEM/NAME


class Credential(SQLModel, table=True):
    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("system_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    name: str = Field(max_length=128)
    username: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, max_length=2048)
    notes: str | None = None
    tags: str | None = Field(default=None, max_length=512)  # comma-separated
    current_version: int = 0
    created_at: datetime
    updated_at: datetime
    # Set when the credential was retired (`cred retire`): kept, but out of the listings
    # and the rotation worklist, and no new version until it is un-retired.
    retired_at: datetime | None = None


class SecretVersion(SQLModel, table=True):
    """One version of a credential's payload. `ciphertext` is null where an external
    store (Vault) holds the payload."""

    __tablename__ = "secret_version"
    __table_args__ = (UniqueConstraint("credential_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(foreign_key="credential.id", index=True)
    version: int
    key_version: int
    field_names: str
    ciphertext: bytes | None = Field(default=None, sa_column=_blob(nullable=True))
    kv_version: int | None = None  # the Vault KV v2 version holding this payload, if any
    created_by: int | None = Field(default=None, foreign_key="technician.id")  # None: from Vault
    created_at: datetime


class SecretBackend(SQLModel, table=True):
    """One row: where payloads live (`sql` or `vault`) and how to reach Vault. No row: `sql`.
    Never holds a token: tokens come from `VAULT_TOKEN` or `~/.vault-token`."""

    __tablename__ = "secret_backend"
    id: int = Field(default=1, primary_key=True)
    kind: str = Field(default="sql", max_length=16)
    vault_addr: str | None = Field(default=None, max_length=2048)
    vault_mount: str | None = Field(default=None, max_length=255)
    vault_prefix: str | None = Field(default=None, max_length=255)
    vault_auth_mount: str | None = Field(default=None, max_length=255)
    migrating_to: str | None = Field(default=None, max_length=16)


class LogHead(SQLModel, table=True):
    """One row: the access log's last sequence number and hash. Locking it serializes appends."""

    __tablename__ = "log_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    head: bytes = Field(sa_column=_blob())


class AccessEvent(SQLModel, table=True):
    """One entry of the access log. Never holds a secret value."""

    __tablename__ = "access_event"
    __table_args__ = (  # review queries: one customer, technician or credential over time
        Index("ix_access_event_customer_at", "customer_id", "at"),
        Index("ix_access_event_actor_at", "actor_id", "at"),
        Index("ix_access_event_credential_at", "credential_id", "at"),
        Index("ix_access_event_actor_seq", "actor", "seq"),  # an actor's newest event
    )
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(index=True)
    actor_id: int | None = None
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32, index=True)
    outcome: str = Field(max_length=16)
    customer_id: int | None = None
    target: str | None = Field(default=None, max_length=600)
    credential_id: int | None = None
    reason: str | None = Field(default=None, max_length=500)
    detail: str | None = None
    prev_hash: bytes = Field(sa_column=_blob())
    hash: bytes = Field(sa_column=_blob())
    signature: bytes | None = Field(default=None, sa_column=_blob(nullable=True))


class RotationItem(SQLModel, table=True):
    """A credential whose value must be changed on the device: someone who lost access
    saw it (`cause` "seen", `technician_id`, `seen_at`), or it is assumed compromised.
    Deleted when the credential gets a new version (issue 4)."""

    __tablename__ = "rotation_item"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    credential_id: int = Field(foreign_key="credential.id", index=True)
    cause: str = Field(max_length=32)
    technician_id: int | None = Field(default=None, foreign_key="technician.id")
    seen_at: datetime | None = None
    flagged_at: datetime
    flagged_by: int | None = Field(default=None, foreign_key="technician.id")


class PendingRotation(SQLModel, table=True):
    """A rotation between its two phases: the new secret, sealed to the customer key, kept
    until the device is known to accept it (then it becomes a version) or to refuse it
    (then it goes). One per credential: a second rotation of it is refused."""

    __tablename__ = "pending_rotation"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    credential_id: int = Field(foreign_key="credential.id", unique=True)
    base_version: int  # the current version when the rotation started
    key_version: int
    sealed: bytes = Field(sa_column=_blob())
    state: str = Field(max_length=16)  # "sealed": target untouched; "sent": change sent
    started_at: datetime
    started_by: int = Field(foreign_key="technician.id")
    error: str | None = Field(default=None, max_length=500)


class ShreddedCustomer(SQLModel, table=True):
    """The destruction list: customers whose keys were destroyed. Holds no customer data
    beyond slug and name; a restore re-applies it (`service.shredding.reapply_purges`)."""

    __tablename__ = "shredded_customer"
    id: int | None = Field(default=None, primary_key=True)
    vault_id: str = Field(max_length=64)
    customer_id: int = Field(index=True)
    slug: str = Field(max_length=63)
    name: str = Field(max_length=200)
    shredded_at: datetime
    shredded_by: str = Field(max_length=64)
    event_seq: int | None = None
    detail: str | None = None

"""`ActorSession`: the public face of an unlocked technician.

A thin facade: each method hands its call to the use-case module that owns it (one module
per use case, each a set of functions over an `Actor`), so the CLI and the TUI have one
object to call and each rule has one place. Authorization rules live in `policy.py` and
`actor.py`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..audit.alerts import AlertPolicy
from ..audit.query import EventFilter
from ..crypto import KdfParams, KeyPair, RecoveryCode, SigningKey
from ..db.models import Role, SystemKind
from ..exchange.backup import Manifest
from ..exchange.importers import ImportItem
from ..records import (
    AccessReport,
    AlertInfo,
    CheckpointInfo,
    CredentialDetail,
    CredentialEdit,
    CredentialInfo,
    CustomerDetail,
    CustomerInfo,
    EventInfo,
    GrantInfo,
    LogVerification,
    PolicyChange,
    SystemEdit,
    SystemInfo,
    TechnicianInfo,
    VersionInfo,
)
from ..secret import PRIMARY_FIELD, Secret, SecretPayload
from ..storage.config import BackendConfig
from . import (
    access_log,
    backups,
    credential_admin,
    credentials,
    customers,
    deletion,
    grants,
    imports,
    offboarding,
    purge,
    rotation,
    secret_policy,
    store_admin,
    store_migration,
    technicians,
)
from .actor import Actor
from .enrolment import pack_private
from .offboarding_records import CustomerReport, Handover, OffboardResult
from .rotation import RotationEntry
from .shredding import Certificate

if TYPE_CHECKING:
    from .vault import Custodian


class ActorSession:
    """An unlocked technician. Holds their private keys in memory; never prints them."""

    def __init__(
        self,
        vault: Custodian,
        technician_id: int,
        username: str,
        role: Role,
        key: KeyPair,
        signer: SigningKey,
    ) -> None:
        self._actor = Actor(vault, technician_id, username, role, key, signer)
        self.technician_id, self.username, self.role = technician_id, username, role
        self._vault, self._key, self._signer = vault, key, signer  # read by tests and benches

    def __repr__(self) -> str:
        return f"ActorSession(username={self.username!r}, role={self.role.value!r})"

    def export(self) -> bytes:
        """The private-key bundle, for a session cache that encrypts it."""
        return pack_private(self._actor.key, self._actor.signer)

    # --- technicians (technicians.py) -----------------------------------------------

    def add_technician(self, username: str, role: Role, passphrase: str) -> TechnicianInfo:
        return technicians.add_technician(self._actor, username, role, passphrase)

    def list_technicians(self) -> list[TechnicianInfo]:
        return technicians.list_technicians(self._actor)

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-lock this technician's private keys under a new passphrase."""
        technicians.change_passphrase(self._actor, new_passphrase)

    def reset_passphrase(self, username: str, new_passphrase: str) -> int:
        """An admin sets a technician's passphrase; returns the number of keys re-wrapped."""
        return technicians.reset_passphrase(self._actor, username, new_passphrase)

    def set_role(self, username: str, role: Role) -> None:
        technicians.set_role(self._actor, username, role)

    def remove_technician(
        self, username: str, *, assume_compromised: bool = False
    ) -> list[RotationEntry]:
        """Disable an account for good; returns the worklist entries it caused."""
        return technicians.remove_technician(
            self._actor, username, assume_compromised=assume_compromised
        )

    # --- customers (customers.py) ---------------------------------------------------

    def add_customer(
        self,
        slug: str,
        name: str,
        *,
        require_reason: bool = False,
        reason_pattern: str | None = None,
    ) -> CustomerInfo:
        return customers.add_customer(
            self._actor, slug, name, require_reason=require_reason, reason_pattern=reason_pattern
        )

    def edit_customer(
        self,
        slug: str,
        *,
        name: str | None = None,
        require_reason: bool | None = None,
        reason_pattern: str | None = None,
        clear_pattern: bool = False,
    ) -> CustomerInfo:
        return customers.edit_customer(
            self._actor,
            slug,
            name=name,
            require_reason=require_reason,
            reason_pattern=reason_pattern,
            clear_pattern=clear_pattern,
        )

    def list_customers(self) -> list[CustomerInfo]:
        return customers.list_customers(self._actor)

    def show_customer(self, slug: str) -> CustomerDetail:
        return customers.show_customer(self._actor, slug)

    # --- grants (grants.py) ---------------------------------------------------------

    def grant(self, username: str, slug: str, *, until: datetime | None = None) -> GrantInfo:
        return grants.grant(self._actor, username, slug, until=until)

    def revoke(self, username: str, slug: str, *, assume_compromised: bool = False) -> None:
        grants.revoke(self._actor, username, slug, assume_compromised=assume_compromised)

    def maintenance(self) -> dict[str, int]:
        return grants.maintenance(self._actor)

    def rotation_list(self, slug: str | None = None) -> list[RotationEntry]:
        return rotation.rotation_list(self._actor, slug)

    # --- systems and credentials (credentials.py, credential_admin.py, deletion.py) --

    def add_system(
        self, path: str, kind: SystemKind, *, host: str | None = None, notes: str | None = None
    ) -> SystemInfo:
        return credentials.add_system(self._actor, path, kind, host=host, notes=notes)

    def add_credential(
        self,
        path: str,
        payload: SecretPayload,
        *,
        username: str | None = None,
        url: str | None = None,
        notes: str | None = None,
    ) -> CredentialInfo:
        return credentials.add_credential(
            self._actor, path, payload, username=username, url=url, notes=notes
        )

    def set_secret(
        self,
        path: str,
        payload: SecretPayload,
        *,
        keep_other_fields: bool = True,
        expected_version: int | None = None,
    ) -> int:
        return credentials.set_secret(
            self._actor,
            path,
            payload,
            keep_other_fields=keep_other_fields,
            expected_version=expected_version,
        )

    def list_credentials(self, slug: str | None = None) -> list[CredentialInfo]:
        return credentials.list_credentials(self._actor, slug)

    def history(self, path: str) -> list[VersionInfo]:
        return credentials.history(self._actor, path)

    def edit(self, path: str, change: CredentialEdit | SystemEdit) -> str:
        return credential_admin.edit(self._actor, path, change)  # returns the new path

    def show_credential(self, path: str) -> CredentialDetail:
        return credential_admin.show_credential(self._actor, path)

    def delete(self, path: str) -> dict[str, int]:
        return deletion.delete(self._actor, path)  # a credential or a system (admins)

    def secret_policy(self, slug: str | None, change: PolicyChange) -> dict[str, object]:
        """Show or set a customer's TOTP seed policy and password age, or a kind's age."""
        return secret_policy.secret_policy(self._actor, slug, change)

    # --- the reveal (reveal.py; username, url, host, notes: credential_admin.py) ----

    def reveal(
        self,
        path: str,
        *,
        field: str = PRIMARY_FIELD,
        reason: str | None = None,
        version: int | None = None,
        action: str = "reveal",
    ) -> Secret:
        """Decrypt one field, or read username, url, host, notes; logged before returned."""
        return credential_admin.read_field(
            self._actor, path, field=field, reason=reason, version=version, action=action
        )

    # --- moving data in and out (imports.py, backups.py, exchange/handover.py) -------

    def import_items(
        self,
        items: Iterable[ImportItem],
        *,
        source: str,
        dry_run: bool = False,
        progress: imports.Progress | None = None,
    ) -> imports.ImportReport:
        """Create or update every item in one transaction (`dry_run`: then roll back)."""
        return imports.import_items(
            self._actor, items, source=source, dry_run=dry_run, progress=progress
        )

    def backup(
        self, out: BinaryIO, passphrase: str, *, params: KdfParams | None = None
    ) -> Manifest:
        """Write an encrypted backup of the whole vault (admins only; logged)."""
        return backups.backup(self._actor, out, passphrase, params=params)

    def hand_over(self, slug: str, path: Path, passphrase: str) -> Handover:
        """`slug`'s handover written to `path` as KDBX 4 (one `export` event; a grant)."""
        return offboarding.hand_over(self._actor, slug, path, passphrase)

    def hand_over_json(self, slug: str, path: Path) -> Handover:
        """`slug`'s handover written to `path` as plaintext JSON (target checked first)."""
        return offboarding.hand_over_json(self._actor, slug, path)

    # --- doctor and migrate (store_admin.py, store_migration.py) ----------------------

    def doctor(self, *, repair: bool = False) -> list[store_admin.Drift]:
        """Drift between custodian's records and the payload store (admins)."""
        return store_admin.doctor(self._actor, repair=repair)

    def migrate(
        self,
        target: BackendConfig,
        *,
        progress: store_migration.Progress | None = None,
        batch: int = store_migration.BATCH,
    ) -> store_migration.MigrationResult:
        """Move every payload to `target`'s store, verifying each (admins; resumable)."""
        return store_migration.migrate(self._actor, target, progress=progress, batch=batch)

    # --- the access log (access_log.py) ---------------------------------------------

    def events(
        self,
        *,
        customer: str | None = None,
        technician: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        until: datetime | None = None,
        credential: str | None = None,
        actions: tuple[str, ...] = (),
        outcomes: tuple[str, ...] = (),
        reason: str | None = None,
        after: int | None = None,
    ) -> list[EventInfo]:
        """Access events, oldest first; `limit` keeps the newest N. Technicians see only
        their own."""
        return access_log.events(
            self._actor,
            customer=customer,
            technician=technician,
            since=since,
            limit=limit,
            until=until,
            credential=credential,
            actions=actions,
            outcomes=outcomes,
            reason=reason,
            after=after,
        )

    def iter_events(self, flt: EventFilter = EventFilter()) -> Iterator[EventInfo]:
        """Every matching event, oldest first, fetched in batches (constant memory)."""
        return access_log.iter_events(self._actor, flt)

    def last_seq(self) -> int:
        """The log head's sequence number (where `log --follow` starts)."""
        return access_log.last_seq(self._actor)

    def report(
        self,
        customer: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        policy: AlertPolicy | None = None,
    ) -> AccessReport:
        return access_log.report(self._actor, customer, since=since, until=until, policy=policy)

    def alerts(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        policy: AlertPolicy | None = None,
        record: bool = True,
    ) -> list[AlertInfo]:
        return access_log.alerts(
            self._actor, since=since, until=until, policy=policy, record=record
        )

    def verify_log(
        self,
        *,
        checkpoint_text: str | None = None,
        workers: int | None = None,
        progress: Any = None,
        incremental: bool = False,
        every_signature: bool = False,
    ) -> LogVerification:
        """Verify the whole log (and checkpoints); a failure is returned, not raised."""
        return access_log.verify_log(
            self._actor,
            checkpoint_text=checkpoint_text,
            workers=workers,
            progress=progress,
            incremental=incremental,
            every_signature=every_signature,
        )

    def checkpoint(
        self, *, previous: str | None = None, workers: int | None = None, progress: Any = None
    ) -> CheckpointInfo:
        return access_log.checkpoint(
            self._actor, previous=previous, workers=workers, progress=progress
        )

    def harden_database(self, app_roles: list[str]) -> list[str]:
        return access_log.harden_database(self._actor, app_roles)

    # --- offboarding and destruction (offboarding.py, purge.py) ---------------------

    def handover(self, slug: str) -> Handover:
        """Decrypt a customer's current credentials for a handover file (needs a grant)."""
        return offboarding.handover(self._actor, slug)

    def offboard(self, slug: str, *, retention_days: int | None = None) -> OffboardResult:
        return offboarding.offboard(self._actor, slug, retention_days=retention_days)

    def retention_days(self, days: int | None = None) -> int:
        """The default retention after offboarding; sets it when `days` is given."""
        return offboarding.retention_days(self._actor, days)

    def customer_report(self, slug: str) -> CustomerReport:
        return offboarding.customer_report(self._actor, slug)

    def purge(self, slug: str | None = None, *, now: bool = False) -> list[Certificate]:
        """Crypto-shred `slug`, or every offboarded customer past its date."""
        return purge.purge(self._actor, slug, now=now)

    def recover(self, slug: str, code: RecoveryCode) -> int:
        """Break-glass access to `slug` through the recovery code."""
        return purge.recover(self._actor, slug, code)

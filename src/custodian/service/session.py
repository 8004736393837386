"""`ActorSession`: the public face of an unlocked technician.

A thin facade: each method hands its call to the use-case module that owns it (one module
per use case, each a set of functions over an `Actor`), so the CLI and the TUI have one
object to call and each rule has one place. Authorization rules live in `policy.py` and
`actor.py`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from sqlmodel import Session

from ..crypto import KdfParams, KeyPair, SigningKey
from ..db.models import Credential, Customer, Grant, Role, SecretVersion, SystemKind, Technician
from ..db.prepared import Tx
from ..errors import CustodianError
from ..exchange import handover as handover_file
from ..exchange.backup import Manifest
from ..exchange.importers import ImportItem
from ..records import (
    CredentialInfo,
    CustomerDetail,
    CustomerInfo,
    GrantInfo,
    SystemInfo,
    TechnicianInfo,
    VersionInfo,
)
from ..secret import PRIMARY_FIELD, Secret, SecretPayload
from ..storage.config import BackendConfig
from . import (
    backend,
    backups,
    credentials,
    customers,
    grants,
    imports,
    reveal,
    revocation,
    rotation,
    technicians,
)
from .actor import Actor
from .enrolment import pack_private
from .lifecycle import Handover, LifecycleMixin
from .log_review import LogReview
from .rotation import RotationEntry

if TYPE_CHECKING:
    from .vault import Custodian


class ActorSession(LifecycleMixin, LogReview):
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
        self._actor = Actor(
            vault,
            technician_id,
            username,
            role,
            key,
            signer,
            end_lapsed_grants=revocation.end_lapsed_grants,
        )
        self.technician_id, self.username, self.role = technician_id, username, role
        # Read by the mixins not yet converted to use-case modules:
        self._vault, self._key, self._signer = vault, key, signer

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

    # --- systems and credentials (credentials.py) -----------------------------------

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

    # --- the reveal (reveal.py) -----------------------------------------------------

    def reveal(
        self,
        path: str,
        *,
        field: str = PRIMARY_FIELD,
        reason: str | None = None,
        version: int | None = None,
        action: str = "reveal",
    ) -> Secret:
        """Decrypt one field; the access event commits before the value is returned."""
        return reveal.reveal(
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
        """`slug`'s handover written to `path` as KDBX 4. The target and the passphrase
        are checked before anything is decrypted; then `handover` (one `export` event,
        needs a grant) is written. `offboard --kdbx` and the TUI's offboarding use it."""
        handover_file.check_handover_target(path)
        handover_file.check_handover_passphrase(passphrase)
        data = self.handover(slug)
        handover_file.write_kdbx(data, path, passphrase)
        return data

    def hand_over_json(self, slug: str, path: Path) -> Handover:
        """`slug`'s handover written to `path` as plaintext JSON (checked target first)."""
        handover_file.check_handover_target(path)
        data = self.handover(slug)
        handover_file.write_json(data, path)
        return data

    # --- the payload store (backend.py) ---------------------------------------------

    def doctor(self, *, repair: bool = False) -> list[backend.Drift]:
        """Drift between custodian's records and the payload store (admins)."""
        return backend.doctor(self, repair=repair)

    def migrate(
        self,
        target: BackendConfig,
        *,
        progress: backend.Progress | None = None,
        batch: int = backend.BATCH,
    ) -> backend.MigrationResult:
        """Move every payload to `target`'s store, verifying each (admins; resumable)."""
        return backend.migrate(self, target, progress=progress, batch=batch)

    # --- plumbing of the mixins not yet converted to use-case modules ---------------

    @property
    def _now(self) -> datetime:
        return self._actor.now

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._actor.transaction() as tx:
            yield tx

    def _record(self, tx: Tx, action: str, outcome: str = "ok", **fields: object) -> None:
        self._actor.record(tx, action, outcome, **fields)

    def _refuse(self, exc: CustodianError, action: str, outcome: str, **fields: object) -> NoReturn:
        self._actor.refuse(exc, action, **fields)

    def _require_role(self, action: str, *roles: Role) -> None:
        self._actor.require_role(action, *roles)

    def _customer(self, tx: Session, slug: str, action: str) -> Customer:
        return self._actor.customer(tx, slug)

    def _writable(self, tx: Session, slug: str, action: str) -> Customer:
        return self._actor.writable_customer(tx, slug)

    def _technician(self, tx: Session, username: str) -> Technician:
        return self._actor.technician(tx, username)

    def _org(self, tx: Session) -> tuple[int, KeyPair]:
        return self._actor.org_key(tx)

    def _grant_of(self, tx: Session, customer_id: int) -> Grant | None:
        return self._actor.live_grant(tx, customer_id)

    def _open(
        self, tx: Session, customer: Customer, cred: Credential, sv: SecretVersion
    ) -> SecretPayload:
        return reveal.open_version(self._actor, tx, customer, cred, sv)

    def _sync(self, tx: Session, customer: Customer, cred: Credential, target: str) -> None:
        credentials.sync_from_store(self._actor, tx, customer, cred, target)

    def _end_grant(
        self, tx: Session, customer: Customer, tech: Technician, grant: Grant | None, **kw: object
    ) -> int:
        return revocation.end_grant(self._actor, tx, customer, tech, grant, **kw)  # type: ignore[arg-type]

    def _rotate_customer_key(self, tx: Session, customer: Customer) -> None:
        revocation.rotate_customer_key(self._actor, tx, customer)

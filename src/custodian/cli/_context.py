"""Who acts, on which vault: resolved once per command from options and environment."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .. import UsageError
from ..agent.cache import SessionSlot, fetch_token, resume_cached_session
from ..service import ActorSession, Custodian
from ._io import acting_passphrase

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from .. import AlertPolicy, BackendConfig, EventFilter, Secret, SecretPayload
    from ..records import (
        AccessReport,
        AlertInfo,
        CredentialDetail,
        CredentialEdit,
        CredentialInfo,
        CustomerInfo,
        EventInfo,
        Identity,
        LogVerification,
        SystemEdit,
        VersionInfo,
    )
    from ..remote import RemoteSession, RemoteVault

USER_ENV = "CUSTODIAN_USER"
SERVER_ENV = "CUSTODIAN_URL"


class Reader(Protocol):
    """What the commands that work through a server need (`get`, `ssh-add`, `whoami`,
    `cred add`, `cred set`, `cred list`, `system add`, `customer list`, `cred history`,
    `cred show`, `cred rename|move|edit|delete`, `system rename|delete`, `log`, `log
    report`, `log alerts`, `log verify`): an `ActorSession`, or a `RemoteSession`."""

    def whoami(self) -> Identity: ...

    def list_customers(self) -> list[CustomerInfo]: ...

    def verify_log(
        self,
        *,
        checkpoint_text: str | None = ...,
        workers: int | None = ...,
        progress: Callable[[int, int], None] | None = ...,
        incremental: bool = ...,
        every_signature: bool = ...,
    ) -> LogVerification: ...

    def events(
        self,
        *,
        customer: str | None = ...,
        technician: str | None = ...,
        since: datetime | None = ...,
        limit: int | None = ...,
        until: datetime | None = ...,
        credential: str | None = ...,
        actions: tuple[str, ...] = ...,
        outcomes: tuple[str, ...] = ...,
        reason: str | None = ...,
        after: int | None = ...,
    ) -> list[EventInfo]: ...

    def iter_events(self, flt: EventFilter = ...) -> Iterator[EventInfo]: ...

    def last_seq(self) -> int: ...

    def report(
        self,
        customer: str,
        *,
        since: datetime | None = ...,
        until: datetime | None = ...,
        policy: AlertPolicy | None = ...,
    ) -> AccessReport: ...

    def alerts(
        self,
        *,
        since: datetime | None = ...,
        until: datetime | None = ...,
        policy: AlertPolicy | None = ...,
    ) -> list[AlertInfo]: ...

    def add_credential(
        self,
        path: str,
        payload: SecretPayload,
        *,
        username: str | None = ...,
        url: str | None = ...,
        notes: str | None = ...,
    ) -> Any: ...

    def list_credentials(
        self, slug: str | None = ..., *, retired: str = ...
    ) -> list[CredentialInfo]: ...

    def set_secret(
        self,
        path: str,
        payload: SecretPayload,
        *,
        keep_other_fields: bool = ...,
        expected_version: int | None = ...,
    ) -> int: ...

    def history(self, path: str) -> list[VersionInfo]: ...

    def show_credential(self, path: str) -> CredentialDetail: ...

    def edit(self, path: str, change: CredentialEdit | SystemEdit) -> str: ...

    def delete(self, path: str) -> dict[str, int]: ...

    def reveal(
        self,
        path: str,
        *,
        field: str = ...,
        reason: str | None = ...,
        version: int | None = ...,
    ) -> Secret: ...


@dataclass
class CliContext:
    db: str | None
    user: str | None
    server: str | None = None
    _vault: Custodian | None = field(default=None, repr=False)
    _actor: ActorSession | None = field(default=None, repr=False)
    _remote: RemoteVault | None = field(default=None, repr=False)
    _member: RemoteSession | None = field(default=None, repr=False)

    @property
    def username(self) -> str:
        return self.user or os.environ.get(USER_ENV) or getpass.getuser()

    def vault(self) -> Custodian:
        """The vault --db names, opened on first use (its schema checked)."""
        self._database_only()
        if self._vault is None:
            self._vault = Custodian.open(self.db)
        return self._vault

    def create_vault(self, backend: BackendConfig) -> Custodian:
        """A new vault to `init` (`custodian init`); see `Custodian.create`."""
        return self._adopt(lambda: Custodian.create(self.db, backend))

    def vault_to_upgrade(self) -> Custodian:
        """The vault, whatever its schema (`custodian db upgrade`)."""
        return self._adopt(lambda: Custodian.open(self.db, check_schema=False))

    def vault_to_migrate(self) -> Custodian:
        """The vault, even mid-migration (`custodian migrate`)."""
        return self._adopt(lambda: Custodian.open_for_migration(self.db))

    def _adopt(self, opener: Callable[[], Custodian]) -> Custodian:
        """Open the vault a command needs in its own way; it is closed with the context."""
        self._database_only()
        if self._vault is not None:
            raise UsageError("the vault is already open")
        self._vault = opener()
        return self._vault

    @property
    def location(self) -> str:
        """Where --db points, for messages (any password masked)."""
        return Custodian.location(self.db)

    def slot(self) -> SessionSlot:
        """Where this user's cached session for this vault (or server) lives."""
        return SessionSlot(self.remote().url if self.server else self.vault().url, self.username)

    def remote(self) -> RemoteVault:
        """The server --server names (`custodian serve`), reached on first use."""
        if self._remote is None:
            from ..remote import RemoteVault  # httpx: only when a server is used

            assert self.server is not None
            self._remote = RemoteVault(self.server)
        return self._remote

    def actor(self) -> ActorSession:
        """The acting technician: a cached session if one is valid, else their passphrase."""
        if self._actor is None:
            vault = self.vault()
            self._actor = resume_cached_session(vault, self.username) or vault.unlock(
                self.username, acting_passphrase(self.username)
            )
        return self._actor

    def reader(self) -> Reader:
        """Who reveals: the acting technician, through the server when --server names one."""
        if self.server is None:
            return self.actor()
        return self.member()

    def member(self) -> RemoteSession:
        """The acting technician through the server (--server): a cached session if one
        is valid, else their passphrase (it opens their key here, nowhere else)."""
        if self._member is None:
            remote, slot = self.remote(), self.slot()
            token = fetch_token(slot)
            bundle = slot.load(token) if token else None
            self._member = (
                remote.resume(self.username, bundle)
                if bundle is not None
                else remote.unlock(self.username, acting_passphrase(self.username))
            )
        return self._member

    def _database_only(self) -> None:
        if self.server is not None:
            raise UsageError(
                "this command does not work through a server yet (`get`, `ssh-add`,"
                " `cred add`, `cred set`, `cred list`, `cred history`, `cred show`,"
                " `cred rename`, `cred move`, `cred edit`, `cred delete`, `system add`,"
                " `system rename`, `system delete`, `customer list`, `log`, `log report`,"
                " `log alerts`, `log verify`, `whoami`, `unlock` and `lock` do):"
                f" run it against the database with --db, without --server/{SERVER_ENV}"
            )

    def close(self) -> None:
        if self._vault is not None:
            self._vault.close()
        if self._remote is not None:
            self._remote.close()

"""`Custodian`: opens a vault, creates one, and authenticates the people who use it."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import inspect
from sqlmodel import select

from ..audit.append import GENESIS, EventDraft, append, key_binding
from ..clock import Clock, as_utc, utcnow
from ..crypto import Context, KdfParams, KeyPair, PassphraseKey, PassphraseLock, RecoveryCode
from ..db.engine import create_db_engine, display_url, resolve_url, schema_revision
from ..db.migrate import head_revision, upgrade
from ..db.models import (
    LogHead,
    OrgKey,
    RecipientKind,
    Role,
    Technician,
    VaultInfo,
)
from ..errors import (
    AlreadyExists,
    AuthenticationFailed,
    IntegrityError,
    UsageError,
    WrongPassphrase,
)
from ..paths import check_name
from ..storage import SecretStore, SqlSecretStore, config
from . import directory, keys
from ._db import Database
from .enrolment import (
    check_passphrase,
    enrol,
    lock_bundle,
    technician_lock_context,
    unpack_private,
)
from .pin import Pin, certified_root
from .session import ActorSession
from .trust import Trust


@dataclass(frozen=True)
class InitResult:
    vault_id: str
    recovery_code: RecoveryCode
    fingerprint: str  # of the root every member pins: compare it out of band


@dataclass(frozen=True)
class SchemaStatus:
    """The schema revision a vault's database is at, and the one this version needs."""

    current: str | None  # None: the database holds no vault
    head: str = field(default_factory=head_revision)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class Custodian:
    """A vault: its database, its secret store and its clock."""

    def __init__(
        self, db: Database, url: str, store: SecretStore | None = None, clock: Clock = utcnow
    ) -> None:
        self.db = db
        self.url = url
        self.store: SecretStore = store or SqlSecretStore()
        self.clock = clock
        self._backend: config.BackendConfig | None = None  # saved by `init` (see `create`)

    @classmethod
    def open(
        cls,
        db: str | os.PathLike[str] | None = None,
        *,
        store: SecretStore | None = None,
        clock: Clock = utcnow,
        create: bool = False,
        check_schema: bool = True,
    ) -> Custodian:
        url = resolve_url(db)
        vault = cls(Database(create_db_engine(url, create_dir=create)), url, store, clock)
        if check_schema and not create:
            vault._check_schema()
            if store is None:  # the store named in the vault's database (storage/config.py)
                with vault.db.transaction() as tx:
                    vault.store = config.configured_store(tx)
        return vault

    @classmethod
    def create(
        cls, db: str | os.PathLike[str] | None, backend: config.BackendConfig | None = None
    ) -> Custodian:
        """A vault to `init` in database `db`, its payloads in the store `backend` names
        (default: SQL). A Vault store is checked first (reachable, token valid, mount
        there); `init` records it in the vault, with the address actually used."""
        backend = backend or config.BackendConfig()
        store = config.checked_store(backend)
        vault = cls.open(db, create=True, store=store)
        vault._backend = config.with_address(backend, store)
        return vault

    @classmethod
    def open_for_migration(cls, db: str | os.PathLike[str] | None) -> Custodian:
        """The vault at `db` for `ActorSession.migrate`, which picks its stores itself: it
        opens even while a migration is unfinished (the SQL store until then)."""
        return cls.open(db, store=SqlSecretStore())

    @staticmethod
    def location(db: str | os.PathLike[str] | None) -> str:
        """Where `db` (a path, a URL, or None for $CUSTODIAN_DB or the default) points,
        for messages: any password masked."""
        return display_url(resolve_url(db))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Custodian:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Custodian({display_url(self.url)!r}, store={self.store.name!r})"

    # --- schema ---------------------------------------------------------------------

    def schema_status(self) -> SchemaStatus:
        return SchemaStatus(schema_revision(self.db.engine))

    def _check_schema(self) -> None:
        status = self.schema_status()
        if status.current is None:
            raise UsageError("this database holds no vault: run `custodian init` first")
        if not status.up_to_date:
            raise UsageError(
                f"the vault's schema ({status.current}) is not this version's ({status.head}):"
                " run `custodian db upgrade`"
            )

    def upgrade_schema(self) -> None:
        upgrade(self.db.engine)

    def migration_target(
        self,
        kind: str,
        *,
        vault_addr: str | None = None,
        vault_mount: str = "secret",
        vault_prefix: str = "custodian",
        vault_auth_mount: str = "userpass",
    ) -> config.BackendConfig:
        """The store `ActorSession.migrate` moves payloads to: `sql`, or `vault` with these
        settings, checked usable; an unfinished migration to Vault resumes with its own."""
        if kind != "vault":
            return config.BackendConfig("sql")
        with self.db.transaction() as tx:
            current = config.load(tx)
        if current.migrating_to == "vault":
            return replace(current, kind="vault", migrating_to=None)
        target = config.BackendConfig(
            "vault", vault_addr, vault_mount, vault_prefix, vault_auth_mount
        )
        config.checked_store(target)
        return target

    # --- creation -------------------------------------------------------------------

    def init(self, admin: str, passphrase: str, *, kdf: KdfParams | None = None) -> InitResult:
        """Create the vault: schema, organization key, recovery code and the first admin."""
        check_name(admin, "technician")
        check_passphrase(passphrase)
        params = kdf or KdfParams.calibrate()
        if not params.within_bounds():
            raise UsageError(
                "key-derivation parameters outside the floor (64 MiB, t=3, p=4) and the"
                " ceiling (1 GiB, t=64, p=16)"
            )
        # Close the inspecting connection first: on SQLite it holds BEGIN IMMEDIATE, and a
        # second transaction opened inside it would wait on that lock until timeout.
        with self.db.engine.connect() as conn:
            has_schema = inspect(conn).has_table("vault_info")
        if has_schema:
            with self.db.transaction() as tx:
                if tx.exec(select(VaultInfo)).first() is not None:
                    raise AlreadyExists("this database already holds a vault")
        self.upgrade_schema()
        now = self.clock()
        recovery = RecoveryCode.generate()
        org = KeyPair.generate()
        vault_id = str(uuid.uuid4())
        with self.db.transaction() as tx:
            if tx.exec(select(VaultInfo)).first() is not None:
                raise AlreadyExists("this database already holds a vault")
            tx.add(
                VaultInfo(
                    vault_id=vault_id,
                    created_at=now,
                    recovery_public_key=recovery.key_pair().public_key.to_bytes(),
                    kdf_memory_kib=params.memory_kib,
                    kdf_iterations=params.iterations,
                    kdf_lanes=params.lanes,
                )
            )
            tx.add(LogHead(id=1, seq=0, head=GENESIS))
            tx.add(OrgKey(version=1, public_key=org.public_key.to_bytes(), created_at=now))
            tech, key, signer = enrol(tx, admin, Role.ADMIN, passphrase, params, now, None)
            assert tech.id is not None
            recovery_public = recovery.key_pair().public_key
            root = [
                directory.vault_change(
                    vault_id,
                    recovery_public.to_bytes(),
                    (params.memory_kib, params.iterations, params.lanes),
                ),
                directory.tech_change(
                    tech.id,
                    admin,
                    Role.ADMIN.value,
                    True,
                    tech.public_key,
                    tech.signing_public_key,
                ),
                directory.org_change(1, org.public_key.to_bytes()),
            ]
            trust = Trust.founding(root, now)
            keys.wrap_org_to(tx, trust, org, 1, tech, now)
            keys.add_wrap(
                tx, trust, org, keys.ORG, 1, RecipientKind.RECOVERY, 0, recovery_public, now
            )
            seq = append(
                tx,
                EventDraft(
                    "init",
                    "ok",
                    admin,
                    tech.id,
                    detail={
                        "vault_id": vault_id,
                        **key_binding(admin, signer.public_bytes()),
                        "dir": root,
                    },
                ),
                now,
                signer,
            )
            head = tx.exec(select(LogHead)).one()
            pin = Pin(vault_id, seq, bytes(head.head))
            lock_bundle(tech, key, signer, pin, passphrase, params)
            tx.add(tech)
            if self._backend is not None:
                config.save(tx, self._backend)
        return InitResult(vault_id, recovery, pin.fingerprint())

    # --- authentication ---------------------------------------------------------------

    def unlock(
        self, username: str, passphrase: str, *, starts_session: bool = False
    ) -> ActorSession:
        """Open `username`'s private keys with their passphrase. Every attempt is counted
        before its key derivation runs (`_count_attempt`), and every one that fails is
        logged; after `FREE_ATTEMPTS` failures in a row, further attempts must wait an
        exponentially growing delay, kept in the database so every process shares it.

        `starts_session`: this unlock begins a session (`custodian unlock`, the TUI's unlock
        screen), and its success is an access event too; a command that authenticates only
        to act once records what it does instead."""
        attempt = self._count_attempt(username)
        if attempt is None:
            # Pay the KDF anyway, so an unknown name answers as slowly as a wrong passphrase.
            PassphraseLock(self.vault_kdf()).lock(b"", passphrase, Context.of("dummy"))
            self._record_failed_unlock(username, None, "unknown or disabled account")
            raise AuthenticationFailed(f"authentication failed for {username[:64]!r}")
        tech_id, role, blob, wait = attempt
        if wait > 0:
            self._record_failed_unlock(username, tech_id, "backoff")
            raise AuthenticationFailed(
                f"too many failed attempts for {username!r}: try again in {wait:.0f} s"
            )
        try:
            context = technician_lock_context(tech_id, username)
            opener = PassphraseKey.derive(blob, passphrase)
            raw = opener.open(blob, context)
        except WrongPassphrase:
            self._record_failed_unlock(username, tech_id, "wrong passphrase")
            raise AuthenticationFailed(f"authentication failed for {username!r}") from None
        except IntegrityError as exc:
            self._record_failed_unlock(username, tech_id, str(exc))
            raise
        key, signer, pin = unpack_private(raw)
        with self.db.transaction() as tx:  # the attempt counted above succeeded
            row = tx.get(Technician, tech_id)
            if row is not None:
                row.failed_unlocks, row.last_failed_at = 0, None
                if pin is None:  # a bundle from before certification: pin the root now
                    pin = certified_root(tx)
                    if pin is not None:
                        params = PassphraseLock.params_of(blob)
                        lock_bundle(row, key, signer, pin, passphrase, params)
                if row.login_key is None and row.locked_private == blob:
                    # locked before the server's verifier existed (served_login.py)
                    row.login_key = opener.login_key(context).public_bytes()
                tx.add(row)
            if starts_session:
                append(tx, EventDraft("unlock", "ok", username, tech_id), self.clock(), signer)
        return ActorSession(self, tech_id, username, role, key, signer, pin)

    def _count_attempt(self, username: str) -> tuple[int, Role, bytes, float] | None:
        """Count one unlock attempt as failed before its KDF runs, in one transaction that
        holds the technician's row (FOR UPDATE; SQLite's BEGIN IMMEDIATE), so N attempts in
        parallel get at most the allowed number of guesses: a success resets the count.
        Returns the account's id, role, locked keys and the backoff still to wait (an
        attempt inside the backoff is not counted), or None for an unknown or disabled
        account."""
        with self.db.transaction() as tx:
            tech = tx.exec(
                select(Technician).where(Technician.username == username).with_for_update()
            ).first()
            if tech is None or tech.id is None or not tech.active or tech.locked_private is None:
                return None
            now = self.clock()
            wait = backoff_remaining(tech.failed_unlocks, tech.last_failed_at, now)
            if wait == 0:
                tech.failed_unlocks += 1
                tech.last_failed_at = now
                tx.add(tech)
            return tech.id, Role(tech.role), tech.locked_private, wait

    def resume(self, username: str, private_bundle: bytes) -> ActorSession:
        """Rebuild a session from a cached private-key bundle (see `ActorSession.export`)."""
        key, signer, pin = unpack_private(private_bundle)
        with self.db.transaction() as tx:
            tech = tx.exec(select(Technician).where(Technician.username == username)).first()
            if tech is None or not tech.active or tech.public_key != key.public_key.to_bytes():
                raise AuthenticationFailed("the cached session is no longer valid: unlock again")
            assert tech.id is not None
            tech_id, role = tech.id, Role(tech.role)
        return ActorSession(self, tech_id, username, role, key, signer, pin)

    def _record_failed_unlock(self, username: str, tech_id: int | None, why: str) -> None:
        """Log a failed unlock (unsigned: nobody holds a key to sign it with). The attempt
        itself was counted before its KDF ran (`_count_attempt`)."""
        with self.db.transaction() as tx:
            append(
                tx,
                EventDraft("unlock", "failed", username[:64], tech_id, detail={"why": why}),
                self.clock(),
            )

    def vault_kdf(self) -> KdfParams:
        """The KDF floor as the database says it (a session checks it against the key
        directory before locking anything with it: `technicians.vault_kdf`)."""
        with self.db.transaction() as tx:
            info = tx.exec(select(VaultInfo)).one()
            return KdfParams(info.kdf_memory_kib, info.kdf_iterations, info.kdf_lanes)

    def vault_id(self) -> str:
        with self.db.transaction() as tx:
            return tx.exec(select(VaultInfo.vault_id)).one()


FREE_ATTEMPTS = 5
MAX_BACKOFF_SECONDS = 900.0


def backoff_remaining(failures: int, last_failed_at: datetime | None, now: datetime) -> float:
    """Seconds to wait before the next attempt: 0 for the first `FREE_ATTEMPTS` failures,
    then 2, 4, 8, ... seconds after the last failure, capped at 15 minutes."""
    if failures < FREE_ATTEMPTS or last_failed_at is None:
        return 0.0
    delay = min(2.0 ** (failures - FREE_ATTEMPTS + 1), MAX_BACKOFF_SECONDS)
    return max(0.0, delay - (now - as_utc(last_failed_at)).total_seconds())

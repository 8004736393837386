"""`Actor`: an unlocked technician as the use-case modules see them.

It holds what every operation needs and nothing a front end may touch: the vault it acts
on, the technician's private keys (in memory only), the transaction that first re-checks
the account, the access-log append signed with the technician's key, the refusal that is
recorded before it is raised, and the customer keys this technician has already opened.

The rules it applies come from `policy.py`; the operations themselves live in one module
per use case (`customers.py`, `grants.py`, `credentials.py`, `reveal.py`, ...), each a set
of functions taking an `Actor`. `ActorSession` (`session.py`) is the public facade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn

from sqlmodel import Session, select

from ..audit.append import EventDraft, append
from ..crypto import KeyPair, SigningKey
from ..db.models import Customer, CustomerStatus, Grant, RecipientKind, Role, Technician
from ..db.prepared import Tx
from ..errors import AccessDenied, AuthenticationFailed, CustodianError, IntegrityError, NotFound
from ..paths import check_slug
from . import _readpath, keys, policy, revocation, rows
from .pin import Pin
from .trust import Trust

if TYPE_CHECKING:
    from .vault import Custodian

KEY_CACHE_SIZE = 4096  # unwrapped customer keys one session keeps


class Actor:
    """An authenticated technician acting on one vault. Never prints its keys."""

    def __init__(
        self,
        vault: Custodian,
        technician_id: int,
        username: str,
        role: Role,
        key: KeyPair,
        signer: SigningKey,
        pin: Pin | None,
    ) -> None:
        self.vault = vault
        self.technician_id = technician_id
        self.username = username
        self.role = role
        self.key = key
        self.signer = signer
        # Customer keys this actor has unwrapped, by (customer id, key version). Key
        # versions never change, and every use still checks the grant and the wrap.
        self._customer_keys: dict[tuple[int, int], KeyPair] = {}
        # What this member's client trusts: the root in their bundle, the directory
        # replayed from the log (trust.py). Every transaction catches up first.
        self.trust = Trust(
            pin, key.private_bytes() + signer.private_bytes(), vault.url, technician_id
        )

    def __repr__(self) -> str:
        return f"Actor(username={self.username!r}, role={self.role.value!r})"

    @property
    def now(self) -> datetime:
        return self.vault.clock()

    @property
    def is_reader(self) -> bool:
        """Admins and auditors see every customer's metadata and the whole log."""
        return self.role in policy.READERS

    @property
    def listing_scope(self) -> int | None:
        """Whose grants limit a listing: None for readers, who see every customer."""
        return None if self.is_reader else self.technician_id

    # --- transactions and the access log ---------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, opened only while the account is active and holds the keys
        this session signs with, after catching up with the log (`Trust.sync`): the role
        this actor acts with is the key directory's.

        A transaction that joins an enclosing one (`atomic`) neither catches up nor
        forgets the changes staged so far: catching up then would read this
        transaction's own events before they are committed."""
        if self.vault.db.joined():
            with self.vault.db.transaction() as tx:
                yield tx
            return
        try:
            with self.vault.db.transaction() as tx:
                active, signing_key = _readpath.account(tx, self.technician_id)
                if not active:
                    raise self.disabled()
                if signing_key != self.signer.public_bytes():
                    raise self.replaced()
                self.sync(tx)
                yield tx
        except IntegrityError as exc:
            self.trust.discard()
            self.refuse(exc, "verify")  # recorded: the database said something untrue
        finally:
            self.trust.discard()

    @contextmanager
    def atomic(self) -> Iterator[Session]:
        """A bulk unit of work (an import) that every `transaction()` of this thread
        joins: it catches up once, first, and commits whole or not at all."""
        with self.vault.db.atomic() as tx:
            try:
                self.sync(tx)
                yield tx
            finally:
                self.trust.discard()

    def sync(self, tx: Session) -> None:
        """Catch up with the log; this actor's role is then the directory's."""
        self.trust.sync(tx)
        if self.trust.pin is None:
            return  # not certified yet: every check refuses; reads go on as before
        role = self.trust.role_of(self.technician_id)
        if role is None:
            raise self.disabled()
        self.role = Role(role)

    def verify_account(self) -> None:
        """At unlock: this member's keys and role must be the key directory's; a row that
        says otherwise is refused (and the refusal recorded). A log that fails to catch
        up does not stop the unlock: every transaction refuses to act on it, and `log
        verify` (which needs no catching up) reports it."""
        try:
            with self.vault.db.transaction() as tx:
                self.trust.sync(tx)
        except IntegrityError:
            self.trust.discard()
            return
        try:
            with self.vault.db.transaction() as tx:
                role = self.trust.check_technician_key(
                    self.technician_id, self.key.public_key.to_bytes()
                )
                if Role(role) != self.role:
                    raise IntegrityError(
                        f"the account {self.username!r} has the role {self.role.value!r} in"
                        f" the database but {role!r} in the key directory"
                    )
        except IntegrityError as exc:
            self.refuse(exc, "unlock")

    def disabled(self) -> AccessDenied:
        return policy.disabled(self.username)

    def replaced(self) -> AuthenticationFailed:
        return policy.replaced(self.username)

    def record(self, tx: Tx, action: str, outcome: str = "ok", **fields: object) -> None:
        """Append an access event, signed with this technician's key, to `tx`. The key
        directory changes this transaction staged (`Trust.stage`) are recorded with it."""
        changes = self.trust.take_staged()
        if changes:
            detail = dict(fields.get("detail") or {})  # type: ignore[call-overload]
            detail["dir"] = changes
            fields["detail"] = detail
        seq = append(
            tx,
            EventDraft(action, outcome, self.username, self.technician_id, **fields),  # type: ignore[arg-type]
            self.now,
            self.signer,
        )
        self.trust.appended(seq)

    def refuse(self, exc: CustodianError, action: str, **fields: object) -> NoReturn:
        """Record a refused or failed attempt in a transaction of its own, then raise `exc`.
        The event's outcome follows from the error (`policy.refusal_outcome`); a session
        whose keys were replaced records nothing (it may not sign any more). The detail
        holds the message the user was shown (messages never carry secrets, errors.py)."""
        self.trust.discard()
        try:
            with self.vault.db.transaction() as tx:
                if _readpath.account(tx, self.technician_id)[1] == self.signer.public_bytes():
                    self.record(
                        tx,
                        action,
                        policy.refusal_outcome(exc),
                        detail={"error": str(exc)[:500]},
                        **fields,
                    )
        finally:
            raise exc

    # --- authorization ----------------------------------------------------------------

    def require_role(self, action: str, *roles: Role) -> None:
        """Refuse (and record) unless this actor holds one of `roles`. An admin's action
        first ends every lapsed grant (`revocation.end_lapsed_grants`)."""
        refusal = policy.role_refusal(action, self.role, *roles)
        if refusal is not None:
            self.refuse(refusal, action)
        if self.role == Role.ADMIN:
            revocation.end_lapsed_grants(self)

    def live_grant(self, tx: Session, customer_id: int) -> Grant | None:
        """This actor's grant to read the customer, if it has not lapsed (by the clock); a
        write-only grant is none."""
        grant = self.live_writer_grant(tx, customer_id)
        return None if grant is None or grant.write_only else grant

    def live_writer_grant(self, tx: Session, customer_id: int) -> Grant | None:
        """This actor's grant for the customer, write-only included, if it has not lapsed."""
        grant = rows.grant(tx, self.technician_id, customer_id)
        if grant is None or not policy.grant_live(grant.expires_at, self.now):
            return None
        return grant

    def customer(self, tx: Session, slug: str) -> Customer:
        """The customer named `slug`, as this actor may see it (`policy.may_see`)."""
        check_slug(slug)
        customer = tx.exec(select(Customer).where(Customer.slug == slug)).first()
        if customer is not None:
            if self.is_reader:  # skip the grant query: readers see every customer
                return customer
            granted = self.live_writer_grant(tx, customer.id or 0) is not None
            if policy.may_see(self.role, customer.status, granted):
                return customer
        raise policy.unseen_customer(self.role, slug)

    def customer_or_refuse(self, slug: str, action: str, target: str) -> Customer:
        """`customer` in a transaction of its own; a refusal is recorded."""
        try:
            with self.vault.db.transaction() as tx:
                return self.customer(tx, slug)
        except (AccessDenied, NotFound) as exc:
            self.refuse(exc, action, target=target)

    def writable_customer(self, tx: Session, slug: str) -> Customer:
        """A customer this actor may change: admins any active one, technicians granted ones.

        Every write reaches its customer through here, so the customer's lapsed grants end
        first, in the same transaction (wraps deleted, key rotated): nothing written is
        sealed to a key that a lapsed grantee still holds a wrap of."""
        if self.role == Role.AUDITOR:
            raise AccessDenied("auditors cannot change customer data")
        customer = self.customer(tx, slug)
        if customer.status != CustomerStatus.ACTIVE:
            raise AccessDenied(f"customer {slug!r} is offboarded and read-only")
        if self.role != Role.ADMIN and self.live_grant(tx, customer.id or 0) is None:
            # A write-only writer may not rotate the customer's key (it would know it).
            if revocation.lapsed_grants_of(self, tx, customer):
                raise AccessDenied(
                    f"customer {slug!r} has grants that lapsed: an admin ends them first"
                    " (`custodian maintenance`), then write-only writes go on"
                )
        else:
            revocation.end_lapsed_grants_of(self, tx, customer)
        return customer

    def technician(self, tx: Session, username: str) -> Technician:
        tech = tx.exec(select(Technician).where(Technician.username == username)).first()
        if tech is None:
            raise NotFound(f"no technician {username[:64]!r}")
        return tech

    # --- keys -------------------------------------------------------------------------

    def org_key(self, tx: Session) -> tuple[int, KeyPair]:
        """The organization key's current version, opened with this admin's wrap; it must
        be the key directory's newest."""
        version, org = keys.open_org_key(tx, self.technician_id, self.key)
        self.trust.check_org_key(version, org.public_key.to_bytes())
        return version, org

    def stage(self, change: dict[str, object]) -> None:
        """A key-directory change this transaction makes (recorded with its next event)."""
        self.trust.stage(change, self.technician_id, self.now)

    def customer_key(
        self, customer_id: int, slug: str, version: int, wrapped: bytes | None
    ) -> KeyPair:
        """Customer key `version`, opened from this actor's wrap. The wrap must still exist
        (a revoke or an offboarding deletes it); once opened, the key is kept in memory."""
        if wrapped is None:
            raise AccessDenied(f"no key for customer {slug!r}")
        slot = (customer_id, version)
        ckey = self._customer_keys.get(slot)
        if ckey is None:
            ckey = keys.unwrap(
                wrapped,
                customer_id,
                version,
                RecipientKind.TECHNICIAN,
                self.technician_id,
                self.key,
            )
            self.trust.check_customer_key(customer_id, version, ckey.public_key.to_bytes())
            if len(self._customer_keys) >= KEY_CACHE_SIZE:
                self._customer_keys.pop(next(iter(self._customer_keys)))
            self._customer_keys[slot] = ckey
        return ckey

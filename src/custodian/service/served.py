"""What `custodian serve` does with the vault: the server's side of each request.

The server holds the database (and the store) but no private key and no plaintext: it
authenticates members by their Ed25519 keys, enforces grants, roles and reasons with
the same rules as a client (`reveal.check_row`), and appends every access event, signed
by the member's client, before the sealed payload and the wrap that opens it leave.

A reveal takes two requests: `prepare_reveal` checks it and returns the target and the
log since the client's head, which the client verifies before it signs the event;
`commit_reveal` checks again, appends the signed event if the head has not moved, and
returns the ciphertext in the same transaction (docs/server.md, "A reveal").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from ..audit.append import EventDraft, SigningHead, append, append_presigned, signing_head
from ..clock import as_utc
from ..crypto import verify_signature
from ..db.models import Customer, Role, Technician
from ..db.prepared import Prepared, Tx
from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    CustodianError,
    IntegrityError,
    NotFound,
    UsageError,
)
from ..storage import SecretRef
from ..totp import SEED_ALIAS
from . import _readpath, policy, trust_log
from .reveal import RevealTarget, check_access, check_row, reveal_event
from .secret_policy import seed_refusal
from .served_request import Probe as Probe  # re-exported: every served module uses it
from .served_request import RevealRequest as RevealRequest

if TYPE_CHECKING:
    from .vault import Custodian

MAX_EVENTS = 2000  # events one answer carries; the client asks again from the last
CLOCK_SKEW = timedelta(seconds=60)  # how far a signed event's time may be from the server's

_t = Technician.__table__  # type: ignore[attr-defined]
_c = Customer.__table__  # type: ignore[attr-defined]
_MEMBER = select(
    _t.c.id,
    _t.c.username,
    _t.c.role,
    _t.c.active,
    _t.c.signing_public_key,
    _t.c.locked_private,
    _t.c.login_key,
)
_MEMBER_BY_ID = Prepared(_MEMBER.where(_t.c.id == bindparam("id")))
_MEMBER_BY_NAME = Prepared(_MEMBER.where(_t.c.username == bindparam("username")))


@dataclass(frozen=True)
class Account:
    """A technician as the server authenticates them (from its own database)."""

    id: int
    username: str
    role: Role
    signing_key: bytes
    locked: bytes | None
    login_key: bytes | None = None  # the passphrase's verifier (served_login.py)


@dataclass(frozen=True)
class Login:
    """Who a session token names: a member, and a tag of the key it was issued for."""

    member: int
    key_tag: bytes


def key_tag(signing_key: bytes) -> bytes:
    return hashlib.sha256(signing_key).digest()[:8]


@dataclass(frozen=True)
class PreparedReveal:
    """What a client verifies and signs; refused, no target but the refusal to sign."""

    events: list[Any]  # the log from the client's head up to `head`
    head: SigningHead
    at: datetime
    target: RevealTarget | None
    refusal: Refusal | None = None
    metadata: bool = False  # a non-secret field: the event is `reveal-metadata`


@dataclass(frozen=True)
class Refusal:
    """A refused request, as its access event records it (what `Actor.refuse` writes)."""

    error: AccessDenied | NotFound
    fields: dict[str, object]  # the ids found before the refusal (customer, credential)

    def event(self, username: str, member: int, probe: Probe) -> EventDraft:
        """The refusal's event: what the member asked (`probe`), and the error."""
        action, target, reason = probe
        return EventDraft(
            action,
            policy.refusal_outcome(self.error),
            username,
            member,
            customer_id=_id(self.fields.get("customer_id")),
            target=target,
            credential_id=_id(self.fields.get("credential_id")),
            reason=reason,
            detail={"error": str(self.error)[:500]},
        )


@dataclass(frozen=True)
class SealedReveal:
    target: RevealTarget
    sealed: bytes | None  # the payload as stored: sealed to the customer key version
    value: str | None = None  # or a non-secret field (`metadata`), as the database has it


class Served:
    """One vault as the server sees it."""

    def __init__(self, vault: Custodian) -> None:
        if vault.store.plaintext:
            raise UsageError(
                "the server never holds plaintext, and this vault's store keeps plain fields"
                " (a Vault KV backend): serve a vault whose payloads are sealed"
            )
        self.vault = vault

    # --- members ----------------------------------------------------------------------

    def member(self, tx: Tx, *, username: str | None = None, id: int | None = None) -> Account:
        """An active member by name or id; `AuthenticationFailed` for anyone else."""
        if username is not None:
            row = _MEMBER_BY_NAME.one(tx, {"username": username})
        else:
            row = _MEMBER_BY_ID.one(tx, {"id": id})
        if row is None or not row[3]:
            raise AuthenticationFailed("authentication failed")
        member, name, role, _, signing_key, locked, login_key = row
        return Account(
            int(member),
            name,
            Role(role),
            bytes(signing_key),
            bytes(locked) if locked is not None else None,
            bytes(login_key) if login_key is not None else None,
        )

    def find_member(self, username: str) -> Account:
        with self.vault.db.core_transaction() as tx:
            return self.member(tx, username=username)

    def logged_in(self, tx: Tx, login: Login) -> Account:
        """The member a token names, active and still holding the key of the token."""
        account = self.member(tx, id=login.member)
        if not hmac.compare_digest(key_tag(account.signing_key), login.key_tag):
            raise AuthenticationFailed("your keys were replaced: log in again")
        return account

    def member_id(self, username: str) -> int | None:
        """The id of an account by that name, active or not (for a failed login's event)."""
        with self.vault.db.core_transaction() as tx:
            found = tx.execute(select(_t.c.id).where(_t.c.username == username)).first()
            return int(found[0]) if found is not None else None

    @staticmethod
    def verify_login(account: Account, message: bytes, signature: bytes) -> bool:
        return verify_signature(account.signing_key, signature, message)

    def check_ready(self) -> None:
        """The database answers and the log has its head (`/ready`)."""
        with self.vault.db.core_transaction() as tx:
            signing_head(tx)

    def record_failed_login(self, username: str, member: int | None, why: str) -> None:
        """A failed authentication, in the log like a failed unlock (unsigned)."""
        with self.vault.db.transaction() as tx:
            append(
                tx,
                EventDraft("unlock", "failed", username[:64], member, detail={"why": why}),
                self.vault.clock(),
            )

    # --- the log ------------------------------------------------------------------------

    def events(self, login: Login, start: int) -> tuple[list[Any], tuple[int, bytes]]:
        """The events from `start` (at most `MAX_EVENTS`) and the log head."""
        with self.vault.db.core_transaction() as tx:
            self.logged_in(tx, login)
            return self.events_in(tx, start, None)

    def events_in(
        self, tx: Tx, start: int, upto: int | None
    ) -> tuple[list[Any], tuple[int, bytes]]:
        """The events from `start` to `upto` (None: the head), at most `MAX_EVENTS`."""
        head = signing_head(tx)
        last = min(head.seq if upto is None else upto, start + MAX_EVENTS - 1)
        if last < start:
            raise IntegrityError(f"the access log has no event {start}")
        rows = trust_log.fetch(trust_log.EVENTS_FROM, tx, {"seq": start, "head": last})
        decode = trust_log.decoder(tx)
        return [(r[0], as_utc(decode(r[1])), *r[2:]) for r in rows], (head.seq, head.hash)

    # --- the reveal -----------------------------------------------------------------------

    def prepare_reveal(self, login: Login, request: RevealRequest, start: int) -> PreparedReveal:
        """The reveal's checks; refused, the refusal for the client to sign (a probe is an
        access event, as in database mode)."""
        with self.vault.db.core_transaction() as tx:
            member = self.logged_in(tx, login)
            target: RevealTarget | None = None
            refusal: Refusal | None = None
            found: dict[str, object] = {}
            metadata = False
            try:
                target, draft, _ = self._check(tx, member, request, found)
                metadata = draft.action == "reveal-metadata"
            except (AccessDenied, NotFound) as exc:
                refusal = Refusal(exc, found)
            head = signing_head(tx)  # after the lookup: the events cover what it saw
            if head.seq - start >= MAX_EVENTS:
                raise UsageError("the client is too far behind the log: sync it first")
            events, _ = self.events_in(tx, start, head.seq)
            return PreparedReveal(events, head, self.vault.clock(), target, refusal, metadata)

    def record_refusal(
        self,
        login: Login,
        request: RevealRequest,
        at: datetime,
        head: SigningHead,
        signature: bytes,
    ) -> CustodianError:
        """Append the refusal of a reveal the client signed (`record_refused`)."""
        return self.record_refused(
            login,
            lambda tx, member, found: self._check(tx, member, request, found),
            request.probe(),
            "the reveal",
            at,
            head,
            signature,
        )

    def record_refused(
        self,
        login: Login,
        check: Callable[[Session, Account, dict[str, object]], object],
        probe: Probe,
        what: str,
        at: datetime,
        head: SigningHead,
        signature: bytes,
    ) -> CustodianError:
        """Append the refusal the client signed, if `check` still refuses the request:
        the server builds the event itself from its own check (`check` fills in the ids
        the event names) and what the client asked (`probe`); returns the refusal."""
        self.check_time(at)
        with self.vault.db.transaction() as tx:
            member = self.logged_in(tx, login)
            found: dict[str, object] = {}
            try:
                check(tx, member, found)
            except (AccessDenied, NotFound) as exc:
                draft = Refusal(exc, found).event(member.username, member.id, probe)
                append_presigned(tx, draft, at, head, member.signing_key, signature)
                return exc
        raise UsageError(f"{what} is no longer refused: ask again")

    def commit_reveal(
        self,
        login: Login,
        request: RevealRequest,
        at: datetime,
        head: SigningHead,
        signature: bytes,
    ) -> SealedReveal:
        """Append the signed event, then read the ciphertext, in one transaction: no
        ciphertext leaves without its event."""
        self.check_time(at)
        with self.vault.db.core_transaction() as tx:
            member = self.logged_in(tx, login)
            target, draft, value = self._check(tx, member, request, {})
            append_presigned(tx, draft, at, head, member.signing_key, signature)
            if value is not None:
                return SealedReveal(target, None, value)
            ref = SecretRef(
                target.customer_id,
                target.slug,
                target.credential_id,
                target.version,
                target.key_version,
                target.kv_version,
            )
            sealed = self.vault.store.read(tx, ref)()
        return SealedReveal(target, sealed)

    def check_time(self, at: datetime) -> None:
        if abs(at - self.vault.clock()) > CLOCK_SKEW:
            raise UsageError("the event's time is too far from the server's clock")

    def _check(
        self, tx: Tx, member: Account, request: RevealRequest, found: dict[str, object]
    ) -> tuple[RevealTarget, EventDraft, str | None]:
        """The reveal's rules (`check_row`); `found` gets the ids its event names. A
        non-secret field the version does not hold as a secret one comes back as the
        third value (`credential_admin.read_field`'s rule)."""
        cp, reason, target_path = request.checked()
        row = _readpath.reveal_lookup(
            tx, member.id, cp.customer, cp.system, cp.name, request.version
        )
        if request.metadata:
            now = self.vault.clock()
            checked = check_access(
                row, member.username, member.signing_key, member.role, now, cp, reason, found
            )
            names = checked.field_names.split(",") if checked.field_names else []
            if request.field not in names:
                assert checked.customer_id is not None and checked.credential_id is not None
                value = _readpath.metadata_field(tx, checked.credential_id, request.field)
                if not value:
                    raise NotFound(f"{str(cp)!r} has no {request.field}")
                target = RevealTarget(
                    checked.customer_id,
                    cp.customer,
                    checked.credential_id,
                    checked.version or 0,
                    checked.key_version or 0,
                    None,
                    None,
                )
                draft = reveal_event(
                    member.username, member.id, target, target_path, reason, request.field
                )
                return target, draft, value
        target = check_row(
            row,
            member.username,
            member.signing_key,
            member.role,
            self.vault.clock(),
            cp,
            field=request.field,
            reason=reason,
            version=request.version,
            sync=False,
            event=found,
            check_logged=None,  # the client checks the version against its log
        )
        if target.wrapped is None:
            raise AccessDenied(f"no key for customer {cp.customer!r}")
        if request.field == SEED_ALIAS:
            policy = tx.execute(
                select(_c.c.otp_seed_policy).where(_c.c.id == target.customer_id)
            ).scalar_one()
            refusal = seed_refusal(member.role, policy, cp.customer)
            if refusal is not None:
                raise refusal
        draft = reveal_event(
            member.username, member.id, target, target_path, reason, action=request.action
        )
        return target, draft, None


def _id(value: object) -> int | None:
    return value if isinstance(value, int) else None

"""A new version of a credential, written through the server (`cred set --server`).

As with a reveal, two requests: `prepare_write` checks the write with the rules of
database mode (`Actor.writable_customer`, `credentials.set_secret`) and returns what the
client needs to seal and sign: the credential's ids and version, the customer key to
seal to, the current version (sealed, with the member's wrap, for a reader who keeps
its other fields), and the log since the client's head. The client verifies all of it
against its key directory (`member.Member.seal_write`), seals the payload (the server
never sees it) and signs the event, which carries the key-directory change of the new
version. `commit_write` checks everything again, appends that event, and stores the
sealed version, in one transaction.

What database mode does and the server cannot: end a customer's lapsed grants (that
rotates the customer key, which needs a member's keys). A write to such a customer is
refused until an admin runs `custodian maintenance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session, select

from ..audit.append import EventDraft, SigningHead, append_presigned, signing_head
from ..db.models import (
    Credential,
    Customer,
    CustomerKey,
    CustomerStatus,
    Grant,
    RecipientKind,
    Role,
    SecretVersion,
)
from ..errors import AccessDenied, AlreadyExists, Conflict, CustodianError, NotFound, UsageError
from ..paths import CredentialPath
from ..secret import check_field_name
from ..storage import SecretRef
from . import inputs, keys, policy, revocation, rows
from .directory import cred_change
from .secret_policy import field_limit_of
from .served import MAX_EVENTS, Account, Login, Probe, Refusal

if TYPE_CHECKING:
    from .served import Served

SEAL_OVERHEAD = 64 * 1024  # room for the sealing and the encoding around the fields
MAX_FIELDS = 64


@dataclass(frozen=True)
class NewCredential:
    """A credential to add (`cred add`): its metadata, and at commit the id the server
    reserved for it at prepare (the signed event names it)."""

    username: str | None = None
    url: str | None = None
    notes: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class WriteRequest:
    path: str
    expected_version: int | None = None
    new: NewCredential | None = None  # None: a new version of an existing credential

    @property
    def action(self) -> str:
        return "cred-add" if self.new is not None else "cred-set"

    def probe(self) -> Probe:
        """What the event of a refused write names (`probes.recorded` in database mode)."""
        return self.action, str(CredentialPath.parse(self.path)), None


@dataclass(frozen=True)
class WriteTarget:
    """The credential a write goes to, as the server found it."""

    customer_id: int
    slug: str
    credential_id: int
    current_version: int  # 0: none yet
    current_fields: tuple[str, ...]
    key_version: int  # the customer key a new version is sealed to ...
    public_key: bytes  # ... and its public half
    current: tuple[int, bytes, bytes] | None  # (key version, sealed, wrap): readers only
    field_limit: int  # the vault's field size limit (`secret_policy.field_limit_of`)


@dataclass(frozen=True)
class PreparedWrite:
    """What a client verifies, seals and signs; refused, the refusal it signs instead."""

    events: list[Any]
    head: SigningHead
    at: datetime
    target: WriteTarget | None
    refusal: Refusal | None = None


def write_event(
    request: WriteRequest,
    username: str,
    member: int,
    target: WriteTarget,
    version: int,
    fields: list[str],
) -> EventDraft:
    """The event of a version written through the server, as the server appends it and
    the member's client signs it (what `credentials.write_version` records)."""
    return EventDraft(
        request.action,
        "ok",
        username,
        member,
        customer_id=target.customer_id,
        target=str(CredentialPath.parse(request.path)),
        credential_id=target.credential_id,
        detail={
            "version": version,
            "fields": sorted(fields),
            "dir": [cred_change(target.customer_id, target.credential_id, version)],
        },
    )


def prepare_write(served: Served, login: Login, request: WriteRequest, start: int) -> PreparedWrite:
    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        target: WriteTarget | None = None
        refusal: Refusal | None = None
        try:
            target, _ = _check(served, tx, member, request)
        except (AccessDenied, NotFound) as exc:
            refusal = Refusal(exc, {})  # the event names the path only, as in database mode
        head = signing_head(tx)
        if head.seq - start >= MAX_EVENTS:
            raise UsageError("the client is too far behind the log: sync it first")
        events, _ = served.events_in(tx, start, head.seq)
        return PreparedWrite(events, head, served.vault.clock(), target, refusal)


def record_write_refusal(
    served: Served,
    login: Login,
    request: WriteRequest,
    at: datetime,
    head: SigningHead,
    signature: bytes,
) -> CustodianError:
    """Append the refusal of a write the client signed (`Served.record_refused`)."""
    return served.record_refused(
        login,
        lambda tx, member, _f: _check(served, tx, member, request),
        request.probe(),
        "the write",
        at,
        head,
        signature,
    )


def commit_write(
    served: Served,
    login: Login,
    request: WriteRequest,
    *,
    at: datetime,
    head: SigningHead,
    signature: bytes,
    version: int,
    fields: list[str],
    sealed: bytes,
) -> int:
    """Append the signed event and store the sealed version, in one transaction."""
    served.check_time(at)
    if not fields or len(fields) > MAX_FIELDS or len(set(fields)) != len(fields):
        raise UsageError("a version has between 1 and 64 distinct fields")
    for name in fields:
        check_field_name(name)

    with served.vault.db.transaction() as tx:
        member = served.logged_in(tx, login)
        target, cred = _check(served, tx, member, request)
        if len(sealed) > len(fields) * target.field_limit + SEAL_OVERHEAD:
            raise UsageError(
                f"the sealed version is larger than {len(fields)} field(s) of the vault's"
                f" field limit ({target.field_limit} bytes, `custodian field-limit`)"
            )
        if version <= target.current_version:
            raise Conflict(f"version {version} of {request.path!r} is not a new one")
        draft = write_event(request, member.username, member.id, target, version, fields)
        append_presigned(tx, draft, at, head, member.signing_key, signature)
        cred.current_version, cred.updated_at = version, at
        tx.add(cred)
        tx.add(
            SecretVersion(
                credential_id=target.credential_id,
                version=version,
                key_version=target.key_version,
                field_names=",".join(sorted(fields)),
                created_by=member.id,
                created_at=at,
            )
        )
        tx.flush()
        ref = SecretRef(
            target.customer_id, target.slug, target.credential_id, version, target.key_version
        )
        served.vault.store.put(tx, ref, sealed)
        revocation.clear_rotation(tx, cred)
        return version


def _check(
    served: Served, tx: Session, member: Account, request: WriteRequest
) -> tuple[WriteTarget, Credential]:
    """`Actor.writable_customer` and `set_secret`'s checks, in their order and words."""
    cp = CredentialPath.parse(request.path)
    now = served.vault.clock()
    customer, grant = writable_customer(tx, member, cp.customer, now)
    writer = grant is not None
    rows.lock(tx, customer, share=True)  # no rotation while the client seals to its key
    if request.new is not None:
        cred = _new_credential(tx, customer, cp, request.new, now)
    else:
        _, cred = rows.credential(tx, customer, cp)
        rows.lock(tx, cred)
        rows.check_active(cred, str(cp))
    if request.expected_version is not None and cred.current_version != request.expected_version:
        raise Conflict(
            f"{str(cp)!r} is at version {cred.current_version}, not"
            f" {request.expected_version}: it changed since you read it; read it again"
        )
    key = tx.get(CustomerKey, (customer.id, customer.current_key_version))
    if key is None:
        raise NotFound(f"customer key version {customer.current_key_version} is missing")
    current = rows.version(tx, cred, None) if cred.current_version else None
    reader = writer and grant is not None and not grant.write_only
    assert cred.id is not None and customer.id is not None
    return (
        WriteTarget(
            customer.id,
            customer.slug,
            cred.id,
            cred.current_version,
            tuple(current.field_names.split(",")) if current is not None else (),
            customer.current_key_version,
            bytes(key.public_key),
            _current(served, tx, member, customer, cred, current) if reader else None,
            field_limit_of(tx),
        ),
        cred,
    )


def _new_credential(
    tx: Session, customer: Customer, cp: CredentialPath, new: NewCredential, now: datetime
) -> Credential:
    """The credential `cred add` creates (not yet in the transaction), with an id reserved
    at prepare or, at commit, the one the client signed, which must still be free."""
    system = rows.find_system(tx, customer, cp.system)
    if system is None or system.id is None or customer.id is None:
        raise NotFound(f"no system {str(cp.system_path)!r}")
    if rows.find_credential(tx, system, cp.name) is not None:
        raise AlreadyExists(f"credential {str(cp)!r} already exists")
    if new.id is not None and (new.id < 1 or tx.get(Credential, new.id) is not None):
        raise Conflict("the credential's id was taken meanwhile: prepare again")
    return Credential(
        id=new.id if new.id is not None else _reserve_id(tx),
        customer_id=customer.id,
        system_id=system.id,
        name=cp.name,
        username=inputs.check_text(new.username, "username", 255) if new.username else None,
        url=inputs.check_text(new.url, "URL", 2048) if new.url else None,
        notes=new.notes,
        created_at=now,
        updated_at=now,
    )


def _reserve_id(tx: Session) -> int:
    """An id for a credential to add: PostgreSQL's sequence hands out each once; SQLite,
    whose writers are serialized, takes the next after the highest."""
    if tx.get_bind().dialect.name == "postgresql":
        seq = text("SELECT nextval(pg_get_serial_sequence('credential', 'id'))")
        return int(tx.execute(seq).scalar_one())
    return int(tx.execute(text("SELECT coalesce(max(id), 0) + 1 FROM credential")).scalar_one())


def writable_customer(
    tx: Session, member: Account, slug: str, now: datetime
) -> tuple[Customer, Grant | None]:
    """`Actor.writable_customer` on the server: the customer, and the member's live grant
    (write-only included; None for an admin without one). A customer with lapsed grants
    is refused: ending them rotates its key, which needs a member's keys."""
    if member.role == Role.AUDITOR:
        raise AccessDenied("auditors cannot change customer data")
    customer = tx.exec(select(Customer).where(Customer.slug == slug)).first()
    grant = rows.grant(tx, member.id, customer.id or 0) if customer is not None else None
    if grant is not None and not policy.grant_live(grant.expires_at, now):
        grant = None
    if (
        customer is None
        or customer.id is None
        or not policy.may_see(member.role, customer.status, grant is not None)
    ):
        raise policy.unseen_customer(member.role, slug)
    if customer.status != CustomerStatus.ACTIVE:
        raise AccessDenied(f"customer {slug!r} is offboarded and read-only")
    if member.role != Role.ADMIN and grant is None:
        raise AccessDenied(f"no access to customer {slug!r}")
    if _lapsed(tx, customer, now):
        raise AccessDenied(
            f"customer {slug!r} has grants that lapsed: an admin ends them first"
            " (`custodian maintenance`), then writes through the server go on"
        )
    return customer, grant


def _lapsed(tx: Session, customer: Customer, now: datetime) -> bool:
    grants = tx.exec(select(Grant).where(Grant.customer_id == customer.id)).all()
    return any(not policy.grant_live(g.expires_at, now) for g in grants)


def _current(
    served: Served,
    tx: Session,
    member: Account,
    customer: Customer,
    cred: Credential,
    current: SecretVersion | None,
) -> tuple[int, bytes, bytes] | None:
    """The current version, sealed, and the member's wrap of its key (to keep its other
    fields: the client opens it, the server cannot)."""
    if current is None or customer.id is None or cred.id is None:
        return None
    wrap = keys.wrapped_blob(
        tx, customer.id, current.key_version, RecipientKind.TECHNICIAN, member.id
    )
    if wrap is None:
        return None
    ref = SecretRef(
        customer.id,
        customer.slug,
        cred.id,
        current.version,
        current.key_version,
        current.kv_version,
    )
    return current.key_version, served.vault.store.read(tx, ref)(), wrap

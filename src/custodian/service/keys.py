"""The key hierarchy's moves: wrap a private key to a recipient, and open one back.

    passphrase ─Argon2id→ technician key ─┬─ opens customer keys it is granted
    recovery code ─HKDF→ recovery key ────┤
    admin technician keys ────────────────┴─ open the organization key ─ opens every customer key

Each wrap is HPKE-sealed with a `Context` naming the key, its version and the recipient.
Every recipient's public key is checked against the key directory first (`check_recipient`):
a key the log does not give that recipient, or a recipient without the right to the key,
is refused whatever the tables say.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from ..crypto import Context, KeyPair, PublicKey, open_sealed, seal
from ..db.models import CustomerKey, KeyWrap, OrgKey, RecipientKind, Role, Technician
from ..errors import AccessDenied, IntegrityError
from . import directory
from .trust import Trust

ORG = None  # customer_id of the organization key's wraps


def wrap_context(customer_id: int | None, version: int, kind: str, recipient: int) -> Context:
    purpose = "org-key" if customer_id is None else "customer-key"
    return Context.of(
        purpose,
        customer=customer_id if customer_id is not None else 0,
        version=version,
        recipient_kind=kind,
        recipient=recipient,
    )


def check_recipient(
    trust: Trust,
    customer_id: int | None,
    kind: RecipientKind,
    recipient: int,
    to: PublicKey,
    at: datetime,
) -> None:
    """The one rule for wrapping: the recipient's key is the directory's, and the
    recipient may hold the key (an admin for the organization key, a live grantee for a
    customer key; the organization key's newest version; the recovery key)."""
    public = to.to_bytes()
    if kind == RecipientKind.TECHNICIAN:
        role = trust.check_technician_key(recipient, public)
        allowed = (
            role == Role.ADMIN
            if customer_id is None
            else trust.live_grant(recipient, customer_id, at)
        )
        if not allowed:
            raise IntegrityError(
                f"technician #{recipient} may not hold this key according to the key"
                " directory: refusing to wrap it to them"
            )
    elif kind == RecipientKind.ORG:
        trust.check_org_key(recipient, public)
    else:
        trust.check_recovery_key(public)


def add_wrap(
    tx: Session,
    trust: Trust,
    key: KeyPair,
    customer_id: int | None,
    version: int,
    kind: RecipientKind,
    recipient: int,
    to: PublicKey,
    at: datetime,
) -> None:
    """Wrap `key` to one recipient, checked against the directory (`check_recipient`)
    as of `at`."""
    check_recipient(trust, customer_id, kind, recipient, to, at)
    ctx = wrap_context(customer_id, version, kind, recipient)
    tx.add(
        KeyWrap(
            customer_id=customer_id,
            key_version=version,
            recipient_kind=kind,
            recipient_id=recipient,
            wrapped=seal(key.private_bytes(), to, ctx),
        )
    )


def wrap_org_to(
    tx: Session, trust: Trust, org: KeyPair, version: int, tech: Technician, at: datetime
) -> None:
    """Wrap org key `version` to technician `tech` (an admin), with their public key."""
    assert tech.id is not None
    to = PublicKey(tech.public_key)
    add_wrap(tx, trust, org, ORG, version, RecipientKind.TECHNICIAN, tech.id, to, at)


def open_wrap(
    tx: Session,
    customer_id: int | None,
    version: int,
    kind: RecipientKind,
    recipient: int,
    with_key: KeyPair,
) -> KeyPair | None:
    """The wrapped private key, or None when no wrap exists for this recipient."""
    blob = wrapped_blob(tx, customer_id, version, kind, recipient)
    if blob is None:
        return None
    return unwrap(blob, customer_id, version, kind, recipient, with_key)


def wrapped_blob(
    tx: Session, customer_id: int | None, version: int, kind: RecipientKind, recipient: int
) -> bytes | None:
    """The sealed wrap for this recipient, unopened, or None."""
    query = (
        select(KeyWrap.wrapped)
        .where(KeyWrap.key_version == version)
        .where(KeyWrap.recipient_kind == kind)
        .where(KeyWrap.recipient_id == recipient)
    )
    query = query.where(
        col(KeyWrap.customer_id).is_(None)
        if customer_id is None
        else KeyWrap.customer_id == customer_id
    )
    return tx.exec(query).first()


def unwrap(
    blob: bytes,
    customer_id: int | None,
    version: int,
    kind: RecipientKind,
    recipient: int,
    with_key: KeyPair,
) -> KeyPair:
    """Open one wrap already read from the database (`IntegrityError` if it fails)."""
    ctx = wrap_context(customer_id, version, kind, recipient)
    return KeyPair(open_sealed(blob, with_key, ctx))


def customer_key_via_org(
    tx: Session, trust: Trust, customer_id: int, version: int, org_version: int, org: KeyPair
) -> KeyPair:
    """Customer key `version`, opened through organization key `org_version`; it must be
    the key directory's (a wrap sealed by a database writer opens, but to another key)."""
    ckey = open_wrap(tx, customer_id, version, RecipientKind.ORG, org_version, org)
    if ckey is None:
        raise IntegrityError(f"customer key {version} is not wrapped to the org key")
    trust.check_customer_key(customer_id, version, ckey.public_key.to_bytes())
    return ckey


def wrap_customer_keys_to(
    tx: Session,
    trust: Trust,
    customer_id: int,
    org_version: int,
    org: KeyPair,
    tech: Technician,
    at: datetime,
) -> int:
    """Every version of a customer's key, opened through the organization key and wrapped
    to technician `tech` (whose earlier wraps of it are replaced). Returns how many."""
    assert tech.id is not None
    remove_wraps(tx, customer_id, RecipientKind.TECHNICIAN, tech.id)
    versions = customer_versions(tx, customer_id)
    to = PublicKey(tech.public_key)
    for version in versions:
        ckey = customer_key_via_org(tx, trust, customer_id, version, org_version, org)
        add_wrap(tx, trust, ckey, customer_id, version, RecipientKind.TECHNICIAN, tech.id, to, at)
    return len(versions)


def current_org_version(tx: Session) -> int:
    version = tx.exec(select(OrgKey.version).order_by(col(OrgKey.version).desc())).first()
    assert version is not None, "vault has no organization key"
    return version


def org_public(tx: Session, trust: Trust) -> tuple[int, PublicKey]:
    """The organization key's newest version and public key, the key directory's."""
    row = tx.exec(select(OrgKey).order_by(col(OrgKey.version).desc())).first()
    if row is None:
        raise IntegrityError("the vault has no organization key")
    trust.check_org_key(row.version, row.public_key)
    return row.version, PublicKey(row.public_key)


def open_org_key(tx: Session, technician_id: int, key: KeyPair) -> tuple[int, KeyPair]:
    version = current_org_version(tx)
    org = open_wrap(tx, ORG, version, RecipientKind.TECHNICIAN, technician_id, key)
    if org is None:
        raise AccessDenied("only an administrator can do this (no organization key)")
    return version, org


def customer_public(tx: Session, trust: Trust, customer_id: int, version: int) -> PublicKey:
    """Customer key `version`'s public key, the key directory's (to seal a payload to)."""
    row = tx.get(CustomerKey, (customer_id, version))
    if row is None:
        raise IntegrityError(f"customer key version {version} is missing")
    trust.check_customer_key(customer_id, version, row.public_key)
    return PublicKey(row.public_key)


def newest_customer_public(tx: Session, trust: Trust, customer_id: int) -> tuple[int, PublicKey]:
    """The version a new payload must be sealed to: the directory's newest (a database
    writer who moves `current_key_version` back would have it sealed to an old key)."""
    version = trust.newest_customer_key(customer_id)
    return version, customer_public(tx, trust, customer_id, version)


def customer_versions(tx: Session, customer_id: int) -> list[int]:
    return list(
        tx.exec(
            select(CustomerKey.version)
            .where(CustomerKey.customer_id == customer_id)
            .order_by(col(CustomerKey.version))
        )
    )


def new_customer_key(
    tx: Session,
    trust: Trust,
    actor: int,
    customer_id: int,
    version: int,
    at: datetime,
    recipients: list[tuple[RecipientKind, int, PublicKey]],
) -> KeyPair:
    """Create customer key `version` (staged in the key directory by `actor`) and wrap it
    to each recipient."""
    key = KeyPair.generate()
    trust.stage(directory.ckey_change(customer_id, version, key.public_key.to_bytes()), actor, at)
    tx.add(
        CustomerKey(
            customer_id=customer_id,
            version=version,
            public_key=key.public_key.to_bytes(),
            created_at=at,
        )
    )
    for kind, recipient, public in recipients:
        add_wrap(tx, trust, key, customer_id, version, kind, recipient, public, at)
    return key


def remove_wraps(tx: Session, customer_id: int, kind: RecipientKind, recipient: int) -> int:
    result = tx.execute(
        delete(KeyWrap)
        .where(col(KeyWrap.customer_id) == customer_id)
        .where(col(KeyWrap.recipient_kind) == kind)
        .where(col(KeyWrap.recipient_id) == recipient)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""The reveal: one field of one credential version, decrypted for a granted actor.

The access event commits before the value leaves; if it cannot be written, nothing is
returned (fail closed). The reveal reads everything it checks in one joined lookup
(`_readpath.reveal_lookup`) and applies the same rules (`policy.py`), in the same order
and with the same messages, as the general path (`Actor.transaction`, `Actor.customer`,
`open_version`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlmodel import Session

from .. import totp
from ..audit.append import EventDraft
from ..crypto import KeyPair
from ..db.models import Credential, Customer, RecipientKind, Role, SecretVersion
from ..errors import AccessDenied, CustodianError, IntegrityError, NotFound
from ..paths import CredentialPath
from ..secret import PRIMARY_FIELD, Secret, SecretPayload
from ..storage import SecretRef, Superseded
from . import _readpath, inputs, keys, payloads, policy, store_sync
from .trust import Trust

if TYPE_CHECKING:
    from .actor import Actor


def open_version(
    actor: Actor, tx: Session, customer: Customer, cred: Credential, sv: SecretVersion
) -> SecretPayload:
    """Decrypt one version with this actor's own wrap of the customer key: a grant is
    needed for everyone, admins included."""
    assert customer.id is not None and cred.id is not None
    if actor.live_grant(tx, customer.id) is None:
        raise AccessDenied(f"no grant for customer {customer.slug!r}")
    check_version(
        actor.trust, cred.id, sv.version, cred.name, current=sv.version == cred.current_version
    )
    cid, slug, kv = customer.id, customer.slug, sv.key_version

    def customer_key() -> KeyPair:
        blob = keys.wrapped_blob(tx, cid, kv, RecipientKind.TECHNICIAN, actor.technician_id)
        return actor.customer_key(cid, slug, kv, blob)

    ref = SecretRef(cid, slug, cred.id, sv.version, kv, sv.kv_version)
    return payloads.read(actor.vault.store, tx, ref, customer_key)()


def check_served(trust: Trust, credential: int, version: int, path: str, *, current: bool) -> None:
    """The credential served for `path` is the one the log names so, at a version the log
    wrote (`check_version`)."""
    trust.check_path(credential, path)
    check_version(trust, credential, version, path, current=current)


def check_version(trust: Trust, credential: int, version: int, what: str, *, current: bool) -> None:
    """The version served must be one the access log wrote; served as current, it must be
    the log's current one (a database writer who moves the counter back, or deletes the
    newest version, is caught here: exit 6). The log was read before the rows, so a
    write committed in between shows as a newer row: the client catches up once more
    (`Trust.current_version`)."""
    logged = trust.current_version(credential)
    if not current and 0 < version < trust.next_version(credential):
        return
    if current and version == logged:
        return
    written_meanwhile = current and version > logged  # current between then and now
    if written_meanwhile and version <= trust.current_version(credential, seen=version):
        return
    raise IntegrityError(
        f"{what!r} version {version} is served as {'current' if current else 'written'},"
        f" but the access log's current version is {logged}: the database was rolled back"
        " or changed"
    )


def reveal(
    actor: Actor,
    path: str,
    *,
    field: str = PRIMARY_FIELD,
    reason: str | None = None,
    version: int | None = None,
    action: str = "reveal",
    sync: bool = True,
) -> Secret:
    """Decrypt one field. The access event commits before the value is returned; if it
    cannot be written, nothing is returned (fail closed). The current version's read
    finds out if the store holds a newer one (`bao kv put`): then that one is recorded
    (`cred-sync`, `sync`) and revealed instead, with an event of its own."""
    cp = CredentialPath.parse(path)
    reason = inputs.check_text(reason, "reason", 500) if reason else None
    target = str(cp) + (f"#{field}" if field != PRIMARY_FIELD else "")
    event: dict[str, object] = {"target": target, "reason": reason}
    try:
        with actor.vault.db.core_transaction() as tx:
            # One joined lookup (service/_readpath.py); the checks below refuse in the same
            # order, with the same messages, as `transaction`, `customer` and `open_version`.
            actor.trust.sync(tx)  # the log since this client's head, first (check_version)
            row = _readpath.reveal_lookup(
                tx, actor.technician_id, cp.customer, cp.system, cp.name, version or None
            )
            found = check_row(
                row,
                actor.username,
                actor.signer.public_bytes(),
                actor.role,
                actor.now,
                cp,
                field=field,
                reason=reason,
                version=version,
                sync=sync,
                event=event,
                check_logged=lambda cred, v: check_served(
                    actor.trust, cred, v, str(cp), current=not version
                ),
            )
            stored = totp.stored_field(field)
            ref = SecretRef(
                found.customer_id,
                found.slug,
                found.credential_id,
                found.version,
                found.key_version,
                found.kv_version,
                latest=sync and version is None,
            )
            key = partial(
                actor.customer_key, found.customer_id, found.slug, found.key_version, found.wrapped
            )
            payload = payloads.read(actor.vault.store, tx, ref, key)  # a remote read starts
            actor.record(tx, action, "ok", detail={"version": found.version}, **event)
    except (AccessDenied, NotFound, IntegrityError) as exc:
        actor.refuse(exc, action, **event)
    except Superseded:
        return _synced(actor, path, field, reason, action)
    # Committed: only now may the value leave. A read that fails after the commit
    # leaves the "ok" event followed by the failure (the log errs towards "seen").
    try:
        return totp.derive(field, payload()[stored], actor.now)
    except Superseded:
        return _synced(actor, path, field, reason, action)
    except CustodianError as exc:
        actor.refuse(exc, action, **event)


@dataclass(frozen=True)
class RevealTarget:
    """What a checked reveal lookup found (`check_row`): every id it needs, not None."""

    customer_id: int
    slug: str
    credential_id: int
    version: int
    key_version: int
    kv_version: int | None
    wrapped: bytes | None  # this technician's wrap of the customer key version, if any


def check_row(
    row: _readpath.RevealRow | None,
    username: str,
    signing_key: bytes,
    role: Role,
    now: datetime,
    cp: CredentialPath,
    *,
    field: str,
    reason: str | None,
    version: int | None,
    sync: bool,
    event: dict[str, object],
    check_logged: Callable[[int, int], None] | None,
) -> RevealTarget:
    """The reveal's rules on its joined lookup, in the order the general path applies
    them (`Actor.transaction`, `Actor.customer`, `open_version`), with its messages: the
    one place both the reveal here and the server's (`served.py`) decide. `event` gets
    the ids the access event names as they are found; `check_logged(credential,
    version)` checks the version against the access log (a client's trust)."""
    row = check_access(row, username, signing_key, role, now, cp, reason, event)
    if row.version is None or row.key_version is None or row.field_names is None:
        raise NotFound(f"no version {version} of {str(cp)!r}")
    assert row.credential_id is not None and row.customer_id is not None and row.slug
    if check_logged is not None:
        check_logged(row.credential_id, row.version)
    stored = totp.stored_field(field)  # `otp` and `otp-seed` read `otp`
    if stored not in row.field_names.split(","):
        if sync and version is None:  # perhaps in a version written outside
            raise Superseded(0)
        raise NotFound(f"{str(cp)!r} has no field {field!r}")
    return RevealTarget(
        row.customer_id,
        row.slug,
        row.credential_id,
        row.version,
        row.key_version,
        row.kv_version,
        row.wrapped,
    )


def check_access(
    row: _readpath.RevealRow | None,
    username: str,
    signing_key: bytes,
    role: Role,
    now: datetime,
    cp: CredentialPath,
    reason: str | None,
    event: dict[str, object],
) -> _readpath.RevealRow:
    """`check_row`'s first half: the account, the customer, the grant, the reason and the
    credential (what a non-secret field, `get --field username`, needs too)."""
    if row is None or not row.active:
        raise policy.disabled(username)
    if row.signing_key != signing_key:
        raise policy.replaced(username)
    granted = row.grant_id is not None and policy.grant_live(row.expires_at, now)
    if (
        row.customer_id is None
        or row.slug is None
        or row.status is None
        or not policy.may_see(role, row.status, granted)
    ):
        raise policy.unseen_customer(role, cp.customer)
    event["customer_id"] = row.customer_id
    if not granted:
        raise AccessDenied(f"no access to customer {cp.customer!r}")
    if row.write_only:
        raise AccessDenied(
            f"a write-only grant for {cp.customer!r}: it adds and changes credentials,"
            " it cannot read them"
        )
    policy.check_reason(row, reason)
    if row.credential_id is None:
        raise NotFound(f"no credential {str(cp)!r}")
    event["credential_id"] = row.credential_id
    return row


def reveal_event(
    username: str,
    member: int,
    target: RevealTarget,
    path: str,
    reason: str | None,
    metadata: str | None = None,
    action: str = "reveal",
) -> EventDraft:
    """The access event of a reveal through a server, as the server appends it and the
    member's client signs it (both build it here). `metadata`: a non-secret field read
    (`get --field username`), logged as `credential_admin.read_field` logs it; `action`:
    "reveal", or "copy" (the TUI's copy), as `reveal` records it on a database."""
    return EventDraft(
        "reveal-metadata" if metadata else action,
        "ok",
        username,
        member,
        customer_id=target.customer_id,
        target=path,
        credential_id=target.credential_id,
        reason=reason,
        detail={"field": metadata} if metadata else {"version": target.version},
    )


def _synced(actor: Actor, path: str, field: str, reason: str | None, action: str) -> Secret:
    """The store holds a version custodian has not recorded (`bao kv put`): record it
    (`cred-sync`), then reveal the current version again, without looking further."""
    store_sync.sync_path(actor, path)
    return reveal(actor, path, field=field, reason=reason, action=action, sync=False)

"""The reveal: one field of one credential version, decrypted for a granted actor.

The access event commits before the value leaves; if it cannot be written, nothing is
returned (fail closed). The reveal reads everything it checks in one joined lookup
(`_readpath.reveal_lookup`) and applies the same rules (`policy.py`), in the same order
and with the same messages, as the general path (`Actor.transaction`, `Actor.customer`,
`open_version`).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from sqlmodel import Session

from .. import totp
from ..crypto import KeyPair
from ..db.models import Credential, Customer, RecipientKind, SecretVersion
from ..errors import AccessDenied, CustodianError, IntegrityError, NotFound
from ..paths import CredentialPath
from ..secret import PRIMARY_FIELD, Secret, SecretPayload
from ..storage import SecretRef
from . import _readpath, inputs, keys, payloads, policy

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
    check_version(actor, cred.id, sv.version, cred.name, current=sv.version == cred.current_version)
    cid, slug, kv = customer.id, customer.slug, sv.key_version

    def customer_key() -> KeyPair:
        blob = keys.wrapped_blob(tx, cid, kv, RecipientKind.TECHNICIAN, actor.technician_id)
        return actor.customer_key(cid, slug, kv, blob)

    ref = SecretRef(cid, slug, cred.id, sv.version, kv, sv.kv_version)
    return payloads.read(actor.vault.store, tx, ref, customer_key)()


def check_version(actor: Actor, credential: int, version: int, what: str, *, current: bool) -> None:
    """The version served must be one the access log wrote; served as current, it must be
    the log's current one (a database writer who moves the counter back, or deletes the
    newest version, is caught here: exit 6)."""
    logged = actor.trust.current_version(credential)
    if (
        (version != logged)
        if current
        else not 0 < version <= actor.trust.next_version(credential) - 1
    ):
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
) -> Secret:
    """Decrypt one field. The access event commits before the value is returned; if it
    cannot be written, nothing is returned (fail closed)."""
    cp = CredentialPath.parse(path)
    reason = inputs.check_text(reason, "reason", 500) if reason else None
    target = str(cp) + (f"#{field}" if field != PRIMARY_FIELD else "")
    event: dict[str, object] = {"target": target, "reason": reason}
    try:
        with actor.vault.db.core_transaction() as tx:
            # One joined lookup (service/_readpath.py); the checks below refuse in the same
            # order, with the same messages, as `transaction`, `customer` and `open_version`.
            row = _readpath.reveal_lookup(
                tx, actor.technician_id, cp.customer, cp.system, cp.name, version or None
            )
            if row is None or not row.active:
                raise actor.disabled()
            if row.signing_key != actor.signer.public_bytes():
                raise actor.replaced()
            actor.trust.sync(tx)  # the log since this client's head, verified
            granted = row.grant_id is not None and policy.grant_live(row.expires_at, actor.now)
            if (
                row.customer_id is None
                or row.slug is None
                or row.status is None
                or not policy.may_see(actor.role, row.status, granted)
            ):
                raise policy.unseen_customer(actor.role, cp.customer)
            event["customer_id"] = row.customer_id
            if not granted:
                raise AccessDenied(f"no access to customer {cp.customer!r}")
            policy.check_reason(row, reason)
            if row.credential_id is None:
                raise NotFound(f"no credential {str(cp)!r}")
            event["credential_id"] = row.credential_id
            if row.version is None or row.key_version is None or row.field_names is None:
                raise NotFound(f"no version {version} of {str(cp)!r}")
            check_version(actor, row.credential_id, row.version, str(cp), current=not version)
            stored = totp.stored_field(field)  # `otp` and `otp-seed` read `otp`
            if stored not in row.field_names.split(","):
                raise NotFound(f"{str(cp)!r} has no field {field!r}")
            ref = SecretRef(
                row.customer_id,
                row.slug,
                row.credential_id,
                row.version,
                row.key_version,
                row.kv_version,
            )
            key = partial(
                actor.customer_key, row.customer_id, row.slug, row.key_version, row.wrapped
            )
            payload = payloads.read(actor.vault.store, tx, ref, key)  # a remote read starts
            actor.record(tx, action, "ok", detail={"version": row.version}, **event)
    except (AccessDenied, NotFound, IntegrityError) as exc:
        actor.refuse(exc, action, **event)
    # Committed: only now may the value leave. A read that fails after the commit
    # leaves the "ok" event followed by the failure (the log errs towards "seen").
    try:
        return totp.derive(field, payload()[stored], actor.now)
    except CustodianError as exc:
        actor.refuse(exc, action, **event)

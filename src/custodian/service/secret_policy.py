"""Per-customer secret policies and the password age per system kind.

- Who may reveal a TOTP seed (`get --field otp-seed`): `admins` (the default) or
  `granted` (every technician granted the customer). The current code (`--field otp`)
  stays available to every granted technician either way.
- A password's maximum age, per customer or per system kind (the customer's wins): a
  credential whose current version is older is on the rotation worklist with the cause
  `age` (`rotation.rotation_list`).
- The field size limit: the most one secret field (text or file) may hold, one limit
  per vault for every write path (`cred add|set`, `--file`, import, the TUI), so that
  what one path accepts another can hand over. 1 MiB unless an admin sets another
  (`field_limit`), between `MIN_FIELD_BYTES` and `MAX_FIELD_BYTES`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlmodel import select

from ..db.models import Role, SystemKind, VaultInfo
from ..errors import AccessDenied, NotFound, UsageError
from ..paths import CredentialPath
from ..records import PolicyChange
from ..secret import MAX_FIELD_BYTES, MIN_FIELD_BYTES
from .inputs import size_text

if TYPE_CHECKING:
    from sqlmodel import Session

    from .actor import Actor

SEED_POLICIES = ("admins", "granted")
MAX_AGE_DAYS = 3650


def secret_policy(actor: Actor, slug: str | None, change: PolicyChange) -> dict[str, object]:
    """Show, or set, customer `slug`'s TOTP seed policy and password age, or the password
    age of system `change.kind` (0 days clears an age). Setting needs an admin; every
    change is one `policy-set` event."""
    otp_seed, max_age_days, kind = change.otp_seed, change.max_age_days, change.kind
    changing = otp_seed is not None or max_age_days is not None
    if changing:
        actor.require_role("policy-set", Role.ADMIN)
    else:
        actor.require_role("policy", Role.ADMIN, Role.AUDITOR)
    if otp_seed is not None and otp_seed not in SEED_POLICIES:
        raise UsageError(f"the TOTP seed policy is one of {', '.join(SEED_POLICIES)}")
    if max_age_days is not None and not 0 <= max_age_days <= MAX_AGE_DAYS:
        raise UsageError(f"a password age lies between 0 (none) and {MAX_AGE_DAYS} days")
    if slug is None and otp_seed is not None:
        raise UsageError("the TOTP seed policy is set per customer")
    if kind is not None:
        _check_kind(kind)
    with actor.transaction() as tx:
        by_kind = ages_by_kind(tx)
        if slug is not None:
            customer = actor.writable_customer(tx, slug) if changing else actor.customer(tx, slug)
            changes: dict[str, object] = {}
            if otp_seed is not None and otp_seed != customer.otp_seed_policy:
                customer.otp_seed_policy = changes["otp_seed"] = otp_seed
            if max_age_days is not None and (max_age_days or None) != customer.max_age_days:
                customer.max_age_days = max_age_days or None
                changes["max_age_days"] = customer.max_age_days
            if changes:
                tx.add(customer)
                actor.record(tx, "policy-set", customer_id=customer.id, target=slug, detail=changes)
            return {
                "customer": slug,
                "otp_seed": customer.otp_seed_policy,
                "max_age_days": customer.max_age_days,
                "max_age_by_kind": by_kind,
            }
        if (
            kind is not None
            and max_age_days is not None
            and (max_age_days or None) != by_kind.get(kind)
        ):
            if max_age_days:
                by_kind[kind] = max_age_days
            else:
                by_kind.pop(kind, None)
            info = tx.exec(select(VaultInfo)).one()
            info.max_age_by_kind = json.dumps(by_kind, sort_keys=True) if by_kind else None
            tx.add(info)
            actor.record(
                tx, "policy-set", target=f"kind:{kind}", detail={"max_age_days": max_age_days}
            )
        return {"max_age_by_kind": by_kind}


def field_limit(actor: Actor, size: int | None = None) -> int:
    """The vault's field size limit in bytes; sets it when `size` is given (admins; one
    `field-limit-set` event). Every technician may read it: every writer needs it."""
    if size is not None:
        actor.require_role("field-limit-set", Role.ADMIN)
        if not MIN_FIELD_BYTES <= size <= MAX_FIELD_BYTES:
            raise UsageError(
                f"the field limit lies between {size_text(MIN_FIELD_BYTES)} and"
                f" {size_text(MAX_FIELD_BYTES)}"
            )
    with actor.transaction() as tx:
        info = tx.exec(select(VaultInfo)).one()
        if size is not None and size != info.max_field_bytes:
            old, info.max_field_bytes = info.max_field_bytes, size
            tx.add(info)
            actor.record(tx, "field-limit-set", detail={"from": old, "to": size})
        return _bounded(info.max_field_bytes)


def field_limit_of(tx: Session) -> int:
    """The vault's field size limit, read inside a write's own transaction."""
    return _bounded(tx.exec(select(VaultInfo.max_field_bytes)).one())


def _bounded(size: int) -> int:
    """Never beyond what `field_limit` lets an admin set, whatever the row says: a row
    changed behind custodian's back cannot make a client read gigabytes."""
    return max(MIN_FIELD_BYTES, min(size, MAX_FIELD_BYTES))


def ages_by_kind(tx: Session) -> dict[str, int]:
    """System kind -> the days a password may age (the vault-wide setting)."""
    raw = tx.exec(select(VaultInfo.max_age_by_kind)).first()
    return {str(k): int(v) for k, v in json.loads(raw or "{}").items()}


def _check_kind(kind: str) -> None:
    try:
        SystemKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in SystemKind)
        raise UsageError(f"unknown system kind {kind[:40]!r} (one of {kinds})") from None


def seed_refusal(role: Role, policy: str, slug: str) -> AccessDenied | None:
    """The refusal of a TOTP seed reveal the customer's policy does not allow `role`."""
    if role == Role.ADMIN or policy == "granted":
        return None
    return AccessDenied(
        f"customer {slug!r} lets only admins reveal TOTP seeds; `get --field otp`"
        " prints the current code"
    )


def check_seed_reveal(actor: Actor, path: str) -> None:
    """Refuse (and record) a TOTP seed reveal the customer's policy does not allow this
    actor. A customer the actor may not see is left to the reveal, which refuses it."""
    if actor.role == Role.ADMIN:
        return
    cp = CredentialPath.parse(path)
    try:
        with actor.transaction() as tx:
            customer = actor.customer(tx, cp.customer)
    except (AccessDenied, NotFound):
        return
    exc = seed_refusal(actor.role, customer.otp_seed_policy, cp.customer)
    if exc is not None:
        actor.refuse(exc, "reveal", target=f"{cp}#otp-seed", customer_id=customer.id)

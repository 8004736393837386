"""`rotation resume`: settle the rotations a crash or a cut connection left pending.

A pending rotation (device_rotation.py) holds a new secret the device may or may not have
taken. Resume asks the device which secret it accepts: the new one becomes the current
version (event `rotate ok`), the old one stays current and the pending row goes (event
`rotate-resume ok`, settled "old"), neither (or no answer) leaves it pending and says so
(`rotate-resume failed`). A rotation younger than `grace` may still be running and is left.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from ..clock import as_utc
from ..connectors import Account
from ..crypto import open_sealed
from ..db.models import Credential, Customer, PendingRotation, RecipientKind, System
from ..errors import AccessDenied, Conflict, CustodianError, IntegrityError
from ..paths import CredentialPath
from . import device_targets, keys, payloads, reveal, rows
from .device_rotation import (
    GRACE,
    Job,
    RotationResult,
    accepted_secret,
    password_of,
    pending_row,
    sealed_context,
    settle_new,
    username_of,
)

if TYPE_CHECKING:
    from .actor import Actor


def _reload(actor: Actor, tx: Session, pending_id: int, path: str) -> Job:
    """A pending rotation as a job again: the new secret opened from its sealed row."""
    row = tx.get(PendingRotation, pending_id)
    if row is None:
        raise Conflict(f"the pending rotation of {path!r} was settled by someone else")
    cp = CredentialPath.parse(path)
    customer = actor.customer(tx, cp.customer)
    assert customer.id is not None
    if actor.live_grant(tx, customer.id) is None:
        raise AccessDenied(f"settling {path!r} needs a grant for {customer.slug!r}")
    system, cred = rows.credential(tx, customer, cp)
    assert cred.id is not None
    name, connector = device_targets.connector_of(system, str(cp.system_path))
    target = device_targets.target_of(system, str(cp.system_path))
    current = rows.version(tx, cred, None)
    if current is None:
        raise IntegrityError(f"{path!r} lost its current version")
    old = reveal.open_version(actor, tx, customer, cred, current)
    blob = keys.wrapped_blob(
        tx, customer.id, row.key_version, RecipientKind.TECHNICIAN, actor.technician_id
    )
    ckey = actor.customer_key(customer.id, customer.slug, row.key_version, blob)
    context = sealed_context(customer.id, cred.id, row.base_version, row.key_version)
    new = payloads.decode(open_sealed(row.sealed, ckey, context))
    account = username_of(cred, path)
    login = Account(account, password_of(old, path))
    return Job(
        path, customer.id, cred.id, pending_id, name, connector, target, account, login, old, new
    )


def _pending_paths(actor: Actor, slug: str | None, grace: timedelta) -> list[tuple[int, str]]:
    with actor.transaction() as tx:
        query = (
            select(PendingRotation, Credential, System, Customer)
            .join(Credential, col(Credential.id) == col(PendingRotation.credential_id))
            .join(System, col(System.id) == col(Credential.system_id))
            .join(Customer, col(Customer.id) == col(PendingRotation.customer_id))
            .order_by(col(PendingRotation.id))
        )
        if slug is not None:
            query = query.where(Customer.id == actor.customer(tx, slug).id)
        cutoff = actor.now - grace
        return [
            (p.id or 0, f"{cu.slug}/{s.name}/{c.name}")
            for p, c, s, cu in tx.exec(query).all()
            if as_utc(p.started_at) <= cutoff
        ]


def _record_resume(actor: Actor, job: Job, outcome: str, detail: dict[str, object]) -> None:
    with actor.transaction() as tx:
        if outcome == "ok":
            tx.delete(pending_row(tx, job))
        actor.record(
            tx,
            "rotate-resume",
            outcome,
            customer_id=job.customer_id,
            credential_id=job.credential_id,
            target=job.path,
            detail=detail,
        )


def _settle(actor: Actor, job: Job, accepted: str | None, took: float) -> RotationResult:
    if accepted == "new":
        version = settle_new(actor, job, "rotate")
        return RotationResult(job.path, "rotated", version, job.connector_name, None, took)
    if accepted == "old":
        _record_resume(actor, job, "ok", {"settled": "old"})
        return RotationResult(job.path, "kept", None, job.connector_name, None, took)
    error = "the device accepts neither the current nor the pending secret, or did not answer"
    _record_resume(actor, job, "failed", {"error": error})
    return RotationResult(job.path, "unsettled", None, job.connector_name, error, took)


def resume(
    actor: Actor, *, slug: str | None = None, grace: timedelta = GRACE
) -> list[RotationResult]:
    """Settle every pending rotation older than `grace` (a younger one may belong to a
    rotation still running) by asking the device which secret it accepts: the new one
    becomes current, the old one stays current (the pending one goes), neither leaves it
    pending and says so."""
    results: list[RotationResult] = []
    for pending_id, path in _pending_paths(actor, slug, grace):
        started = time.monotonic()
        try:
            with actor.transaction() as tx:
                job = _reload(actor, tx, pending_id, path)
        except CustodianError as exc:
            results.append(RotationResult(path, "unsettled", error=str(exc)))
            continue
        accepted = accepted_secret(job)
        try:
            results.append(_settle(actor, job, accepted, time.monotonic() - started))
        except CustodianError as exc:  # settled meanwhile by another resume, say
            results.append(RotationResult(path, "unsettled", None, job.connector_name, str(exc)))
    return results

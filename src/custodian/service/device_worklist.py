"""`rotation run` and `rotation verify`: the worklist worked through on the devices, and
the stored secrets checked against them (drift: a password changed outside custodian).

`run` rotates each credential on the worklist (`rotation.rotation_list`) with
`device_rotation.rotate`, `concurrency` at a time: the device I/O runs in parallel, this
actor's database transactions one at a time (one lock). A failure is a result, not an
exception: the run goes on. `verify` logs in with each current secret and records the
answer as a `rotation-verify` event (ok, drift, unreachable).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from ..clock import as_utc
from ..connectors import Account, TargetUnreachable
from ..errors import CustodianError, UsageError
from ..paths import CredentialPath
from . import credentials, device_rotation, device_targets, reveal, rotation, rows
from .device_rotation import Progress, RotationResult, password_of, username_of

if TYPE_CHECKING:
    from .actor import Actor

MAX_CONCURRENCY = 64
AGE_CAUSE, AGE = "age", timedelta(days=90)  # `--cause age`: not changed for this long


def run(
    actor: Actor,
    *,
    slug: str | None = None,
    cause: str | None = None,
    technician: str | None = None,
    every: bool = False,
    older_than: timedelta = AGE,
    reason: str | None = None,
    dry_run: bool = False,
    concurrency: int = 1,
    progress: Progress | None = None,
) -> list[RotationResult]:
    """Rotate the worklist's credentials (of `slug`, of `cause`, seen by `technician`);
    with `cause` "age" the credentials not changed for `older_than`; with `every` all of
    `slug`'s credentials (before a handover)."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be 1..{MAX_CONCURRENCY}")
    if every:
        if slug is None:
            raise UsageError("rotating every credential needs a customer")
        paths = [c.path for c in credentials.list_credentials(actor, slug)]
    elif cause == AGE_CAUSE:
        cutoff = actor.now - older_than
        paths = [
            c.path
            for c in credentials.list_credentials(actor, slug)
            if as_utc(c.updated_at) <= cutoff
        ]
    else:
        paths = list(
            dict.fromkeys(
                e.path
                for e in rotation.rotation_list(actor, slug)
                if (cause is None or e.cause == cause)
                and (technician is None or e.technician == technician)
            )
        )
    if dry_run:
        return [RotationResult(p, "would-rotate") for p in paths]
    lock = threading.Lock()

    def one(path: str) -> RotationResult:
        started = time.monotonic()
        try:
            return device_rotation.rotate(actor, path, reason=reason, progress=progress, lock=lock)
        except CustodianError as exc:  # a missing target is skipped, not failed
            took = time.monotonic() - started
            outcome = "skipped" if type(exc) is UsageError else "failed"
            return RotationResult(path, outcome, error=str(exc), seconds=took)

    if concurrency == 1:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(concurrency, thread_name_prefix="rotate") as pool:
        return list(pool.map(one, paths))


def _check(actor: Actor, path: str) -> RotationResult | None:
    """Log in with `path`'s current secret; None when its system has no target."""
    cp = CredentialPath.parse(path)
    with actor.transaction() as tx:
        customer = actor.customer(tx, cp.customer)
        system, cred = rows.credential(tx, customer, cp)
        if not system.host or device_targets.connector_name(system) is None:
            return None
        if actor.live_grant(tx, customer.id or 0) is None:
            return RotationResult(path, "skipped", error="no grant to read it")
        name, connector = device_targets.connector_of(system, str(cp.system_path))
        target = device_targets.target_of(system, str(cp.system_path))
        current = rows.version(tx, cred, None)
        if current is None:
            return None
        payload = reveal.open_version(actor, tx, customer, cred, current)
        login = Account(username_of(cred, path), password_of(payload, path))
        ids = (customer.id, cred.id)
    started = time.monotonic()
    try:
        outcome = "ok" if connector.verify(target, login) else "drift"
        error = None if outcome == "ok" else "the device refuses the stored secret"
    except CustodianError as exc:
        outcome = "unreachable" if isinstance(exc, TargetUnreachable) else "failed"
        error = str(exc)
    took = time.monotonic() - started
    with actor.transaction() as tx:
        actor.record(
            tx,
            "rotation-verify",
            outcome,
            customer_id=ids[0],
            credential_id=ids[1],
            target=path,
            detail={"connector": name} | ({"error": error[:500]} if error else {}),
        )
    return RotationResult(path, outcome, current.version, name, error, took)


def verify(
    actor: Actor, *, slug: str | None = None, progress: Progress | None = None
) -> list[RotationResult]:
    results = []
    for info in credentials.list_credentials(actor, slug):
        try:
            result = _check(actor, info.path)
        except CustodianError as exc:
            result = RotationResult(info.path, "failed", error=str(exc))
        if result is not None:
            results.append(result)
            if progress is not None:
                progress(info.path, result.outcome)
    return results

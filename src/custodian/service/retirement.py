"""Retiring a credential (`cred retire`): the device is gone, the record must stay.

Unlike `cred delete`, which crypto-shreds, a retired credential keeps its versions, its
log and its reveal (a granted technician still opens it, logged as every reveal is). It
leaves the listings (`cred list` shows it with `--retired` or `--all`) and the rotation
worklist, and takes no new version (`rows.check_active`) until it is un-retired.

The rule is edit's (`Actor.writable_customer`: an admin, or a technician granted the
customer). One transaction, one event: `cred-retire`, or `cred-unretire` for the undo;
a refusal is recorded as every probe is (`probes.recorded`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..clock import as_utc
from ..errors import UsageError
from ..paths import CredentialPath
from . import probes, rows

if TYPE_CHECKING:
    from .actor import Actor


def retire_credential(actor: Actor, path: str, *, undo: bool = False) -> datetime | None:
    """Retire the credential at `path` (returns when), or with `undo` make it active again
    (returns None). Retiring a retired one, or un-retiring an active one, is refused."""
    cp = CredentialPath.parse(path)
    action = "cred-unretire" if undo else "cred-retire"
    with probes.recorded(actor, action, str(cp)), actor.transaction() as tx:
        customer = actor.writable_customer(tx, cp.customer)
        _, cred = rows.credential(tx, customer, cp)
        rows.lock(tx, cred)  # a concurrent `cred set` or retire queues here
        since = as_utc(cred.retired_at) if cred.retired_at else None
        if undo and since is None:
            raise UsageError(f"{cp} is not retired: nothing to undo")
        if not undo and since is not None:
            raise UsageError(f"{cp} is already retired (since {since:%Y-%m-%d})")
        cred.retired_at = None if undo else actor.now
        tx.add(cred)
        detail = {"retired_at": since.isoformat()} if since is not None else None
        actor.record(
            tx,
            action,
            customer_id=customer.id,
            credential_id=cred.id,
            target=str(cp),
            detail=detail,
        )
        return cred.retired_at

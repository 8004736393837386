"""Taking a backup: an admin writes an encrypted snapshot of the whole vault, logged.

The file format (snapshot, sealing, verification, loading) is `custodian.exchange.backup`;
restoring one into an empty database is `restore.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from ..crypto import KdfParams
from ..db.models import Role
from ..exchange.backup import Manifest, create_backup
from .deletion import reapply_deletions
from .enrolment import check_passphrase
from .shredding import ShredRecord, reapply_purges

if TYPE_CHECKING:
    from .actor import Actor


def backup(
    actor: Actor, out: BinaryIO, passphrase: str, *, params: KdfParams | None = None
) -> Manifest:
    """Write an encrypted backup of the whole vault to `out` (admins only; logged). The
    backup passphrase follows the rule of a technician's (`enrolment.check_passphrase`)."""
    actor.require_role("backup", Role.ADMIN)
    check_passphrase(passphrase)
    manifest = create_backup(
        actor.vault.db.engine, out, passphrase, params=params, clock=actor.vault.clock
    )
    with actor.transaction() as tx:
        actor.record(
            tx,
            "backup",
            detail={"rows": manifest.rows, "created_at": manifest.created_at},
        )
    return manifest


@dataclass(frozen=True)
class Reapplied:
    """What a restore destroyed again: customers a purge had shredded, then credentials
    and systems a deletion had destroyed, after the backup was taken."""

    purged: list[str]
    deleted: list[str]


def record_restore(
    actor: Actor, manifest: Manifest, records: Iterable[ShredRecord] = ()
) -> Reapplied:
    """Record a restore (signed by this admin), then shred again what the destruction list
    names (`shredding.reapply_purges`) and delete again what the deletion list names
    (`deletion.reapply_deletions`), each with an event signed by this admin too."""
    actor.require_role("restore", Role.ADMIN)
    with actor.transaction() as tx:
        actor.record(
            tx,
            "restore",
            detail={"backup_created_at": manifest.created_at, "rows": manifest.rows},
        )
    purged = reapply_purges(actor, records)
    return Reapplied(purged, reapply_deletions(actor))

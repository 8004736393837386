"""Taking a backup: an admin writes an encrypted snapshot of the whole vault, logged.

The file format (snapshot, sealing, verification, loading) is `custodian.exchange.backup`;
restoring one into an empty database is `restore.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

from ..crypto import KdfParams
from ..db.models import Role
from ..exchange.backup import Manifest, create_backup
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


def record_restore(
    actor: Actor, manifest: Manifest, records: Iterable[ShredRecord] = ()
) -> list[str]:
    """Record a restore (signed by this admin), then shred again what the destruction list
    names (`shredding.reapply_purges`, each purge signed too). Returns those slugs."""
    actor.require_role("restore", Role.ADMIN)
    with actor.transaction() as tx:
        actor.record(
            tx,
            "restore",
            detail={"backup_created_at": manifest.created_at, "rows": manifest.rows},
        )
    return reapply_purges(actor, records)

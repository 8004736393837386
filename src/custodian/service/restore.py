"""Restoring a backup into an EMPTY database: load it, record the restore in the access
log, and shred again what a purge destroyed after the backup was taken.

No technician acts (the database is empty until the load): the events are the vault's.
"""

from __future__ import annotations

import os

from ..audit.append import EventDraft, append
from ..db.engine import resolve_url
from ..exchange.backup import Manifest, load_backup
from .shredding import reapply_purges
from .vault import Custodian


def restore_backup(
    path: str | os.PathLike[str], passphrase: str, db: str | os.PathLike[str] | None
) -> tuple[Manifest, list[str]]:
    """Verify the backup, load it into the EMPTY database `db` (a path or a URL; None:
    $CUSTODIAN_DB or the default) in one transaction, and re-apply the destruction list.
    Returns the manifest and the customers shredded again. Nothing is written unless the
    whole backup verified."""
    url = resolve_url(db)
    manifest = load_backup(path, passphrase, url)
    with Custodian.open(url) as vault:
        with vault.db.transaction() as tx:
            append(
                tx,
                EventDraft(
                    "restore",
                    "ok",
                    "restore",
                    detail={"backup_created_at": manifest.created_at, "rows": manifest.rows},
                ),
                vault.clock(),
            )
        return manifest, reapply_purges(vault, actor="restore")

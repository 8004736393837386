"""Restoring a backup into an EMPTY database: load it, record the restore in the access
log, and shred again what a purge destroyed after the backup was taken.

An admin of the restored vault performs it: their keys are opened from the backup with
their passphrase before anything is written, and they sign the restore and every purge it
re-applies (`backups.record_restore`), so that no unsigned event enters the log.
"""

from __future__ import annotations

import os

from ..crypto import PassphraseLock
from ..db.engine import resolve_url
from ..errors import AuthenticationFailed, WrongPassphrase
from ..exchange.backup import Manifest, load_backup, rows_of
from .backups import Reapplied
from .enrolment import technician_lock_context
from .vault import Custodian


def restore_backup(
    path: str | os.PathLike[str],
    passphrase: str,
    db: str | os.PathLike[str] | None,
    *,
    admin: str,
    admin_passphrase: str,
) -> tuple[Manifest, Reapplied]:
    """Verify the backup, load it into the EMPTY database `db` (a path or a URL; None:
    $CUSTODIAN_DB or the default) in one transaction, and re-apply the destruction list
    (purges, then deletions), as `admin` (an admin in the backup, unlocked with
    `admin_passphrase` first). Returns the manifest and what was destroyed again.
    Nothing is written unless the whole backup verified and the admin's passphrase
    opened their keys."""
    bundle = _admin_bundle(path, passphrase, admin, admin_passphrase)
    url = resolve_url(db)
    manifest = load_backup(path, passphrase, url)
    with Custodian.open(url) as vault:
        session = vault.resume(admin, bundle)
        return manifest, session.record_restore(manifest)


def _admin_bundle(
    path: str | os.PathLike[str], passphrase: str, admin: str, admin_passphrase: str
) -> bytes:
    for row in rows_of(path, passphrase, "technician"):
        if row["username"] == admin and row["active"] and row["locked_private"]:
            try:
                return PassphraseLock.unlock(
                    row["locked_private"],
                    admin_passphrase,
                    technician_lock_context(row["id"], admin),
                )
            except WrongPassphrase:
                break
    raise AuthenticationFailed(f"authentication failed for {admin[:64]!r} in the backup")

"""`custodian backup FILE`, `custodian backup verify FILE`, `custodian restore FILE`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .. import KdfParams, Manifest, restore_backup, verify_backup
from ._context import CliContext
from ._io import acting_passphrase, emit, read_new_secret, say

pass_ctx = click.make_pass_decorator(CliContext)


class _BackupGroup(click.Group):
    """`backup FILE` creates; `backup verify FILE` checks."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "create", self.commands["create"], args
        return super().resolve_command(ctx, args)


def _passphrase(confirm: bool) -> str:
    """The backup passphrase: stdin when piped, else a hidden prompt."""
    return read_new_secret("backup passphrase", confirm=confirm)


def _show(manifest: Manifest, fmt: str) -> None:
    rows = [{"table": name, "rows": count} for name, count in manifest.tables.items()]
    if fmt == "json":
        emit([manifest.to_dict()], [], "json")
    else:
        emit(rows, ["table", "rows"], "table")


@click.group(cls=_BackupGroup, invoke_without_command=False)
def backup() -> None:
    """Encrypted backups: `backup FILE` writes one, `backup verify FILE` checks one."""


@backup.command("create", hidden=True)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--kdf-seconds",
    type=float,
    default=1.0,
    show_default=True,
    help="Argon2id cost of the backup key (never below RFC 9106's floor).",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@pass_ctx
def backup_create(ctx: CliContext, file: str, kdf_seconds: float, force: bool) -> None:
    """Write an encrypted snapshot of the whole vault to FILE (admins)."""
    target = Path(file)
    if target.exists() and not force:
        raise click.UsageError(f"{file} exists (use --force to overwrite)")
    actor = ctx.actor()
    passphrase = _passphrase(confirm=True)
    params = KdfParams.floor() if kdf_seconds <= 0 else KdfParams.calibrate(kdf_seconds)
    partial = target.with_name(target.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            manifest = actor.backup(out, passphrase, params=params)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    say(
        f"backup written to {file}: {manifest.rows} rows of {len(manifest.tables)} tables,"
        f" vault {manifest.vault_id}, schema {manifest.schema_revision}"
    )


@backup.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def backup_verify(file: str, fmt: str) -> None:
    """Decrypt and check a whole backup; print its manifest. Writes nothing."""
    manifest = verify_backup(file, _passphrase(confirm=False))
    _show(manifest, fmt)
    say(
        f"backup OK: vault {manifest.vault_id}, taken {manifest.created_at},"
        f" schema {manifest.schema_revision}, {manifest.rows} rows"
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@pass_ctx
def restore(ctx: CliContext, file: str) -> None:
    """Restore FILE into the EMPTY database --db names, as --user (an admin in the backup,
    who signs the restore; their passphrase from CUSTODIAN_PASSPHRASE or the terminal).
    The backup passphrase comes from stdin when piped. Verified first, then the
    destruction list is re-applied."""
    backup_passphrase = _passphrase(confirm=False)
    manifest, again = restore_backup(
        file,
        backup_passphrase,
        ctx.db,
        admin=ctx.username,
        admin_passphrase=acting_passphrase(ctx.username),
    )
    say(f"restored {manifest.rows} rows of vault {manifest.vault_id} into {ctx.location}")
    for slug in again.purged:
        say(f"purged again (on the destruction list): {slug}")
    for target in again.deleted:
        say(f"deleted again (on the deletion list): {target}")
    if sys.stderr.isatty():
        say("technicians unlock as before; no session cache carries over")


COMMANDS = [backup, restore]

"""`custodian doctor` (drift between SQL and the payload store) and `custodian migrate`."""

from __future__ import annotations

import sys

import click

from . import FORMATS
from ._context import CliContext
from ._io import emit, say

pass_ctx = click.make_pass_decorator(CliContext)


@click.command()
@click.option("--repair", is_flag=True, help="Fix what can be fixed (recorded in the log).")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def doctor(ctx: CliContext, repair: bool, fmt: str) -> None:
    """Report drift between custodian's records and the payload store (admins).
    Exits 1 when unrepaired drift remains."""
    found = ctx.actor().doctor(repair=repair)
    emit([d.to_dict() for d in found], ["kind", "target", "detail", "repaired"], fmt)
    left = [d for d in found if not d.repaired]
    say(
        f"{len(found)} problem(s) found, {len(found) - len(left)} repaired"
        if found
        else "no drift: every credential has its payload and nothing else is stored"
    )
    if left:
        raise click.exceptions.Exit(1)


@click.command()
@click.option("--to", "to", type=click.Choice(["vault", "sql"]), required=True)
@click.option("--vault-addr", help="Target Vault address ($VAULT_ADDR wins when set).")
@click.option("--vault-mount", default="secret", show_default=True)
@click.option("--vault-prefix", default="custodian", show_default=True)
@click.option("--vault-auth-mount", default="userpass", show_default=True)
@pass_ctx
def migrate(
    ctx: CliContext,
    to: str,
    vault_addr: str | None,
    vault_mount: str,
    vault_prefix: str,
    vault_auth_mount: str,
) -> None:
    """Move every payload to Vault or back to SQL, verifying each (admins; resumable)."""
    vault = ctx.vault_to_migrate()
    target = vault.migration_target(
        to,
        vault_addr=vault_addr,
        vault_mount=vault_mount,
        vault_prefix=vault_prefix,
        vault_auth_mount=vault_auth_mount,
    )
    actor = ctx.actor()
    if sys.stderr.isatty():
        with click.progressbar(length=1, label=f"moving payloads to {to}", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            result = actor.migrate(target, progress=progress)
    else:
        result = actor.migrate(target)
    say(
        f"moved {result.versions} version(s) of {result.credentials} credential(s) to {to}"
        + (f"; {result.already_done} were already there" if result.already_done else "")
    )


COMMANDS = (doctor, migrate)

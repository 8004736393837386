"""Schema maintenance: `custodian db upgrade` brings an older vault to this version's schema."""

from __future__ import annotations

import click

from ..db.engine import schema_revision
from ..errors import UsageError
from ..service import Custodian
from ._context import CliContext
from ._io import say

pass_ctx = click.make_pass_decorator(CliContext)


@click.group("db")
def db_group() -> None:
    """The vault's database schema."""


@db_group.command("upgrade")
@pass_ctx
def upgrade(ctx: CliContext) -> None:
    """Migrate the vault's schema to this version (a no-op when it is current)."""
    from ..db.migrate import head_revision

    vault = Custodian.open(ctx.db, check_schema=False)
    ctx._vault = vault
    before = schema_revision(vault.db.engine)
    if before is None:
        raise UsageError("this database holds no vault: run `custodian init` first")
    head = head_revision()
    if before == head:
        say(f"schema already at {head}")
        return
    vault.upgrade_schema()
    say(f"schema upgraded from {before} to {schema_revision(vault.db.engine)}")


@db_group.command("harden")
@click.option(
    "--app-role",
    "app_roles",
    multiple=True,
    help="PostgreSQL role the application connects as (repeatable): it keeps"
    " SELECT and INSERT on access_event, never UPDATE, DELETE or TRUNCATE.",
)
@pass_ctx
def harden(ctx: CliContext, app_roles: tuple[str, ...]) -> None:
    """Make the access log append-only in the database itself (admins; recorded)."""
    for line in ctx.actor().harden_database(list(app_roles)):
        say(line)


COMMANDS = [db_group]

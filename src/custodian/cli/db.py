"""Schema maintenance: `custodian db upgrade` brings an older vault to this version's schema."""

from __future__ import annotations

import click

from .. import UsageError
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
    vault = ctx.vault_to_upgrade()
    before = vault.schema_status()
    if before.current is None:
        raise UsageError("this database holds no vault: run `custodian init` first")
    if before.up_to_date:
        say(f"schema already at {before.head}")
        return
    vault.upgrade_schema()
    say(f"schema upgraded from {before.current} to {vault.schema_status().current}")


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


@db_group.command("certify")
@click.option("--yes", is_flag=True, help="Certify without asking (after checking the keys).")
@pass_ctx
def certify(ctx: CliContext, yes: bool) -> None:
    """Certify the key directory of a vault created before it existed (admins): lists each
    member's key fingerprint to compare with them out of band, then signs the directory
    as it stands. Members pin it at their next unlock."""
    actor = ctx.actor()
    for m in actor.preview_certification():
        state = "" if m.active else " (removed)"
        say(f"  {m.username:<24} {m.role:<11} key {m.key}{state}")
    if not yes and not click.confirm(
        "certify these members and keys as this vault's directory?", err=True
    ):
        raise UsageError("not certified")
    say(f"certified; vault fingerprint {actor.certify_directory()}")


COMMANDS = [db_group]

"""The access log, as the service shows it to this actor."""

from __future__ import annotations

import click

from ._context import CliContext, parse_when
from ._io import emit

pass_ctx = click.make_pass_decorator(CliContext)

EVENT_COLUMNS = ["seq", "at", "actor", "action", "outcome", "target", "reason", "detail"]


@click.group(invoke_without_command=True)
@click.option("--customer", help="Only events of this customer.")
@click.option("--tech", help="Only events by or about this technician.")
@click.option("--since", help="ISO date/time, or a span such as 24h or 7d.")
@click.option("--limit", type=click.IntRange(1), help="Only the newest N events.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "ndjson", "csv"]),
              default="table")
@click.pass_context
def log(click_ctx: click.Context, customer: str | None, tech: str | None, since: str | None,
        limit: int | None, fmt: str) -> None:
    """Show the access log (admins and auditors see all; technicians their own)."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: CliContext = click_ctx.obj
    events = ctx.actor().events(
        customer=customer, technician=tech,
        since=parse_when(since, future=False) if since else None, limit=limit,
    )
    emit([e.to_dict() for e in events], EVENT_COLUMNS, fmt)


COMMANDS = [log]

"""`custodian tui`: the terminal UI (package `custodian_tui`, imported only here)."""

from __future__ import annotations

from datetime import timedelta

import click

from .. import UsageError
from ._context import CliContext

pass_ctx = click.make_pass_decorator(CliContext)


@click.command()
@click.option(
    "--idle-lock",
    default=5.0,
    show_default=True,
    type=float,
    help="Lock after this many idle minutes.",
)
@click.option(
    "--reveal-seconds",
    default=10.0,
    show_default=True,
    type=float,
    help="How long a revealed secret stays visible.",
)
@click.option(
    "--clipboard-seconds",
    default=30.0,
    show_default=True,
    type=float,
    help="Clear a copied secret from the clipboard after this long.",
)
@pass_ctx
def tui(ctx: CliContext, idle_lock: float, reveal_seconds: float, clipboard_seconds: float) -> None:
    """Open the terminal UI (unlocks with your passphrase or a cached session), on the
    database or through the server (--server): there, what the server does not offer yet
    is not shown."""
    import sys

    if min(idle_lock, reveal_seconds, clipboard_seconds) <= 0:
        raise UsageError("--idle-lock, --reveal-seconds and --clipboard-seconds must be positive")
    if not sys.stdout.isatty():
        raise UsageError("the terminal UI needs a terminal (stdout is not a TTY)")
    from custodian_tui import TuiConfig, make_app

    config = TuiConfig(
        idle_lock=timedelta(minutes=idle_lock),
        reveal_for=timedelta(seconds=reveal_seconds),
        clipboard_for=timedelta(seconds=clipboard_seconds),
    )
    vault = ctx.remote() if ctx.server is not None else ctx.vault()
    make_app(vault=vault, username=ctx.username, config=config).run()


COMMANDS = [tui]

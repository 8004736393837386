"""Sessions: unlock (cache in the OS keyring), lock, passwd."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import click

from .. import UsageError, parse_time, utcnow
from ..agent.cache import SESSION_ENV, NoKeyring, forget, store_token
from ._context import CliContext
from ._io import acting_passphrase, read_new_secret, say, unlock_passphrase

pass_ctx = click.make_pass_decorator(CliContext)
MIN_TTL = timedelta(seconds=10)  # shorter would lapse before the next command starts


@click.command()
@click.option(
    "--ttl",
    default="15m",
    show_default=True,
    help="How long the session lasts: 20s, 30m, 8h (at least 10s), or an ISO time.",
)
@click.option(
    "--no-agent", is_flag=True, help="Do not start the session agent that serves `get` from memory."
)
@pass_ctx
def unlock(ctx: CliContext, ttl: str, no_agent: bool) -> None:
    """Unlock once and cache the session (OS keyring) for --ttl. The passphrase comes
    from stdin when piped, else a hidden prompt. Without an OS keyring, run it as
    `eval "$(custodian unlock)"` so that every later command uses the session."""
    from datetime import datetime

    from ..agent import server as agent

    now = utcnow()
    span = parse_time(ttl, now, future=True) - now
    if span < MIN_TTL:
        raise UsageError(f"a session lasts at least {MIN_TTL.seconds}s (--ttl)")
    passphrase = unlock_passphrase(ctx.username)
    if ctx.server is not None:  # through the server: the passphrase opens the key here
        url, bundle = ctx.remote().url, ctx.remote().unlock(ctx.username, passphrase).export()
    else:
        vault = ctx.vault()
        url = vault.url
        bundle = vault.unlock(ctx.username, passphrase, starts_session=True).export()
    slot = ctx.slot()
    token = slot.save(bundle, span)
    expires = token.split(".", 1)[1]
    note = ""
    if no_agent:
        agent.stop(url, ctx.username)
    else:
        try:
            until = datetime.fromisoformat(expires)
            pid = agent.spawn(url, ctx.username, bundle, until, server=ctx.server is not None)
            note = f"; session agent pid {pid} serves `get`"
        except agent.AgentError as exc:
            say(f"custodian: {exc}; `get` will unlock from the cached session instead")
    try:
        store_token(slot, token)
    except NoKeyring as exc:
        if sys.stdout.isatty():  # shown, not captured: say how to keep it
            say(
                f"custodian: {exc}: the session is the `export {SESSION_ENV}=...` line"
                ' below; run `eval "$(custodian unlock)"` so that every command uses it'
            )
        else:  # captured, as by eval "$(custodian unlock)"
            say(f"custodian: {exc}: the session goes out as an `export {SESSION_ENV}` line")
        click.echo(f"export {SESSION_ENV}={token}")
        if note:
            say(f"unlocked {ctx.username} until {expires[:16]} UTC{note}")
        return
    say(f"unlocked {ctx.username} until {expires[:16]} UTC (session in the OS keyring{note})")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_ctx
def whoami(ctx: CliContext, fmt: str) -> None:
    """Who you act as, your role, and the fingerprint of the vault root your key pins:
    compare it with your admin's out of band (a phone call, not e-mail)."""
    me = ctx.reader().whoami()
    if fmt == "json":
        click.echo(json.dumps(me.to_dict()))
        return
    click.echo(f"{me.username}\t{me.role}\t{me.fingerprint or '(not certified)'}")
    say(f"verified through access event {me.verified_through}")


@click.command()
@pass_ctx
def lock(ctx: CliContext) -> None:
    """Forget the cached session."""
    removed = forget(ctx.slot())
    say("locked" if removed else "no session was cached; locked")


@click.command()
@pass_ctx
def passwd(ctx: CliContext) -> None:
    """Change your passphrase (re-wraps your private key; nothing else changes)."""
    actor = ctx.vault().unlock(ctx.username, acting_passphrase(ctx.username))
    actor.change_passphrase(read_new_secret("new passphrase"))
    forget(ctx.slot())
    say("passphrase changed; cached sessions were ended")


COMMANDS = [unlock, lock, passwd, whoami]

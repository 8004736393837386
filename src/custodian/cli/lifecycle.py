"""Lifecycle: departures, the rotation worklist, contract end, destruction, break-glass.

Adds `tech remove`, `tech role`, `tech reset-passphrase`, `customer offboard` and
`customer report` to the groups of `admin.py`, and the top-level `rotation`,
`maintenance`, `retention`, `purge` and `recover` commands (docs/lifecycle.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import (
    IntegrityError,
    PolicyChange,
    RecoveryCode,
    Role,
    SystemKind,
    UsageError,
    check_handover_target,
    generate_password,
)
from . import FORMATS
from ._context import CliContext
from ._io import emit, read_new_secret, say
from ._rotation_io import rotate_now
from .admin import customer, tech

pass_ctx = click.make_pass_decorator(CliContext)
ROTATION_COLUMNS = ["path", "why", "flagged_at"]


def confirm_typed(expected: str, what: str, yes: bool) -> None:
    """A typed confirmation on the terminal, unless `--yes`. Without a terminal: refuse."""
    if yes:
        return
    try:
        tty = open("/dev/tty", "r+")  # noqa: SIM115  (closed below)
    except OSError:
        raise UsageError(
            f"a typed confirmation is needed ({what}): run this on a terminal, or pass --yes"
        ) from None
    with tty:
        tty.write(f"{what}. Type {expected!r} to confirm: ")
        tty.flush()
        answer = tty.readline().strip()
    if answer != expected:
        raise UsageError("not confirmed: nothing was changed")


# --- technicians ---------------------------------------------------------------------


@tech.command("remove")
@click.argument("name")
@click.option(
    "--assume-compromised",
    is_flag=True,
    help="Put every credential of every customer NAME held on the worklist.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.option("--rotate", is_flag=True, help="Then rotate what NAME saw on the devices.")
@pass_ctx
def tech_remove(
    ctx: CliContext, name: str, assume_compromised: bool, fmt: str, rotate: bool
) -> None:
    """Disable NAME for good: grants revoked (keys rotated), key material destroyed.
    Prints the rotation worklist NAME leaves behind, across customers."""
    entries = ctx.actor().remove_technician(name, assume_compromised=assume_compromised)
    say(
        f"removed {name}: account disabled, key material destroyed;"
        f" {len(entries)} credential(s) to rotate"
    )
    if rotate:
        rotate_now(ctx.actor(), technician=name)
        return
    emit([e.to_dict() for e in entries], ROTATION_COLUMNS, fmt)


@tech.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@pass_ctx
def tech_role(ctx: CliContext, name: str, role: str) -> None:
    """Change NAME's role. Losing the admin role rotates the organization key."""
    ctx.actor().set_role(name, Role(role))
    say(f"{name} is now {role}")


@tech.command("reset-passphrase")
@click.argument("name")
@pass_ctx
def tech_reset_passphrase(ctx: CliContext, name: str) -> None:
    """Give NAME (who lost their passphrase) new keys locked under a new passphrase, read
    from stdin or a hidden prompt. Their grants stay; their cached sessions stop working."""
    actor = ctx.actor()
    rewrapped = actor.reset_passphrase(name, read_new_secret(f"new passphrase for {name}"))
    say(
        f"reset {name}'s passphrase: new keys, {rewrapped} key(s) re-wrapped to them;"
        f" {name}'s cached sessions no longer work"
    )


# --- the worklist and maintenance ----------------------------------------------------


@click.group()
def rotation() -> None:
    """The rotation worklist: credentials to change on the device."""


@rotation.command("list")
@click.option("--customer", "slug", help="Only this customer.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@pass_ctx
def rotation_list(ctx: CliContext, slug: str | None, fmt: str) -> None:
    """Each entry says why it is there; it leaves when a new version is set."""
    rows = [e.to_dict() for e in ctx.actor().rotation_list(slug)]
    emit(rows, ROTATION_COLUMNS, fmt)


@rotation.command("max-age")
@click.argument("kind", required=False, type=click.Choice([k.value for k in SystemKind]))
@click.argument("days", required=False, type=click.IntRange(0, 3650))
@pass_ctx
def rotation_max_age(ctx: CliContext, kind: str | None, days: int | None) -> None:
    """Show the password age per system kind, or set KIND's to DAYS (0: no limit).
    A customer's own (`customer edit --max-age`) comes first."""
    if days is not None and kind is None:
        raise UsageError("give the KIND whose age DAYS sets")
    ages = ctx.actor().secret_policy(None, PolicyChange(kind=kind, max_age_days=days))
    by_kind = ages["max_age_by_kind"]
    assert isinstance(by_kind, dict)
    emit([{"kind": k, "max_age_days": v} for k, v in sorted(by_kind.items())],
         ["kind", "max_age_days"], "table")  # fmt: skip


@click.command()
@pass_ctx
def maintenance(ctx: CliContext) -> None:
    """End lapsed grants (wraps removed, keys rotated); report purges that are due."""
    done = ctx.actor().maintenance()
    say(
        f"{done['lapsed_grants_ended']} lapsed grant(s) ended;"
        f" {done['purges_due']} customer(s) due for purge (`custodian purge`)"
    )


@click.command()
@click.argument("days", type=int, required=False)
@pass_ctx
def retention(ctx: CliContext, days: int | None) -> None:
    """Show, or set, the days an offboarded customer is kept before its purge."""
    click.echo(ctx.actor().retention_days(days))


# --- contract end --------------------------------------------------------------------


@customer.command("offboard")
@click.argument("slug")
@click.option(
    "--handover",
    "kdbx",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the current credentials to this KeePass (KDBX 4) file first.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write them as JSON (plaintext: handle like the KDBX passphrase).",
)
@click.option(
    "--generate-passphrase",
    is_flag=True,
    help="Generate the KDBX passphrase and show it once on stderr.",
)
@click.option("--retention-days", type=int, help="Keep the data this long (default: vault's).")
@click.option(
    "--rotate-before-handover",
    is_flag=True,
    help="Rotate every credential with a target first: the handover holds passwords no"
    " technician has seen.",
)
@pass_ctx
def customer_offboard(
    ctx: CliContext,
    slug: str,
    kdbx: Path | None,
    json_path: Path | None,
    generate_passphrase: bool,
    retention_days: int | None,
    rotate_before_handover: bool,
) -> None:
    """End SLUG's contract: hand over, revoke every grant, schedule the purge.

    The handover decrypts, so it needs a grant like any reveal: grant yourself first
    (`custodian grant YOU SLUG --until 1h`). Its passphrase is read from stdin or a
    hidden prompt, or generated with --generate-passphrase."""
    actor = ctx.actor()
    for target in (kdbx, json_path):
        if target is not None:
            check_handover_target(target)
    if rotate_before_handover:  # a failure stops here (exit 1): nothing handed over yet
        rotate_now(actor, slug=slug, every=True)
    if kdbx is not None:
        if generate_passphrase:
            passphrase = generate_password(None, 32)
        else:
            passphrase = read_new_secret("handover passphrase")
        data = actor.hand_over(slug, kdbx, passphrase)
        say(f"wrote {data.count} credential(s) of {slug} to {kdbx}")
        if generate_passphrase:
            say(f"HANDOVER PASSPHRASE (shown once): {passphrase}")
    if json_path is not None:
        data = actor.hand_over_json(slug, json_path)
        say(f"wrote {data.count} credential(s) of {slug} to {json_path} (plaintext JSON)")
    result = actor.offboard(slug, retention_days=retention_days)
    revoked = ", ".join(result.revoked) or "nobody"
    say(
        f"offboarded {slug}: revoked {revoked}; data destroyed after"
        f" {result.purge_after:%Y-%m-%d %H:%M} UTC"
    )


@customer.command("report")
@click.argument("slug")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def customer_report(ctx: CliContext, slug: str, fmt: str) -> None:
    """What the MSP holds for SLUG (never a secret value); after a purge, the
    certificate of destruction."""
    report = ctx.actor().customer_report(slug)
    if fmt == "json":
        emit([report.to_dict()], [], "json")
        return
    r = report
    click.echo(
        f"{r.slug}: {r.name} ({r.status}); created {r.created_at:%Y-%m-%d}"
        + (f"; offboarded {r.offboarded_at:%Y-%m-%d}" if r.offboarded_at else "")
        + (
            f"; purge after {r.purge_after:%Y-%m-%d %H:%M} UTC"
            if r.purge_after and r.status != "purged"
            else ""
        )
    )
    last = f"{r.last_access:%Y-%m-%d %H:%M} UTC by {r.last_access_by}" if r.last_access else "never"
    click.echo(f"last access to a secret: {last}")
    if r.certificate is not None:
        c = r.certificate
        click.echo("")
        click.echo(
            f"CERTIFICATE OF DESTRUCTION: {c.customer} ({c.name}) crypto-shredded"
            f" {c.shredded_at:%Y-%m-%d %H:%M:%S} UTC by {c.shredded_by},"
            f" access-log event #{c.event_seq}"
        )
        click.echo("destroyed: " + ", ".join(f"{k} {v}" for k, v in sorted(c.destroyed.items())))
    if r.systems:
        click.echo("")
        emit(list(r.systems), ["name", "kind", "host"], "table")
    if r.deleted:
        click.echo("")
        rows = [{**d, "versions": d["destroyed"].get("secret_versions", 0)} for d in r.deleted]
        emit(rows, ["action", "target", "at", "by", "versions"], "table")
    if r.credentials:
        click.echo("")
        columns = ["system", "name", "username", "url", "versions", "last_access"]
        emit(
            [c.to_dict() for c in r.credentials],
            [*columns, "last_access_by", "retired_at"],
            "table",
        )
    if r.access:
        click.echo("")
        emit(
            [a.to_dict() for a in r.access],
            ["technician", "role", "via", "granted_by", "expires_at"],
            "table",
        )


# --- destruction and break-glass -------------------------------------------------------


@click.command()
@click.argument("slug", required=False)
@click.option("--now", is_flag=True, help="Destroy SLUG now, before its date.")
@click.option("--yes", is_flag=True, help="Skip the typed confirmation.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def purge(ctx: CliContext, slug: str | None, now: bool, yes: bool, fmt: str) -> None:
    """Crypto-shred SLUG, or every offboarded customer past its date. Irreversible:
    keys, wraps and payloads are deleted; a certificate of destruction stays."""
    if now and slug is None:
        raise UsageError("--now needs a customer: custodian purge SLUG --now")
    actor = ctx.actor()
    if slug is not None:
        confirm_typed(slug, f"purging destroys every key and secret of {slug} for good", yes)
    elif not yes and sys.stdin.isatty():
        confirm_typed("purge", "purging destroys every customer past its retention date", yes)
    certs = actor.purge(slug, now=now)
    for c in certs:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(c.destroyed.items()))
        say(f"purged {c.customer}: {counts}")
    if not certs:
        say("no customer is due for purge")
    emit([c.to_dict() for c in certs], ["customer", "shredded_at", "shredded_by", "event_seq"], fmt)


@click.command()
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Skip the typed confirmation.")
@pass_ctx
def recover(ctx: CliContext, slug: str, yes: bool) -> None:
    """Break-glass: with the recovery code (stdin or hidden prompt), regain access to
    SLUG. Recorded in the log as a `recover` event."""
    actor = ctx.actor()
    try:
        code = RecoveryCode.parse(read_new_secret("recovery code", confirm=False))
    except IntegrityError:
        raise UsageError("the recovery code is malformed (groups of letters A-Z and 2-7)") from None
    confirm_typed(slug, f"break-glass access to {slug} with the recovery code", yes)
    versions = actor.recover(slug, code)
    say(
        f"RECOVERED: {actor.username} now holds {slug}'s keys ({versions} version(s)) and a"
        " grant; this is recorded in the access log"
    )


COMMANDS = [rotation, maintenance, retention, purge, recover]

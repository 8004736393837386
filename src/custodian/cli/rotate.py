"""Rotation on the device: `rotate`, `rotation run|resume|verify`, `system edit` and the
target options of `system add` (docs/rotation.md)."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import click

from .. import SystemEdit, SystemKind, UsageError, parse_span
from . import FORMATS
from ._context import CliContext
from ._io import say
from ._rotation_io import finish, progress, target_options, trust_host_key_of
from .admin import system
from .lifecycle import rotation

pass_ctx = click.make_pass_decorator(CliContext)


@system.command("edit")
@click.argument("path", metavar="SLUG/SYSTEM")
@click.option("--kind", type=click.Choice([k.value for k in SystemKind]))
@click.option("--notes", help='Notes ("" clears them).')
@target_options
@pass_ctx
def system_edit(
    ctx: CliContext,
    /,
    path: str,
    kind: str | None,
    notes: str | None,
    trust_host_key: bool,
    yes: bool,
    **given: Any,
) -> None:
    """Change a system's kind, notes, host, port, or how rotation reaches it ("" clears a
    setting)."""
    actor = ctx.actor()
    if kind is not None or notes is not None:
        say(f"edited {actor.edit(path, SystemEdit(kind=kind, notes=notes))}")
    rotator = actor.rotator()
    if any(v is not None for v in given.values()):
        rotator.edit_system(path, rotator.Target(**given))
        say(f"changed system {path}")
    if trust_host_key:
        trust_host_key_of(ctx, path, yes)


@click.command("rotate")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--reason", help="Why (the customer may require one).")
@pass_ctx
def rotate(ctx: CliContext, path: str, reason: str | None) -> None:
    """Change PATH's password on the device, verify it, then make it current."""
    result = ctx.actor().rotator().rotate(path, reason=reason, progress=progress(1))
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    say(f"rotated {result.path}: version {result.version} ({result.seconds:.1f} s)")


@rotation.command("run")
@click.option("--customer", "slug", help="Only this customer.")
@click.option(
    "--cause",
    type=click.Choice(["seen", "assume-compromised", "age"]),
    help="Only worklist entries of this cause; `age`: credentials not changed for"
    " --older-than, worklist or not.",
)
@click.option("--older-than", default="90d", show_default=True, help="With --cause age.")
@click.option("--technician", help="Only what this technician saw.")
@click.option("--reason", help="Recorded with every rotation.")
@click.option("--dry-run", is_flag=True, help="List what would be rotated; change nothing.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The results as JSON.")
@pass_ctx
def rotation_run(
    ctx: CliContext,
    slug: str | None,
    cause: str | None,
    older_than: str,
    technician: str | None,
    reason: str | None,
    dry_run: bool,
    concurrency: int,
    as_json: bool,
) -> None:
    """Rotate every credential on the worklist, on its device."""
    rotator = ctx.actor().rotator()
    age = parse_span(older_than)
    if age is None:
        raise UsageError(f"--older-than {older_than[:20]!r}: use a span such as 90d or 12w")
    total = None if dry_run or cause == "age" else len(ctx.actor().rotation_list(slug))
    results = rotator.run(
        slug=slug,
        cause=cause,
        older_than=age,
        technician=technician,
        reason=reason,
        dry_run=dry_run,
        concurrency=concurrency,
        progress=progress(total),
    )
    finish(results, "json" if as_json else "table")


@rotation.command("resume")
@click.option("--customer", "slug", help="Only this customer.")
@click.option(
    "--grace",
    default="5m",
    show_default=True,
    help="Leave pending rotations younger than this (they may still be running).",
)
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def rotation_resume(ctx: CliContext, slug: str | None, grace: str, fmt: str) -> None:
    """Settle rotations a crash left pending: ask each device which secret it accepts."""
    span = timedelta(0) if grace.strip() in ("0", "0s") else parse_span(grace)
    if span is None:
        raise UsageError(f"--grace {grace[:20]!r}: use 0, or a span such as 30m, 2h")
    finish(ctx.actor().rotator().resume(slug=slug, grace=span), fmt)


@rotation.command("verify")
@click.option("--customer", "slug", help="Only this customer.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def rotation_verify(ctx: CliContext, slug: str | None, fmt: str) -> None:
    """Log in with every stored secret that has a target; `drift`: changed elsewhere."""
    finish(ctx.actor().rotator().verify(slug=slug, progress=progress()), fmt)


COMMANDS = [rotate]

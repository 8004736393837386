"""`custodian import kdbx|csv`: bring existing passwords in, in one transaction."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .. import ImportReport, Parsed, Rule, clean_name, parse_kind_map, read_csv, read_kdbx
from . import FORMATS
from ._context import CliContext
from ._io import emit, read_new_secret, say

pass_ctx = click.make_pass_decorator(CliContext)
FC = TypeVar("FC", bound=Callable[..., Any])


def _rule_options(f: FC) -> FC:
    """Options every importer shares."""
    for option in reversed(
        [
            click.option(
                "--customer", "customer", metavar="SLUG", help="Put everything under this customer."
            ),
            click.option(
                "--map",
                "map_",
                type=click.Choice(["groups"]),
                help="groups: the top group (folder) is the customer, the rest the system.",
            ),
            click.option(
                "--system",
                "system",
                default="general",
                show_default=True,
                help="System for items that name none.",
            ),
            click.option(
                "--kind-map",
                "kind_map",
                multiple=True,
                metavar="GLOB=KIND",
                help="Kind of systems whose name matches GLOB (before guessing).",
            ),
            click.option(
                "--dedupe",
                is_flag=True,
                help="Number repeated names (`admin (2)`) instead of refusing them.",
            ),
            click.option("--dry-run", is_flag=True, help="Show what would change; write nothing."),
            click.option("--format", "fmt", type=FORMATS, default="table"),
        ]
    ):
        f = option(f)
    return f


def _rule(
    customer: str | None, map_: str | None, system: str, kind_map: tuple[str, ...], dedupe: bool
) -> Rule:
    if customer and map_:
        raise click.UsageError("give --customer or --map groups, not both")
    return Rule(
        customer=customer,
        map_groups=map_ == "groups",
        kind_map=parse_kind_map(kind_map),
        default_system=clean_name(system, "system", "--system"),
        dedupe=dedupe,
    )


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        sys.stderr.write(f"\rimporting {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _run(ctx: CliContext, parsed: Parsed, source: str, dry_run: bool, fmt: str) -> None:
    for note in parsed.skipped:
        say(f"skipped: {note}")
    progress = _progress if sys.stderr.isatty() and not dry_run else None
    report = ctx.actor().import_items(
        parsed.items, source=source, dry_run=dry_run, progress=progress
    )
    if dry_run or fmt == "json":
        emit(report.rows(), ["action", "target"], fmt)
    say(_summary(report, len(parsed.skipped)))


def _summary(r: ImportReport, skipped: int) -> str:
    verb = "would import" if r.dry_run else "imported"
    text = (
        f"{verb}: {len(r.created)} created, {len(r.updated)} updated,"
        f" {len(r.unchanged)} unchanged, {skipped} skipped;"
        f" {len(r.customers)} new customers, {len(r.systems)} new systems"
    )
    existing = len(r.updated) + len(r.unchanged)
    if existing > r.compared:
        text += (
            f" ({existing - r.compared} existing credentials could not be compared"
            " without a grant: they got a new version)"
        )
    return text + (" (dry run: nothing written)" if r.dry_run else "")


@click.group("import")
def import_() -> None:
    """Import from KeePass or CSV/JSON exports (one transaction; --dry-run first)."""


@import_.command("kdbx")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--keyfile", type=click.Path(dir_okay=False), help="The database's key file.")
@click.option("--no-passphrase", is_flag=True, help="The database has a key file only.")
@_rule_options
@pass_ctx
def import_kdbx(
    ctx: CliContext,
    file: str,
    keyfile: str | None,
    no_passphrase: bool,
    customer: str | None,
    map_: str | None,
    system: str,
    kind_map: tuple[str, ...],
    dedupe: bool,
    dry_run: bool,
    fmt: str,
) -> None:
    """Import a KeePass database; its passphrase is read from stdin or a hidden prompt."""
    rule = _rule(customer, map_, system, kind_map, dedupe)
    if not customer and not map_:
        raise click.UsageError("give --customer SLUG or --map groups")
    passphrase = None if no_passphrase else read_new_secret(f"passphrase of {file}", confirm=False)
    parsed = read_kdbx(file, passphrase, rule, keyfile=keyfile)
    _run(ctx, parsed, file, dry_run, fmt)


@import_.command("csv")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--columns",
    metavar="TARGET=HEADER,...",
    help="Map columns: customer, system, name, username, password, url, notes, otp,"
    " kind, host; other targets become extra secret fields.",
)
@click.option(
    "--preset",
    type=click.Choice(["bitwarden", "bitwarden-json", "hudu", "itglue"]),
    help="A known export layout (bitwarden-json reads Bitwarden's JSON export).",
)
@click.option("--encoding", default="utf-8-sig", show_default=True)
@_rule_options
@pass_ctx
def import_csv(
    ctx: CliContext,
    file: str,
    columns: str | None,
    preset: str | None,
    encoding: str,
    customer: str | None,
    map_: str | None,
    system: str,
    kind_map: tuple[str, ...],
    dedupe: bool,
    dry_run: bool,
    fmt: str,
) -> None:
    """Import a CSV export (or Bitwarden's JSON with --preset bitwarden-json)."""
    rule = _rule(customer, map_, system, kind_map, dedupe)
    parsed = read_csv(file, rule, columns=columns, preset=preset, encoding=encoding)
    _run(ctx, parsed, file, dry_run, fmt)


COMMANDS = [import_]

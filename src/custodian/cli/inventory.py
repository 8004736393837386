"""Everyday changes: `cred rename|move|edit|show|retire|delete`, `system rename|edit|delete`,
and `field-limit`, the most one secret field may hold.

The commands join the `cred` and `system` groups (creds.py, admin.py). Output for
scripts on stdout (`cred show`); messages on stderr.
"""

from __future__ import annotations

import sys

import click

from .. import CredentialEdit, SystemEdit, UsageError
from . import FORMATS
from ._context import CliContext
from ._io import emit, say, size_text
from .admin import system
from .creds import cred

pass_ctx = click.make_pass_decorator(CliContext)


@cred.command("rename")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.argument("new_name", metavar="NEW_NAME")
@pass_ctx
def cred_rename(ctx: CliContext, path: str, new_name: str) -> None:
    """Rename a credential (its id, versions and log entries stay with it)."""
    say(f"renamed {path} to {ctx.reader().edit(path, CredentialEdit(name=new_name))}")


@cred.command("move")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.argument("system_name", metavar="SYSTEM")
@pass_ctx
def cred_move(ctx: CliContext, path: str, system_name: str) -> None:
    """Move a credential to another SYSTEM of the same customer."""
    moved = ctx.reader().edit(path, CredentialEdit(system=system_name))
    say(f"moved {path} to {moved}")


@cred.command("edit")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--username", help='The account name ("" clears it).')
@click.option("--url", help='A URL ("" clears it).')
@click.option("--notes", help='Notes ("" clears them).')
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for more; replaces the tags.")
@click.option("--no-tags", is_flag=True, help="Remove every tag.")
@pass_ctx
def cred_edit(
    ctx: CliContext,
    path: str,
    username: str | None,
    url: str | None,
    notes: str | None,
    tags: tuple[str, ...],
    no_tags: bool,
) -> None:
    """Change a credential's metadata (never its secret: `cred set` does that)."""
    if tags and no_tags:
        raise UsageError("--tag and --no-tags exclude each other")
    change = CredentialEdit(
        username=username, url=url, notes=notes, tags=() if no_tags else (tags or None)
    )
    say(f"edited {ctx.reader().edit(path, change)}")


@cred.command("show")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def cred_show(ctx: CliContext, path: str, fmt: str) -> None:
    """A credential's metadata, field names, versions and who can open it; no value."""
    detail = ctx.reader().show_credential(path)
    if fmt == "json":
        emit([detail.to_dict()], [], "json")
        return
    c = detail.credential
    lines = [
        ("path", c.path),
        ("system", f"{c.system} ({c.system_kind})"),
        ("host", (c.host or "") + (f":{detail.port}" if detail.port else "")),
        ("username", c.username or ""),
        ("url", c.url or ""),
        ("tags", ", ".join(detail.tags)),
        ("fields", ", ".join(c.fields)),
        ("version", str(c.version)),
        ("notes", detail.notes or ""),
    ]
    if c.retired_at is not None:
        lines.insert(1, ("retired", f"{c.retired_at:%Y-%m-%d %H:%M} UTC"))
    for label, value in lines:
        click.echo(f"{label + ':':<10}{value}".rstrip())
    click.echo("")
    emit(
        [v.to_dict() for v in detail.versions],
        ["version", "created_at", "created_by", "fields", "key_version"],
        "table",
    )
    click.echo("")
    emit([a.to_dict() for a in detail.access], ["technician", "role", "how", "expires_at"], "table")


@cred.command("retire")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--undo", is_flag=True, help="Make a retired credential active again.")
@pass_ctx
def cred_retire(ctx: CliContext, path: str, undo: bool) -> None:
    """Retire a credential whose device is gone: kept with its versions and log (and
    still revealable), but out of `cred list` and the rotation worklist, and no new
    version until --undo."""
    since = ctx.actor().retire_credential(path, undo=undo)
    say(f"un-retired {path}" if since is None else f"retired {path} ({since:%Y-%m-%d %H:%M} UTC)")


@cred.command("delete")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def cred_delete(ctx: CliContext, path: str, yes: bool) -> None:
    """Delete a credential: every version destroyed (admins; logged, and listed by
    `customer report`)."""
    _confirm(path, yes)
    _deleted(path, ctx.reader().delete(path))


@system.command("rename")
@click.argument("path", metavar="SLUG/SYSTEM")
@click.argument("new_name", metavar="NEW_NAME")
@pass_ctx
def system_rename(ctx: CliContext, path: str, new_name: str) -> None:
    """Rename a system; its credentials follow it."""
    say(f"renamed {path} to {ctx.reader().edit(path, SystemEdit(name=new_name))}")


@system.command("delete")
@click.argument("path", metavar="SLUG/SYSTEM")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def system_delete(ctx: CliContext, path: str, yes: bool) -> None:
    """Delete a system and every credential in it, every version destroyed (admins)."""
    _confirm(path, yes)
    _deleted(path, ctx.reader().delete(path))


def _confirm(path: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"deleting {path} destroys its secrets for good: confirm with --yes")
    click.confirm(f"Delete {path} and destroy every version of its secrets?", abort=True)


def _deleted(path: str, counts: dict[str, int]) -> None:
    say(
        f"deleted {path}: {counts['credentials']} credential(s),"
        f" {counts['secret_versions']} version(s) destroyed"
    )


_UNITS = {"mib": 1024 * 1024, "kib": 1024, "b": 1, "": 1}


def parse_size(text: str) -> int:
    """`2MiB`, `512 KiB`, `4096` (bytes): a size as `field-limit` takes it."""
    value = text.strip().replace(" ", "").lower()
    number = value.rstrip("mkib")
    unit = value[len(number) :]
    if not number.isdigit() or len(number) > 11 or unit not in _UNITS:
        raise UsageError(f"not a size: {text[:40]!r} (say 1MiB, 512KiB or a number of bytes)")
    return int(number) * _UNITS[unit]


@click.command("field-limit")
@click.argument("size", required=False)
@pass_ctx
def field_limit(ctx: CliContext, size: str | None) -> None:
    """Show, or set (admins), the most one secret field may hold: SIZE as 1MiB, 512KiB
    or bytes. One limit for every write path (cred add|set, --file, import)."""
    limit = ctx.actor().field_limit(None if size is None else parse_size(size))
    click.echo(size_text(limit))


# The commands above join the `cred` and `system` groups; `field-limit` stands alone.
COMMANDS: list[click.Command] = [field_limit]

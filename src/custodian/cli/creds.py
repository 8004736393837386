"""Credentials: add, set, list, history, and `get`, the reveal."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import click

from .. import (
    PRIMARY_FIELD,
    SecretPayload,
    SystemKind,
    UsageError,
    check_out_target,
    generate_password,
    write_private_file,
)
from . import FORMATS
from ._context import CliContext
from ._files import read_file_secret
from ._io import emit, read_payload, say

pass_ctx = click.make_pass_decorator(CliContext)


def _payload(
    field: str, fields_json: bool, generate: bool, kind: str | None, file: Path | None = None
) -> SecretPayload:
    if sum((generate, fields_json, file is not None)) > 1:
        raise click.UsageError("--generate, --fields-json and --file exclude each other")
    if file is not None:
        return SecretPayload({field: read_file_secret(file)})
    if generate:
        return SecretPayload({field: generate_password(kind)})
    return read_payload(field, fields_json)


def _kind_of(ctx: CliContext, path: str) -> str | None:
    slug, system_name = path.split("/")[:2]
    for s in ctx.actor().show_customer(slug).systems:
        if s.name == system_name:
            return s.kind
    return None


@click.group()
def cred() -> None:
    """Credentials: add, set, list, history, show, rename, move, edit, retire, delete."""


@cred.command("add")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--username", help="The account name on the system.")
@click.option("--url")
@click.option("--notes")
@click.option("--generate", is_flag=True, help="Generate a strong secret for the system's kind.")
@click.option(
    "--field",
    default=PRIMARY_FIELD,
    show_default=True,
    help="Which field the value read from stdin sets.",
)
@click.option("--fields-json", is_flag=True, help="Read all fields as a JSON object from stdin.")
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the field from this file, byte for byte (a key, a certificate).",
)
@pass_ctx
def cred_add(
    ctx: CliContext,
    path: str,
    username: str | None,
    url: str | None,
    notes: str | None,
    generate: bool,
    field: str,
    fields_json: bool,
    file: Path | None,
) -> None:
    """Add a credential; its secret is read from stdin, a hidden prompt or --file."""
    remote = ctx.server is not None  # the system's kind is not read through a server yet
    kind = _kind_of(ctx, path) if generate and path.count("/") == 2 and not remote else None
    payload = _payload(field, fields_json, generate, kind, file)
    ctx.reader().add_credential(path, payload, username=username, url=url, notes=notes)
    say(f"added {path}" + (" with a generated secret" if generate else ""))


@cred.command("set")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--generate", is_flag=True, help="Generate a strong secret for the system's kind.")
@click.option("--field", default=PRIMARY_FIELD, show_default=True)
@click.option("--fields-json", is_flag=True, help="Read fields as a JSON object from stdin.")
@click.option("--replace", is_flag=True, help="Drop fields not given instead of keeping them.")
@click.option(
    "--if-version",
    "if_version",
    type=click.IntRange(0),
    metavar="N",
    help="Only if the current version is N; else exit 7 (conflict), nothing written.",
)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the field from this file, byte for byte (a key, a certificate).",
)
@pass_ctx
def cred_set(
    ctx: CliContext,
    path: str,
    generate: bool,
    field: str,
    fields_json: bool,
    replace: bool,
    if_version: int | None,
    file: Path | None,
) -> None:
    """Store a new version of a credential's secret (stdin, a hidden prompt, or --file)."""
    remote = ctx.server is not None  # the system's kind is not read through a server yet
    kind = _kind_of(ctx, path) if generate and path.count("/") == 2 and not remote else None
    payload = _payload(field, fields_json, generate, kind, file)
    version = ctx.reader().set_secret(
        path, payload, keep_other_fields=not replace, expected_version=if_version
    )
    say(f"stored version {version} of {path}")


@cred.command("list")
@click.argument("slug", required=False)
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option("--retired", "only_retired", is_flag=True, help="Only retired credentials.")
@click.option("--all", "every", is_flag=True, help="Retired credentials too.")
@pass_ctx
def cred_list(ctx: CliContext, slug: str | None, fmt: str, only_retired: bool, every: bool) -> None:
    """Credentials you may see (metadata only, never secrets); retired ones
    (`cred retire`) only with --retired or --all."""
    if only_retired and every:
        raise click.UsageError("--retired and --all exclude each other")
    retired = "only" if only_retired else "include" if every else "hide"
    rows = [c.to_dict() for c in ctx.reader().list_credentials(slug, retired=retired)]
    columns = ["path", "system_kind", "host", "username", "version", "fields"]
    emit(rows, columns + (["retired_at"] if retired != "hide" else []), fmt)


@cred.command("history")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--format", "fmt", type=FORMATS, default="table")
@pass_ctx
def cred_history(ctx: CliContext, path: str, fmt: str) -> None:
    rows = [v.to_dict() for v in ctx.reader().history(path)]
    emit(rows, ["version", "created_at", "created_by", "fields", "key_version"], fmt)


@click.command()
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--field", default=PRIMARY_FIELD, show_default=True)
@click.option("--reason", help="Why (a ticket number); some customers require one.")
@click.option("--version", "version", type=int, help="An older version.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the field to this file (mode 0600) instead of stdout: a file field's bytes.",
)
@click.option("--force", is_flag=True, help="With --out: replace an existing file.")
@pass_ctx
def get(
    ctx: CliContext,
    path: str,
    field: str,
    reason: str | None,
    version: int | None,
    out: Path | None,
    force: bool,
) -> None:
    """Print one secret value (or username, url, host, notes) and a newline on stdout;
    the reveal is logged first. A file field needs --out."""
    if out is not None:
        check_out_target(out, force)
    elif force:
        raise click.UsageError("--force goes with --out")
    secret = ctx.reader().reveal(path, field=field, reason=reason, version=version)
    if out is not None:
        write_private_file(out, secret.reveal_bytes(), force)
        say(f"wrote {field} of {path} to {out}")
    elif secret.is_file:
        raise click.UsageError(f"the field {field!r} is a file: write it with --out FILE")
    else:
        click.echo(secret.reveal())


@click.command("ssh-add")
@click.argument("path", metavar="SLUG/SYSTEM/NAME")
@click.option("--field", default="ssh-key", show_default=True, help="The private key's field.")
@click.option("--reason", help="Why (a ticket number); some customers require one.")
@click.option("--lifetime", help="Passed to ssh-add -t: how long the agent keeps the key.")
@pass_ctx
def ssh_add(
    ctx: CliContext, path: str, field: str, reason: str | None, lifetime: str | None
) -> None:
    """Hand a private key to the running ssh-agent (`ssh-add -`, over stdin: never a
    temporary file). Logged as a reveal."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        raise UsageError("no ssh-agent: SSH_AUTH_SOCK is not set (run `eval $(ssh-agent)`)")
    if shutil.which("ssh-add") is None:
        raise UsageError("ssh-add is not installed")
    secret = ctx.reader().reveal(path, field=field, reason=reason)
    key = secret.reveal_bytes()
    argv = ["ssh-add", *(["-t", lifetime] if lifetime else []), "-"]
    done = subprocess.run(argv, input=key if key.endswith(b"\n") else key + b"\n",
                          capture_output=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"ssh-add refused the key: {message[-1] if message else 'no reason'}")
    say(f"added the key of {path} to the ssh-agent")


@click.command()
@click.option(
    "--kind",
    type=click.Choice([k.value for k in SystemKind]),
    help="Shape it by the kind's policy (docs/import-backup.md, generate.toml).",
)
@click.option("--length", type=click.IntRange(8, 256), help="Characters (passwords).")
@click.option(
    "--passphrase/--password",
    "passphrase",
    default=None,
    help="Pronounceable words instead of characters (default: the kind's policy).",
)
@click.option("--words", type=click.IntRange(3, 20), help="Words (passphrases).")
@click.option("--username", help="An account name the secret must not contain.")
def gen(
    kind: str | None,
    length: int | None,
    passphrase: bool | None,
    words: int | None,
    username: str | None,
) -> None:
    """Print a generated secret without storing it."""
    click.echo(
        generate_password(kind, length, passphrase=passphrase, words=words, username=username)
    )


COMMANDS = [cred, get, gen, ssh_add]

"""What the rotation commands print: a progress line on a terminal (nothing when stderr
is piped), then a summary table (or JSON) on stdout and a count on stderr."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from .. import ActorSession, CustodianError, SystemKind, UsageError
from ._context import CliContext
from ._io import emit, say

F = TypeVar("F", bound=Callable[..., Any])
COLUMNS = ["path", "outcome", "version", "connector", "seconds", "error"]
BAD = frozenset({"failed", "unsettled", "drift", "unreachable"})


def progress(total: int | None = None) -> Callable[[str, str], None] | None:
    """A one-line progress display on a terminal's stderr; None when stderr is piped."""
    if not sys.stderr.isatty():
        return None
    done = 0
    final = {"verified", "failed", "ok", "drift", "unreachable", "skipped"}

    def show(path: str, step: str) -> None:
        nonlocal done
        done += step in final
        count = f"[{done}/{total}] " if total else f"[{done}] "
        sys.stderr.write(f"\r\033[K{count}{path}: {step}")
        sys.stderr.flush()

    return show


def finish(results: Sequence[Any], fmt: str) -> None:
    """Print the results; exit 1 when any failed, stayed unsettled or drifted."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    rows = [r.to_dict() | {"seconds": round(r.seconds, 2)} for r in results]
    emit(rows, COLUMNS, "json" if fmt == "json" else "table")
    counts = Counter(r.outcome for r in results)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    if any(r.outcome in BAD for r in results):  # the one stderr line of a failure
        raise CustodianError(f"{summary} (see the table)")
    say(summary or "nothing to do")


def rotate_now(
    actor: ActorSession,
    *,
    slug: str | None = None,
    technician: str | None = None,
    every: bool = False,
) -> None:
    """`revoke --rotate`, `tech remove --rotate`, `offboard --rotate-before-handover`:
    rotate on the devices now, print the results (exit 1 if any failed)."""
    rotator = actor.rotator()
    total = len(actor.rotation_list(slug)) if not every else None
    results = rotator.run(
        slug=slug,
        technician=None if every else technician,
        every=every,
        progress=progress(total),
    )
    finish(results, "table")


# --- system targets (system add, system edit) -------------------------------------------


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} needs a confirmation: run this on a terminal, or pass --yes")
    if not click.confirm(question, err=True):
        raise UsageError("not confirmed: the host key was not stored")


def target_options(command: F) -> F:
    """The options that say how rotation reaches a system."""
    for option in reversed(
        [
            click.option("--host", help="Host name or address."),
            click.option("--port", type=click.IntRange(1, 65535), help="Default: the connector's."),
            click.option("--connector", help="Default: the kind's (linux: ssh, ...)."),
            click.option("--host-key", help="The SSH host key: 'ssh-ed25519 AAAA...'."),
            click.option(
                "--trust-host-key",
                is_flag=True,
                help="Fetch the host key now, show its fingerprint, store it on confirmation.",
            ),
            click.option("--ca-file", help="LDAPS: the CA certificate file to trust."),
            click.option("--tls-name", help="LDAPS: the name its certificate carries."),
            click.option(
                "--rotation-account",
                metavar="SYSTEM/NAME",
                help="A credential of the same customer that changes the others' passwords.",
            ),
            click.option("--yes", is_flag=True, help="Store a fetched host key unasked."),
        ]
    ):
        command = option(command)
    return command


def trust_host_key_of(ctx: CliContext, path: str, yes: bool) -> None:
    rotator = ctx.actor().rotator()
    found = rotator.scan_host_key(path)
    say(f"{path} presents {found.key.split()[0]} {found.fingerprint}")
    _confirm(f"store this host key for {path}?", yes)
    rotator.edit_system(path, rotator.Target(host_key=found.key))
    say(f"stored the host key of {path}")


def add_system(
    ctx: CliContext,
    path: str,
    kind: str,
    notes: str | None,
    trust_host_key: bool,
    yes: bool,
    given: dict[str, Any],
) -> None:
    """`system add` with its target options (admin.py calls this)."""
    if ctx.server is not None:  # the server checks and stores the settings itself
        if trust_host_key or given.get("ca_file"):
            raise UsageError(
                "--trust-host-key and --ca-file do not work through a server yet (they"
                " read this machine's network and files): give --host-key, or use --db"
            )
        settings = {k: v for k, v in given.items() if v is not None}
        ctx.member().add_system(path, kind, notes=notes, **settings)
        say(f"added system {path}")
        return
    rotator = ctx.actor().rotator()
    rotator.add_system(path, SystemKind(kind), rotator.Target(**given), notes=notes)
    say(f"added system {path}")
    if trust_host_key:
        trust_host_key_of(ctx, path, yes)

"""The access log: review, follow, report, alerts, verify and checkpoint."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from .. import AlertPolicy, EventFilter, IntegrityError, UsageError, parse_time, utcnow
from ._context import CliContext
from ._io import _cell, emit, print_table, say
from ._log_rows import EventWriter, columns_for, event_row

pass_ctx = click.make_pass_decorator(CliContext)

FORMATS = click.Choice(["table", "json", "ndjson", "csv"])


def _when(text: str | None) -> datetime | None:
    return parse_time(text, utcnow(), future=False) if text else None


@click.group(invoke_without_command=True)
@click.option("--customer", help="Only events of this customer (slug).")
@click.option("--tech", "--technician", "tech", help="Only events by or about this technician.")
@click.option("--credential", metavar="SLUG/SYSTEM/NAME", help="Only events of this credential.")
@click.option("--action", "actions", multiple=True, help="Only this action (repeatable).")
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    type=click.Choice(["ok", "denied", "failed", "integrity"]),
    help="Only this outcome (repeatable).",
)
@click.option("--since", help="From: ISO date/time, or a span such as 24h or 7d.")
@click.option("--until", help="Before: ISO date/time, or a span such as 24h or 7d.")
@click.option("--reason", help="Only events whose reason contains this text.")
@click.option("--limit", type=click.IntRange(1), help="Only the newest N events.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@click.option(
    "--wide", is_flag=True, help="Table: also seq, customer and detail (key fingerprints)."
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events (Ctrl-C stops).")
@click.option("--follow-for", type=click.FloatRange(0), help="Stop following after N seconds.")
@click.option("--max-events", type=click.IntRange(1), help="Stop after printing N new events.")
@click.option(
    "--poll",
    type=click.FloatRange(0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls while following.",
)
@click.pass_context
def log(
    click_ctx: click.Context,
    customer: str | None,
    tech: str | None,
    credential: str | None,
    actions: tuple[str, ...],
    outcomes: tuple[str, ...],
    since: str | None,
    until: str | None,
    reason: str | None,
    limit: int | None,
    fmt: str,
    wide: bool,
    follow: bool,
    follow_for: float | None,
    max_events: int | None,
    poll: float,
) -> None:
    """Show the access log (admins and auditors see all; technicians their own)."""
    if click_ctx.invoked_subcommand is not None:
        return
    actor = click_ctx.obj.reader()  # through a server: reviewed over events verified here
    filters: dict[str, Any] = dict(
        customer=customer,
        technician=tech,
        credential=credential,
        actions=actions,
        outcomes=outcomes,
        since=_when(since),
        until=_when(until),
        reason=reason,
    )
    columns = columns_for(fmt, wide)
    if not follow:
        if limit is not None or fmt == "table":
            events = actor.events(limit=limit, **filters)
            emit([event_row(e, fmt) for e in events], columns, fmt)
            return
        found = actor.iter_events(EventFilter(**filters))  # through a server: all verified
        writer = EventWriter(fmt, columns)
        writer.start()
        for e in found:
            writer.row(event_row(e, fmt))
        writer.end()
        return
    _follow(actor, filters, fmt, columns, limit, follow_for, max_events, poll)


def _follow(
    actor: Any,
    filters: dict[str, Any],
    fmt: str,
    columns: list[str],
    limit: int | None,
    follow_for: float | None,
    max_events: int | None,
    poll: float,
) -> None:
    if fmt == "json":
        raise UsageError("--follow prints one event per line: use --format ndjson, csv or table")
    writer = EventWriter(fmt, columns)
    writer.start()
    last = actor.last_seq()
    for e in actor.events(limit=limit or 10, **filters):
        writer.row(event_row(e, fmt))
        last = max(last, e.seq)
    deadline = time.monotonic() + follow_for if follow_for is not None else None
    printed = 0
    try:
        while True:
            for e in actor.events(after=last, **filters):
                writer.row(event_row(e, fmt))
                last, printed = e.seq, printed + 1
                if max_events is not None and printed >= max_events:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(poll)
    except KeyboardInterrupt:
        return


# --- thresholds -------------------------------------------------------------------------------


def _policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Alert thresholds; each overrides the `[alerts]` table of config.toml (userconfig)."""
    options = [
        click.option(
            "--burst-count",
            type=click.IntRange(1),
            show_default="20",
            help="Flag more than N reveals ...",
        ),
        click.option(
            "--burst-minutes",
            type=click.IntRange(1),
            show_default="10",
            help="... within M minutes.",
        ),
        click.option(
            "--baseline-days",
            type=click.IntRange(1),
            show_default="30",
            help="Usual customers: those revealed in the previous N days.",
        ),
        click.option(
            "--work-hours", show_default="07-19", help="Working hours, local time: START-END."
        ),
        click.option(
            "--work-days",
            show_default="mon-fri",
            help="Working days: a range (mon-fri) or a list (mon,tue,sat).",
        ),
        click.option("--tz", show_default="UTC", help="Time zone of the hours."),
        click.option(
            "--denied-count",
            type=click.IntRange(1),
            show_default="3",
            help="Flag N denied or failed attempts ...",
        ),
        click.option(
            "--denied-minutes",
            type=click.IntRange(1),
            show_default="15",
            help="... within M minutes.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _policy(**options: Any) -> Any:
    """The thresholds: built-in defaults, then config.toml's [alerts], then the options."""
    given = {("timezone" if k == "tz" else k): v for k, v in options.items() if v is not None}
    return AlertPolicy.configured().with_settings(
        given, lambda key: "--tz" if key == "timezone" else "--" + key.replace("_", "-")
    )


# --- report and alerts --------------------------------------------------------------------------

ALERT_COLUMNS = ["kind", "technician", "at", "customer", "count", "detail"]
USE_COLUMNS = ["path", "technician", "reveals", "denied", "last", "reasons"]
TOTAL_COLUMNS = ["technician", "reveals", "denied", "credentials", "last"]


@log.command("report")
@click.option("--customer", required=True, help="The customer (slug).")
@click.option("--since", help="From: ISO date/time, or a span such as 30d.")
@click.option("--until", help="Before: ISO date/time, or a span.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text")
@_policy_options
@pass_ctx
def report(
    ctx: CliContext,
    /,
    customer: str,
    since: str | None,
    until: str | None,
    fmt: str,
    **thresholds: Any,
) -> None:
    """Who revealed which credential of a customer, how often, last when, and why."""
    rep = ctx.reader().report(
        customer, since=_when(since), until=_when(until), policy=_policy(**thresholds)
    )
    uses = [_jsonable(u.to_dict()) for u in rep.credentials]
    totals = [_jsonable(t.to_dict()) for t in rep.technicians]
    alerts = [_jsonable(a.to_dict()) for a in rep.alerts]
    if fmt == "json":
        out = _jsonable(rep.to_dict())
        out.update(credentials=uses, technicians=totals, alerts=alerts)
        click.echo(json.dumps(out, indent=2, default=str))
        return
    if fmt == "csv":
        writer = EventWriter(
            "csv", ["section", *USE_COLUMNS, "credentials", "kind", "count", "detail", "at"]
        )
        writer.start()
        for section, rows in (("credential", uses), ("technician", totals), ("alert", alerts)):
            for row in rows:
                writer.row({"section": section, **row})
        return
    span = f"{_date(rep.since) or 'the beginning'} to {_date(rep.until) or 'now'}"
    click.echo(f"Access report for {rep.customer} ({rep.name}), {span}")
    click.echo("")
    click.echo("Credentials")
    print_table([[_cell(u[c]) for c in USE_COLUMNS] for u in uses], USE_COLUMNS)
    click.echo("")
    click.echo("Technicians")
    print_table([[_cell(t[c]) for c in TOTAL_COLUMNS] for t in totals], TOTAL_COLUMNS)
    click.echo("")
    click.echo(f"Alerts ({len(alerts)})")
    if alerts:
        print_table([[_cell(a[c]) for c in ALERT_COLUMNS] for a in alerts], ALERT_COLUMNS)


@log.command("alerts")
@click.option("--since", default="7d", show_default=True, help="From: ISO date/time or span.")
@click.option("--until", help="Before: ISO date/time, or a span.")
@click.option("--format", "fmt", type=FORMATS, default="table")
@_policy_options
@pass_ctx
def alerts(
    ctx: CliContext, /, since: str | None, until: str | None, fmt: str, **thresholds: Any
) -> None:
    """Anomalies: bursts of reveals, unusual customers, off-hours reveals, repeated denials."""
    found = ctx.reader().alerts(
        since=_when(since), until=_when(until), policy=_policy(**thresholds)
    )
    emit([_jsonable(a.to_dict()) for a in found], ALERT_COLUMNS, fmt)


def _date(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else None


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v
        for k, v in row.items()
    }


# --- verify and checkpoint ----------------------------------------------------------------------


@log.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False),
    help="A file of checkpoint lines (from `log checkpoint`) to check against.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Do not re-check signatures up to the newest checkpoint (needs --checkpoint).",
)
@click.option(
    "--every-signature",
    is_flag=True,
    help="Check each event's signature, not only each actor's newest.",
)
@click.option("--workers", type=click.IntRange(0), help="Processes for signature checks.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_ctx
def verify(
    ctx: CliContext,
    checkpoint_file: str | None,
    incremental: bool,
    every_signature: bool,
    workers: int | None,
    fmt: str,
) -> None:
    """Check the chain, the signatures and the log head; exit 6 at the first bad event."""
    if incremental and checkpoint_file is None:
        raise UsageError("--incremental needs --checkpoint FILE")
    text = _read(checkpoint_file) if checkpoint_file is not None else None
    result = ctx.reader().verify_log(
        checkpoint_text=text,
        workers=workers,
        progress=_progress() if sys.stderr.isatty() else None,
        incremental=incremental,
        every_signature=every_signature,
    )
    if fmt == "json":
        click.echo(json.dumps(_jsonable(result.to_dict()), indent=2))
    elif result.ok:
        trusted = (
            f"; signatures trusted through seq {result.trusted_through}"
            if result.trusted_through
            else ""
        )
        click.echo(
            f"log verified: {result.checked} events, head seq {result.head_seq}"
            f" ({result.head_hash[:16]}), {result.checkpoints} checkpoint(s),"
            f" {result.seconds:.2f} s{trusted}"
        )
    for warning in result.warnings:
        say(f"warning: {warning}")
    if not result.ok:
        raise IntegrityError(f"log verification failed at seq {result.first_bad}: {result.problem}")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _progress() -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\rverifying {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


@log.command("checkpoint")
@click.option(
    "--append",
    "append_to",
    type=click.Path(dir_okay=False),
    help="Also append the line to this file; its newest checkpoint, if any, spares"
    " re-checking the signatures before it.",
)
@pass_ctx
def checkpoint(ctx: CliContext, append_to: str | None) -> None:
    """Verify the log, then print a signed line naming its head: keep it outside the
    database."""
    import os

    if ctx.server is not None:
        raise UsageError(
            "log checkpoint signs the head of the log the database holds, and checks it"
            " there: run it against the database with --db, without --server/CUSTODIAN_URL"
            " (`log verify` works through a server)"
        )
    previous = _read(append_to) if append_to and os.path.exists(append_to) else None
    if previous is not None and "custodian-checkpoint v1 " not in previous:
        previous = None
    cp = ctx.actor().checkpoint(
        previous=previous, progress=_progress() if sys.stderr.isatty() else None
    )
    click.echo(cp.line)
    if append_to:
        with open(append_to, "a", encoding="utf-8") as fh:
            fh.write(cp.line + "\n")


COMMANDS = [log]

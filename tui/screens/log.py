"""The access log: filters, a table that loads page by page as you scroll, a detail pane,
the activity chart (reveals per day), anomaly flags, chain verification and export.
Technicians see their own events (the service decides); verification, alerts and the
chart need the auditor or admin role."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from custodian import AlertPolicy, EventFilter, EventInfo, Role, UsageError, parse_time

from ..service_features import offers
from ..widgets.activity_chart import ActivityChart, per_day

if TYPE_CHECKING:
    from ..app import CustodianApp

ACTIONS = (
    "reveal",
    "copy",
    "export",
    "unlock",
    "grant",
    "revoke",
    "cred-add",
    "cred-set",
    "customer-add",
    "tech-add",
    "offboard",
    "purge",
    "log-verify",
)
OUTCOMES = ("ok", "denied", "failed", "integrity")
REVEALS = ("reveal", "copy", "export")
CHART_DAYS = 14


def parse_since(text: str, now: datetime) -> datetime | None:
    """`7d`, `12h`, `30m`, `2w` before now, or an ISO date/time (UTC when no zone)."""
    return parse_time(text, now, future=False) if text.strip() else None


class LogScreen(Screen[None]):
    app: CustodianApp
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "filters", "Filter"),
        Binding("V", "verify", "Verify chain"),
        Binding("s", "split", "Chart split"),
        Binding("x", "export('csv')", "Export CSV"),
        Binding("J", "export('json')", "Export JSON"),
        Binding("g", "chart", "Chart"),
        Binding("m", "more", "More", show=False),
    ]

    @dataclass
    class Page(Message):
        generation: int
        events: list[EventInfo]
        done: bool

    @dataclass
    class Flags(Message):
        generation: int
        flags: dict[tuple[str, datetime], str]
        chart: tuple[list[str], dict[str, list[int]]]
        title: str

    @dataclass
    class Status(Message):
        text: str

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0  # bumped when the filters change: late pages are dropped
        self.rows: list[EventInfo] = []
        self.flags: dict[tuple[str, datetime], str] = {}
        self.done = False
        self.loading = False  # one page at a time: pages come from one iterator
        self.split = "technician"
        self._events: Iterator[EventInfo] | None = None

    @property
    def reader(self) -> bool:
        actor = self.app.actor
        return actor is not None and actor.role in (Role.ADMIN, Role.AUDITOR)

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        with Horizontal(classes="filters"):
            yield Input(placeholder="customer", id="f-customer")
            yield Input(placeholder="technician", id="f-technician")
            yield Select([(a, a) for a in ACTIONS], prompt="action", id="f-action")
            yield Select([(o, o) for o in OUTCOMES], prompt="outcome", id="f-outcome")
            yield Input(placeholder="since: 7d, 2026-03-01", id="f-since")
            yield Input(placeholder="reason contains", id="f-reason")
        with Horizontal(id="log-body"):
            yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
            yield Static("", id="event-detail")
        yield Static("", id="log-status")
        if self.reader:
            yield ActivityChart(id="chart")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#events", DataTable)
        for label, width in (
            ("Seq", 5),
            ("At (UTC)", 16),
            ("Actor", 8),
            ("Action", 12),
            ("Outcome", 7),
            ("Target", 22),
            ("Reason", 10),
            ("Flag", 12),
        ):
            table.add_column(label, width=width)
        table.focus()
        self.reload()

    def on_resize(self) -> None:
        # small terminals (80x24) show the table; `g` brings the chart back
        self.set_class(self.size.height < 30, "-compact")

    def action_chart(self) -> None:
        if self.has_class("-compact"):
            self.toggle_class("-chart-shown")
        else:
            self.toggle_class("-chart-hidden")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "verify":
            return self.reader and offers(self.app.actor, "verify_log")
        if action in ("split", "chart"):
            return self.reader
        return True

    # --- filters and paging -------------------------------------------------------------

    def current_filter(self) -> EventFilter:
        def text(id_: str) -> str | None:
            return self.query_one(f"#f-{id_}", Input).value.strip() or None

        def choice(id_: str) -> tuple[str, ...]:
            value = self.query_one(f"#f-{id_}", Select).value
            return (str(value),) if isinstance(value, str) else ()

        since = parse_since(self.query_one("#f-since", Input).value, self.app.config.clock())
        return EventFilter(
            customer=text("customer"),
            technician=text("technician"),
            actions=choice("action"),
            outcomes=choice("outcome"),
            since=since,
            reason=text("reason"),
        )

    @on(Input.Submitted, ".filters Input")
    @on(Select.Changed, ".filters Select")
    def reload(self) -> None:
        try:
            flt = self.current_filter()
        except UsageError as exc:
            self.app.show_error(str(exc), exc.title)
            return
        self.generation += 1
        self.rows, self.done, self._events = [], False, None
        self.query_one("#events", DataTable).clear()
        self.query_one("#event-detail", Static).update("")
        self.loading = True
        self.load_page(self.generation, flt)
        if self.reader:
            self.load_flags(self.generation, flt)

    @work(thread=True, group="log-page")
    def load_page(self, generation: int, flt: EventFilter) -> None:
        page: list[EventInfo] = []
        done = True
        with self.app.service_errors():
            if self._events is None:
                self._events = self.app.session.iter_events(flt)
            page = list(islice(self._events, self.app.config.log_page))
            done = len(page) < self.app.config.log_page
        self.post_message(self.Page(generation, page, done))

    def on_log_screen_page(self, message: Page) -> None:
        if message.generation != self.generation:
            return
        self.loading = False
        self.done = message.done
        table = self.query_one("#events", DataTable)
        for e in message.events:
            self._add_row(table, e)
        self.rows.extend(message.events)
        self._status()

    def _add_row(self, table: DataTable[str], e: EventInfo) -> None:
        flag = self.flags.get((e.actor, e.at), "")
        table.add_row(
            str(e.seq),
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.actor,
            e.action,
            e.outcome,
            e.target or "",
            e.reason or "",
            f"⚑ {flag}" if flag else "",
            key=str(e.seq),
        )

    def _status(self, extra: str = "") -> None:
        more = "" if self.done else " (scroll for more)"
        flagged = sum(1 for e in self.rows if (e.actor, e.at) in self.flags)
        text = f"{len(self.rows)} events{more}"
        if flagged:
            text += f" · [b $warning]{flagged} flagged[/]"
        self.query_one("#log-status", Static).update(text + (f" · {extra}" if extra else ""))

    @on(DataTable.RowHighlighted, "#events")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.rows):
            self._detail(self.rows[index])
        if not self.done and index >= len(self.rows) - 5:
            self.action_more()

    def action_more(self) -> None:
        if not self.done and not self.loading and self._events is not None:
            self.loading = True
            self.load_page(self.generation, self.current_filter())

    def _detail(self, e: EventInfo) -> None:
        from rich.markup import escape

        rows = [
            ("seq", str(e.seq)),
            ("at", e.at.isoformat()),
            ("actor", e.actor),
            ("action", e.action),
            ("outcome", e.outcome),
            ("customer", e.customer),
            ("target", e.target),
            ("reason", e.reason),
            ("detail", e.detail),
        ]
        flag = self.flags.get((e.actor, e.at))
        if flag:
            rows.append(("flag", flag))
        self.query_one("#event-detail", Static).update(
            "\n".join(f"[dim]{k}[/]\n {escape(v)}" for k, v in rows if v)
        )

    def action_filters(self) -> None:
        self.query_one("#f-customer", Input).focus()

    # --- flags and the chart (auditors, admins) ------------------------------------------

    @work(thread=True, exclusive=True, group="log-flags")
    def load_flags(self, generation: int, flt: EventFilter) -> None:
        with self.app.service_errors():
            actor = self.app.session
            now = self.app.config.clock()
            flags: dict[tuple[str, datetime], str] = {}
            if offers(actor, "alerts"):
                policy = AlertPolicy.configured()  # config.toml's [alerts]
                for a in actor.alerts(since=flt.since, policy=policy, record=False):
                    flags[(a.technician, a.at)] = a.kind
            first = (now - timedelta(days=CHART_DAYS - 1)).date()
            start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
            reveals = actor.iter_events(
                EventFilter(
                    customer=flt.customer,
                    technician=flt.technician,
                    actions=REVEALS,
                    outcomes=("ok",),
                    since=max(start, flt.since) if flt.since else start,
                )
            )
            chart = per_day(reveals, by=self.split, first=first, last=now.date())
            title = f"reveals per day, by {self.split} (last {CHART_DAYS} days)"
            self.post_message(self.Flags(generation, flags, chart, title))

    def on_log_screen_flags(self, message: Flags) -> None:
        if message.generation != self.generation:
            return
        self.flags = message.flags
        table = self.query_one("#events", DataTable)
        for i, e in enumerate(self.rows):
            flag = self.flags.get((e.actor, e.at))
            if flag:
                table.update_cell_at(Coordinate(i, 7), f"⚑ {flag}")
        self.query_one("#chart", ActivityChart).show(*message.chart, message.title)
        self._status()

    def action_split(self) -> None:
        self.split = "customer" if self.split == "technician" else "technician"
        self.load_flags(self.generation, self.current_filter())

    # --- verify and export ---------------------------------------------------------------

    def action_verify(self) -> None:
        self._status("verifying the chain…")
        self.verify()

    @work(thread=True, exclusive=True, group="log-verify")
    def verify(self) -> None:
        with self.app.service_errors():
            result = self.app.session.verify_log()
            if result.ok:
                text = (
                    f"[b $success]chain verified[/]: {result.checked} events through "
                    f"#{result.head_seq}"
                )
            else:
                text = f"[b $error]chain BROKEN[/] at #{result.first_bad}: {result.problem}"
            self.post_message(self.Status(text))

    def on_log_screen_status(self, message: Status) -> None:
        self._status(message.text)
        self.app.notify(re.sub(r"\[[^\]]*\]", "", message.text), title="access log")

    def action_export(self, fmt: str) -> None:
        try:
            flt = self.current_filter()
        except UsageError as exc:
            self.app.show_error(str(exc), exc.title)
            return
        stamp = self.app.config.clock().strftime("%Y%m%d-%H%M%S")
        self.export(flt, Path.cwd() / f"custodian-log-{stamp}.{fmt}", fmt)

    @work(thread=True, exclusive=True, group="log-export")
    def export(self, flt: EventFilter, path: Path, fmt: str) -> None:
        with self.app.service_errors():
            count = write_events(self.app.session.iter_events(flt), path, fmt)
            self.post_message(self.Status(f"exported {count} events to {path}"))


def write_events(events: Iterator[EventInfo], path: Path, fmt: str) -> int:
    """Write events as CSV or JSON (one array), created user-only; returns the count."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    count = 0
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        if fmt == "csv":
            writer: csv.DictWriter[str] | None = None
            for e in events:
                row = e.to_dict()
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                count += 1
        else:
            fh.write("[")
            for e in events:
                fh.write(("," if count else "") + "\n" + json.dumps(e.to_dict()))
                count += 1
            fh.write("\n]\n")
    return count

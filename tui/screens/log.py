"""The access log: filters, a table that loads page by page as you scroll, a detail pane,
the activity chart (reveals per day), anomaly flags, chain verification and export.
Technicians see their own events (the service decides); verification, alerts and the
chart need the auditor or admin role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Select, Static

from custodian import AlertPolicy, EventFilter, EventInfo, Role, UsageError, parse_time

from ..service_features import offers
from ..widgets.activity_chart import ActivityChart, per_day
from ..widgets.fit_footer import FitFooter
from ..widgets.fitted_table import Column, FittedTable

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
# The action and its target are never dropped; the rest drops out, least important
# first, when the terminal is narrow (the detail pane shows every field).
COLUMNS = (
    Column("seq", "Seq", 6),
    Column("at", "At (UTC)", 1),
    Column("actor", "Actor", 2),
    Column("action", "Action"),
    Column("outcome", "Outcome", 1),
    Column("target", "Target"),
    Column("reason", "Reason", 3),
    Column("flag", "Flag", 2, hide_empty=True),
)
CHART_DAYS = 14
SHORT_FLAGS = {"unusual-customer": "unusual", "denied-attempts": "denied"}  # the pane: all


def flag_label(kind: str) -> str:
    """An alert's kind as the table's Flag column shows it (short; the pane has it whole)."""
    return f"⚑ {SHORT_FLAGS.get(kind, kind)}" if kind else ""


def parse_since(text: str, now: datetime) -> datetime | None:
    """`7d`, `12h`, `30m`, `2w` before now, or an ISO date/time (UTC when no zone)."""
    return parse_time(text, now, future=False) if text.strip() else None


class LogScreen(Screen[None]):
    app: CustodianApp
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "filters", "Filter", show=False),
        Binding("V", "verify", "Verify"),
        Binding("s", "split", "Split", show=False),
        Binding("x", "export('csv')", "CSV"),
        Binding("J", "export('json')", "JSON"),
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
        self._shown = -1  # the row whose detail the pane shows
        self._events: Iterator[EventInfo] | None = None

    @property
    def reader(self) -> bool:
        actor = self.app.actor
        return actor is not None and actor.role in (Role.ADMIN, Role.AUDITOR)

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        with Grid(classes="filters", id="log-filters"):
            yield Input(placeholder="customer", id="f-customer")
            yield Input(placeholder="technician", id="f-technician")
            yield Select([(a, a) for a in ACTIONS], prompt="action", id="f-action")
            yield Select([(o, o) for o in OUTCOMES], prompt="outcome", id="f-outcome")
            yield Input(placeholder="since, e.g. 7d", id="f-since")
            yield Input(placeholder="reason contains", id="f-reason")
        with Horizontal(id="log-body"):
            yield FittedTable(COLUMNS, id="events", zebra_stripes=True)
            yield Static("", id="event-detail")
        yield Static("", id="log-status")
        if self.reader:
            yield ActivityChart(id="chart")
        yield FitFooter()

    def on_mount(self) -> None:
        self.query_one("#events", FittedTable).focus()
        self.reload()

    def on_resize(self) -> None:
        # small terminals (80x24) show the table; `g` brings the chart back
        self.set_class(self.size.height < 30, "-compact")
        # narrow ones: filters in two rows, the detail under the table
        self.set_class(self.size.width < 100, "-narrow")
        if 0 <= self._shown < len(self.rows):
            self._detail(self.rows[self._shown])

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
        self.query_one("#events", FittedTable).set_rows([])
        self.query_one("#event-detail", Static).update("")
        self._shown = -1
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
        self.rows.extend(message.events)
        self.query_one("#events", FittedTable).extend(self._row(e) for e in message.events)
        self._status()

    def _row(self, e: EventInfo) -> tuple[str, dict[str, str | Text]]:
        flag = self.flags.get((e.actor, e.at), "")
        return str(e.seq), {
            "seq": str(e.seq),
            "at": e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            "actor": e.actor,
            "action": e.action,
            "outcome": e.outcome,
            "target": e.target or "",
            "reason": e.reason or "",
            "flag": flag_label(flag),
        }

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
            self._shown = index
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
            ("at", e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
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
        # beside the table: the name above the value; under it (narrow): one paragraph
        narrow = self.has_class("-narrow")
        self.query_one("#event-detail", Static).update(
            (" · " if narrow else "\n").join(
                f"[dim]{k}[/]{' ' if narrow else chr(10) + ' '}{escape(v)}" for k, v in rows if v
            )
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
        table = self.query_one("#events", FittedTable)
        for i, e in enumerate(self.rows):
            flag = self.flags.get((e.actor, e.at))
            if flag:
                table.set_value(i, "flag", flag_label(flag))
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
        from .export import ExportScreen, default_export_path

        directory = self.app.config.export_dir or Path.home()
        default = default_export_path(directory, self.app.config.clock(), fmt)
        what = "the events this table lists" + ("" if self.reader else " (your own)")

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.export(flt, path, fmt)

        self.app.push_screen(ExportScreen(default, fmt, what), chosen)

    @work(thread=True, exclusive=True, group="log-export")
    def export(self, flt: EventFilter, path: Path, fmt: str) -> None:
        from .export import write_events

        with self.app.service_errors():
            count = write_events(self.app.session.iter_events(flt), path, fmt)
            self.post_message(self.Status(f"exported {count} events to {path}"))

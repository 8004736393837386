"""Home: the customers this technician may see, a search across everything visible,
and the credentials of the selected customer grouped by system kind."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..search import SearchIndex, SearchResult
from ..service_features import can, rotation_due
from ..widgets.fit_footer import FitFooter
from ..widgets.fitted_table import Column, FittedTable
from . import edit
from .palette import SELECTED_COMMANDS
from .reveal import SecretWorkers

if TYPE_CHECKING:
    from custodian import CredentialInfo

    from ..app import CustodianApp

ALL = "*"
PAGE = 50  # rows added to a list at a time: a screenful and more; the rest as the cursor nears
KIND_LABELS = {
    "active-directory": "AD",
    "database": "Database",
    "switch": "Switch",
    "router": "Router",
    "printer": "Printer",
    "application": "App",
    "other": "Other",
}
# What picks the right credential comes first (never dropped); the rest drops out, least
# important first, when the terminal is narrow, and shows in the line under the table.
COLUMNS = (
    Column("customer", "Customer", 1),
    Column("kind", "Kind", 5),
    Column("system", "System"),
    Column("name", "Credential"),
    Column("username", "Username"),
    Column("version", "Ver", 6),
    Column("updated", "Updated", 7),
    Column("rotate", "Rotate", 2, hide_empty=True),
    Column("host", "Host", 3),
)


class HomeScreen(SecretWorkers, Screen[None]):
    app: CustodianApp

    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("enter", "reveal", "Reveal", show=True),
        Binding("c", "copy", "Copy"),
        Binding("h", "history", "History"),
        Binding("R", "rotate", "Rotate", show=False),
        Binding("f4", "worklist", "Worklist", show=False),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("f2", "app.open_log", "Log"),
        Binding("f3", "app.open_admin", "Admin"),
        Binding("escape", "clear", "Clear", show=False),
        Binding("i", "inventory('show')", "Show", show=False),
        Binding("e", "inventory('edit')", "Edit", show=False),
        Binding("E", "inventory('edit_system')", "Edit system", show=False),
        Binding("delete", "inventory('delete')", "Delete", show=False),
        Binding("shift+delete", "inventory('delete_system')", "Delete system", show=False),
        Binding("t", "inventory('retire')", "Retire", show=False),
        Binding("T", "inventory('toggle_retired')", "Show retired", show=False),
    ]

    @dataclass
    class Loaded(Message):
        index: SearchIndex
        due: frozenset[str] | None  # credential paths needing rotation; None: not offered
        complete: bool = True  # False: the customers only, credentials still loading

    def __init__(self) -> None:
        super().__init__()
        self.index: SearchIndex | None = None
        self.indexed = False  # the index holds the credentials too, not only the customers
        self.shown = threading.Event()  # set once the customers are on screen (interactive)
        self.due: frozenset[str] | None = None
        self.result: SearchResult | None = None
        self.selected = ALL
        self.show_retired = False  # retired credentials listed too (edit.toggle_retired)
        self._listed: list[str] = []  # the customer ids the list holds or will hold

    def compose(self) -> ComposeResult:
        yield Header(icon="⚿")
        yield Input(placeholder="Search customers, systems, credentials…  ( / )", id="search")
        with Horizontal(id="home-body"):
            yield OptionList(id="customers")
            with Vertical(id="home-right"):
                yield Static("loading…", id="summary")
                yield FittedTable(COLUMNS, id="creds", zebra_stripes=True)
                yield Static("", id="cred-detail")
        yield FitFooter()

    def on_mount(self) -> None:
        self.query_one("#customers", OptionList).border_title = "Customers"
        self.query_one("#search", Input).focus()
        self.load()

    # --- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        """The customers first (one query: the screen is usable at once), then every
        visible credential for the search (one query, indexed here). The second part
        waits until the customers are drawn: this CPU-bound thread shares the interpreter
        lock with the UI thread and would otherwise hold the first screen back."""
        with self.app.service_errors():
            actor = self.app.session
            limit = self.app.config.result_limit
            customers = actor.list_customers()
            self.post_message(self.Loaded(SearchIndex(customers, [], limit=limit), None, False))
            self.shown.wait(timeout=5)
            credentials = actor.list_credentials(retired="include" if self.show_retired else "hide")
            due = rotation_due(actor)
            self.post_message(self.Loaded(SearchIndex(customers, credentials, limit=limit), due))

    def on_home_screen_loaded(self, message: Loaded) -> None:
        self.index, self.due = message.index, message.due
        self.indexed = message.complete
        self.app.customers = {c.slug: c for c in message.index.customers}
        if self.selected != ALL and self.selected not in self.app.customers:
            self.selected = ALL
        self.refilter()
        if not message.complete:
            self.call_after_refresh(self.shown.set)

    def action_refresh(self) -> None:
        self.load()

    # --- search and selection ---------------------------------------------------------

    @on(Input.Changed, "#search")
    def refilter(self) -> None:
        if self.index is None:
            return
        query = self.query_one("#search", Input).value
        customer = None if self.selected == ALL else self.selected
        self.result = self.index.search(query, customer)
        self._show_customers(self.result)
        self._show_credentials(self.result)

    def _show_customers(self, result: SearchResult) -> None:
        options = self.query_one("#customers", OptionList)
        wanted = [ALL] + [c.slug for c in result.customers]
        if wanted == self._listed:
            return
        self._listed = wanted
        options.clear_options()
        shown = max(PAGE, wanted.index(self.selected) + 1 if self.selected in wanted else 0)
        options.add_options([Option("All customers", id=ALL)])
        self._more_customers(result, shown)
        if self.selected in wanted:
            options.highlighted = wanted.index(self.selected)

    def _more_customers(self, result: SearchResult, count: int = PAGE) -> None:
        options = self.query_one("#customers", OptionList)
        start = options.option_count - 1  # after "All customers"
        options.add_options(
            [
                Option(f"{c.slug}{' ✎' if c.require_reason else ''}\n  [dim]{c.name}[/]", id=c.slug)
                for c in result.customers[start : start + count]
            ]
        )

    def _show_credentials(self, result: SearchResult) -> None:
        self.query_one("#creds", FittedTable).set_rows([])
        self._more_credentials(result)
        self.query_one("#summary", Static).update(self._summary(result))
        self._detail()

    def _more_credentials(self, result: SearchResult) -> None:
        """Add the next `PAGE` rows of `result` (the table grows as the cursor moves down)."""
        table = self.query_one("#creds", FittedTable)
        start = table.row_count
        previous: tuple[str, str] | None = None
        if start:
            before = result.credentials[start - 1]
            previous = (before.customer, before.system_kind)
        rows: list[tuple[str, dict[str, str | Text]]] = []
        for cred in result.credentials[start : start + PAGE]:
            group = (cred.customer, cred.system_kind)
            kind = KIND_LABELS.get(cred.system_kind, cred.system_kind) if group != previous else ""
            previous = group
            due = self.due is not None and cred.path in self.due
            cells: dict[str, str | Text] = {
                "customer": cred.customer,
                "kind": kind,
                "system": cred.system,
                "name": cred.name + (" (retired)" if cred.retired_at else ""),
                "username": cred.username or "",
                "version": str(cred.version),
                "updated": cred.updated_at.strftime("%Y-%m-%d"),
                "rotate": Text("rotate", style="bold yellow") if due else "",
                "host": cred.host or "",
            }
            rows.append((cred.path, cells))
        table.extend(rows)

    def _detail(self) -> None:
        """The line under the table: what the width left out of the highlighted row."""
        from rich.markup import escape

        table = self.query_one("#creds", FittedTable)
        cred = self.current()
        text = ""
        if cred is not None:
            full = {
                "customer": cred.customer,
                "kind": KIND_LABELS.get(cred.system_kind, cred.system_kind),
                "version": f"v{cred.version}",
                "updated": cred.updated_at.strftime("%Y-%m-%d"),
                "rotate": "[b $warning]rotate[/]" if self.due and cred.path in self.due else "",
                "host": escape(cred.host or ""),
            }
            text = " · ".join(
                full[c.key]
                if c.key in ("version", "rotate")
                else f"[dim]{c.label}[/] {full[c.key]}"
                for c in sorted(table.hidden, key=lambda c: c.priority)
                if full.get(c.key)
            )
        self.query_one("#cred-detail", Static).update(text)

    @on(DataTable.RowHighlighted, "#creds")
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        self._detail()
        if (
            self.result is not None
            and event.cursor_row >= table.row_count - 10
            and table.row_count < len(self.result.credentials)
        ):
            self._more_credentials(self.result)

    def _summary(self, result: SearchResult) -> str:
        parts = []
        if self.selected != ALL and self.selected in self.app.customers:
            c = self.app.customers[self.selected]
            parts.append(f"[b]{c.name}[/] ({c.slug})")
            if c.require_reason:
                parts.append("reason required")
        else:
            count = len(result.customers)
            parts.append(
                f"{count}{'' if count < self.app.config.result_limit else '+'} "
                f"customer{'s' if count != 1 else ''}"
            )
        if not self.indexed:
            parts.append("loading credentials…")
        else:
            parts.append(f"{result.shown} credential{'s' if result.shown != '1' else ''}")
        if result.query.strip():
            parts.append(f"matching “{result.query.strip()}”")
        if self.due is not None:
            count = sum(1 for c in result.credentials if c.path in self.due)
            if count:
                parts.append(f"[b $warning]{count} to rotate[/]")
        return " · ".join(parts)

    @on(OptionList.OptionHighlighted, "#customers")
    def customer_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        options = event.option_list
        if (
            self.result is not None
            and event.option_index >= options.option_count - 10
            and options.option_count - 1 < len(self.result.customers)
        ):
            self._more_customers(self.result)
        chosen = event.option.id or ALL
        if chosen != self.selected:
            self.selected = chosen
            self.refilter()

    @on(OptionList.OptionSelected, "#customers")
    def customer_selected(self) -> None:
        self.query_one("#creds", DataTable).focus()

    @on(Input.Submitted, "#search")
    def search_submitted(self) -> None:
        self.query_one("#creds", DataTable).focus()

    def on_key(self, event: object) -> None:
        from textual.events import Key

        if (
            isinstance(event, Key)
            and event.key == "down"
            and self.focused is self.query_one("#search", Input)
        ):
            self.query_one("#creds", DataTable).focus()
            event.stop()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
        search.focus()

    # --- the selected credential --------------------------------------------------------

    def current(self) -> CredentialInfo | None:
        table = self.query_one("#creds", DataTable)
        if self.result is None or not table.row_count:
            return None
        path = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((c for c in self.result.credentials if c.path == path), None)

    @on(DataTable.RowSelected, "#creds")
    def row_selected(self) -> None:
        self.action_reveal()

    def action_reveal(self) -> None:
        if self.focused is self.query_one("#customers", OptionList):
            self.query_one("#creds", DataTable).focus()
            return
        cred = self.current()
        if cred is not None:
            self.app.open_reveal(cred)

    def action_copy(self) -> None:
        from .reveal import copy_worker

        cred = self.current()
        if cred is not None:
            self.app.with_reason(cred, lambda reason: copy_worker(self, cred, "password", reason))

    def action_history(self) -> None:
        from .history import HistoryScreen

        cred = self.current()
        if cred is not None:
            self.app.push_screen(HistoryScreen(cred))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what the session does not offer (a server's offers fewer: service_features)."""
        what = parameters[0] if action == "inventory" and parameters else action
        return can(self.app.actor, what) if isinstance(what, str) else True

    def action_inventory(self, what: str) -> None:
        """Show, edit or delete the selected credential or its system (screens/edit.py)."""
        edit.ACTIONS[what](self)

    @work(thread=True, group="inventory")
    def change(self, text: str, call: Callable[..., object], *args: object) -> None:
        """One change to the inventory (edit, delete); then the lists are reloaded."""
        with self.app.service_errors():
            call(*args)
            self.app.call_from_thread(self.app.notify, text)
            self.load()

    def action_rotate(self) -> None:
        from .rotation import RotateScreen

        cred = self.current()
        if cred is not None:
            self.app.with_reason(
                cred, lambda reason: self.app.push_screen(RotateScreen(cred.path, reason))
            )

    def action_worklist(self) -> None:
        from .rotation import WorklistScreen

        self.app.push_screen(WorklistScreen())

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Search", "Focus the search box", self.action_search)
        yield SystemCommand("Refresh", "Reload customers and credentials", self.action_refresh)
        if self.current() is None:
            return
        for name, what, does in SELECTED_COMMANDS:
            if can(self.app.actor, what):  # what the session does not offer is not listed
                action = getattr(self, f"action_{what}", None)
                yield SystemCommand(name, does, action or partial(self.action_inventory, what))

"""Admin console: technicians, customers, grants per customer, the rotation worklist,
offboarding and purge. Shown to admins only; the service checks the role again on every
call. Tabs whose service methods are absent are not shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Header,
    Input,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from custodian import (
    CustomerInfo,
    Role,
    TechnicianInfo,
)

from ..service_features import offers
from ..widgets.fit_footer import FitFooter
from .admin_change import Changes, Done
from .admin_grants import GrantsTab
from .admin_offboard import OffboardTab
from .confirm import ConfirmScreen
from .passphrase import NewPassphraseScreen

if TYPE_CHECKING:
    from ..app import CustodianApp


class AdminScreen(Changes, Screen[None]):
    app: CustodianApp
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh", "Refresh"),
    ]

    @dataclass
    class Loaded(Message):
        technicians: list[TechnicianInfo]
        customers: list[CustomerInfo]
        rotation: list[Any] | None

    @dataclass
    class Retention(Message):
        days: int

    def __init__(self) -> None:
        super().__init__()
        self.technicians: list[TechnicianInfo] = []
        self.customers: list[CustomerInfo] = []
        self.retention: int | None = None  # the vault's default retention, in days

    def compose(self) -> ComposeResult:
        actor = self.app.actor
        yield Header(icon="⚿")
        with TabbedContent(id="admin-tabs"):
            with TabPane("Technicians", id="tab-techs"):
                yield DataTable(id="techs", cursor_type="row")
                with Horizontal(classes="filters"):
                    yield Input(placeholder="new technician", id="tech-name")
                    yield Select(
                        [(r.value, r.value) for r in Role],
                        value=Role.TECHNICIAN.value,
                        allow_blank=False,
                        id="tech-role",
                    )
                    yield Input(placeholder="passphrase", password=True, id="tech-pass")
                    yield Button("Add", id="tech-add", variant="primary")
                with Horizontal(classes="filters"):
                    if offers(actor, "reset_passphrase"):
                        yield Button("Reset passphrase…", id="tech-reset")
                    if offers(actor, "remove_technician"):
                        yield Button("Disable selected…", id="tech-disable", variant="error")
            with TabPane("Customers", id="tab-customers"):
                yield DataTable(id="custs", cursor_type="row")
                with Horizontal(classes="filters"):
                    yield Input(placeholder="slug", id="cust-slug")
                    yield Input(placeholder="display name", id="cust-name")
                    yield Checkbox("reason required", id="cust-reason")
                    yield Button("Add", id="cust-add", variant="primary")
                if offers(actor, "edit_customer"):
                    yield Button("Toggle reason on selected", id="cust-toggle")
            yield GrantsTab()
            if offers(actor, "rotation_list"):
                with TabPane("Rotation", id="tab-rotation"):
                    yield DataTable(id="rotation", cursor_type="row")
            if offers(actor, "offboard") and offers(actor, "purge"):
                yield OffboardTab()
        yield Static("", id="admin-status")
        yield FitFooter()

    def on_mount(self) -> None:
        for table_id, columns in (
            ("techs", ("Technician", "Role", "Active", "Since")),
            ("custs", ("Slug", "Name", "Status", "Reason", "Credentials", "Key v")),
            ("rotation", ("Credential", "Why", "Flagged")),
        ):
            for table in self.query(f"#{table_id}").results(DataTable):
                for label in columns:
                    table.add_column(label)
        self.action_refresh()

    # --- loading --------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="admin-load")
    def load(self) -> None:
        with self.app.service_errors():
            actor = self.app.session
            rotation = actor.rotation_list() if offers(actor, "rotation_list") else None
            self.post_message(
                self.Loaded(actor.list_technicians(), actor.list_customers(), rotation)
            )
            if offers(actor, "retention_days"):
                self.post_message(self.Retention(actor.retention_days()))

    def on_admin_screen_retention(self, message: Retention) -> None:
        self.retention = message.days

    def on_admin_screen_loaded(self, message: Loaded) -> None:
        self.technicians, self.customers = message.technicians, message.customers
        techs = self.query_one("#techs", DataTable)
        techs.clear()
        for t in self.technicians:
            techs.add_row(
                t.username,
                t.role,
                "yes" if t.active else "no",
                t.created_at.strftime("%Y-%m-%d"),
                key=t.username,
            )
        custs = self.query_one("#custs", DataTable)
        custs.clear()
        for c in self.customers:
            reason = (
                "yes" + (f" ({c.reason_pattern})" if c.reason_pattern else "")
                if c.require_reason
                else "no"
            )
            custs.add_row(
                c.slug, c.name, c.status, reason, str(c.credentials), str(c.key_version), key=c.slug
            )
        active = [(c.slug, c.slug) for c in self.customers if c.status == "active"]
        for select_id in ("#grant-customer", "#off-customer"):
            for select in self.query(select_id).results(Select):
                value = select.value
                select.set_options(active)
                if isinstance(value, str) and value in dict(active):
                    select.value = value
        if message.rotation is not None:
            table = self.query_one("#rotation", DataTable)
            table.clear()
            for r in message.rotation:
                table.add_row(r.path, r.why, r.flagged_at.strftime("%Y-%m-%d"))
        self.query_one(GrantsTab).reload()

    # --- changes ----------------------------------------------------------------------------

    def on_done(self, message: Done) -> None:
        self.query_one("#admin-status", Static).update(message.text)
        self.notify(message.text)
        if message.reload:
            self.load()

    @on(Button.Pressed, "#tech-add")
    def add_technician(self) -> None:
        name = self.query_one("#tech-name", Input)
        secret = self.query_one("#tech-pass", Input)
        role = Role(str(self.query_one("#tech-role", Select).value))
        passphrase, secret.value = secret.value, ""
        self.change(
            f"added technician {name.value.strip()}",
            self.app.session.add_technician,
            name.value.strip(),
            role,
            passphrase,
        )
        name.value = ""

    @on(Button.Pressed, "#cust-add")
    def add_customer(self) -> None:
        slug = self.query_one("#cust-slug", Input)
        name = self.query_one("#cust-name", Input)
        reason = self.query_one("#cust-reason", Checkbox).value
        self.change(
            f"added customer {slug.value.strip()}",
            self.app.session.add_customer,
            slug.value.strip(),
            name.value.strip(),
            require_reason=reason,
        )
        slug.value = name.value = ""

    @on(Button.Pressed, "#cust-toggle")
    def toggle_reason(self) -> None:
        table = self.query_one("#custs", DataTable)
        if not self.customers or not table.row_count:
            return
        c = self.customers[table.cursor_row]
        self.change(
            f"{c.slug}: reason {'no longer ' if c.require_reason else ''}required",
            self.app.session.edit_customer,
            c.slug,
            require_reason=not c.require_reason,
        )

    @on(Button.Pressed, "#tech-disable")
    def disable_technician(self) -> None:
        table = self.query_one("#techs", DataTable)
        if not self.technicians or not table.row_count:
            return
        name = self.technicians[table.cursor_row].username

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(f"disabled {name}", self.app.session.remove_technician, name)

        self.app.push_screen(
            ConfirmScreen(
                f"Disable [b]{name}[/] for good? Every grant ends (each customer key is rotated),"
                " their key material is destroyed and the credentials they could read go on the"
                " rotation worklist. Their events stay.",
                yes="Disable",
                danger=True,
            ),
            confirmed,
        )

    @on(Button.Pressed, "#tech-reset")
    def ask_new_passphrase(self) -> None:
        table = self.query_one("#techs", DataTable)
        if not self.technicians or not table.row_count:
            return
        name = self.technicians[table.cursor_row].username

        def typed(passphrase: str | None) -> None:
            if passphrase:
                self.reset_passphrase(name, passphrase)

        self.app.push_screen(
            NewPassphraseScreen(
                f"Reset [b]{escape(name)}[/]'s passphrase? They get new keys under it, keep their"
                " grants, and their cached sessions stop working.",
                title="Reset passphrase",
                yes="Reset",
            ),
            typed,
        )

    @work(thread=True, group="admin-change")
    def reset_passphrase(self, name: str, passphrase: str) -> None:
        with self.app.service_errors():
            rewrapped = self.app.session.reset_passphrase(name, passphrase)
            self.post_message(
                Done(
                    f"reset {name}'s passphrase: new keys, {rewrapped} key(s) re-wrapped to them;"
                    f" {name}'s cached sessions no longer work",
                    reload=False,
                )
            )

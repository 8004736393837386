"""Admin console: technicians, customers, grants per customer, the rotation worklist,
offboarding and purge. Shown to admins only; the service checks the role again on every
call. Tabs whose service methods are absent are not shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
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
    Footer,
    Header,
    Input,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from custodian import (
    CustomerInfo,
    GrantInfo,
    Role,
    TechnicianInfo,
    check_handover_passphrase,
    check_handover_target,
    parse_time,
)

from ..service_features import offers
from .confirm import ConfirmScreen
from .passphrase import NewPassphraseScreen

if TYPE_CHECKING:
    from ..app import CustodianApp


def parse_until(text: str, now: datetime) -> datetime | None:
    """An expiry: `30d`, `12h`, `2w` from now, or an ISO date/time; empty means none."""
    return parse_time(text, now, future=True) if text.strip() else None


class AdminScreen(Screen[None]):
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
    class Grants(Message):
        slug: str
        grants: tuple[GrantInfo, ...]

    @dataclass
    class Done(Message):
        text: str
        reload: bool = True

    @dataclass
    class Retention(Message):
        days: int

    def __init__(self) -> None:
        super().__init__()
        self.technicians: list[TechnicianInfo] = []
        self.customers: list[CustomerInfo] = []
        self.grants: tuple[GrantInfo, ...] = ()
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
                    yield Input(placeholder="initial passphrase", password=True, id="tech-pass")
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
            with TabPane("Grants", id="tab-grants"):
                yield Select([], prompt="customer", id="grant-customer")
                yield DataTable(id="grants", cursor_type="row")
                with Horizontal(classes="filters"):
                    yield Input(placeholder="technician", id="grant-tech")
                    yield Input(placeholder="until: 30d or 2026-12-31 (optional)", id="grant-until")
                    yield Button("Grant", id="grant-add", variant="primary")
                    yield Button("Revoke selected", id="grant-revoke", variant="error")
            if offers(actor, "rotation_list"):
                with TabPane("Rotation", id="tab-rotation"):
                    yield DataTable(id="rotation", cursor_type="row")
            if offers(actor, "offboard") and offers(actor, "purge"):
                with TabPane("Offboard", id="tab-offboard"):
                    yield Static(
                        "Offboarding revokes every grant and schedules the customer's data for"
                        " destruction after the retention period. Give a file to hand the"
                        " current credentials over first (KeePass KDBX 4, passphrase of 12+"
                        " characters); the handover needs a grant, which the wizard can give"
                        " you for an hour."
                    )
                    with Horizontal(classes="filters"):
                        yield Select([], prompt="customer", id="off-customer")
                        yield Input(placeholder="retention days (default)", id="off-days")
                    with Horizontal(classes="filters"):
                        yield Input(
                            placeholder="handover file, e.g. acme.kdbx (optional)", id="off-file"
                        )
                        yield Input(placeholder="KDBX passphrase", password=True, id="off-pass")
                        yield Input(placeholder="again", password=True, id="off-pass2")
                    with Horizontal(classes="filters"):
                        yield Checkbox("grant me 1 h for the handover", value=True, id="off-grant")
                        yield Button("Offboard…", id="off-go", variant="error")
                    yield Button("Purge customers past retention…", id="purge-go", variant="error")
        yield Static("", id="admin-status")
        yield Footer()

    def on_mount(self) -> None:
        for table_id, columns in (
            ("techs", ("Technician", "Role", "Active", "Since")),
            ("custs", ("Slug", "Name", "Status", "Reason", "Credentials", "Key v")),
            ("grants", ("Technician", "Granted by", "At", "Expires")),
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
        self._load_grants()

    @on(Select.Changed, "#grant-customer")
    def _load_grants(self) -> None:
        value = self.query_one("#grant-customer", Select).value
        if isinstance(value, str):
            self.load_grants(value)

    @work(thread=True, exclusive=True, group="admin-grants")
    def load_grants(self, slug: str) -> None:
        with self.app.service_errors():
            self.post_message(self.Grants(slug, self.app.session.show_customer(slug).grants))

    def on_admin_screen_grants(self, message: Grants) -> None:
        self.grants = message.grants
        table = self.query_one("#grants", DataTable)
        table.clear()
        for g in message.grants:
            table.add_row(
                g.technician,
                g.granted_by,
                g.granted_at.strftime("%Y-%m-%d %H:%M"),
                g.expires_at.strftime("%Y-%m-%d %H:%M") if g.expires_at else "never",
                key=g.technician,
            )

    # --- changes ----------------------------------------------------------------------------

    def on_admin_screen_done(self, message: Done) -> None:
        self.query_one("#admin-status", Static).update(message.text)
        self.notify(message.text)
        if message.reload:
            self.load()

    @work(thread=True, group="admin-change")
    def change(self, description: str, call: Any, *args: Any, **kwargs: Any) -> None:
        """Run one service call; report its outcome (the service's message on failure)."""
        with self.app.service_errors():
            call(*args, **kwargs)
            self.post_message(self.Done(description))

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

    @on(Button.Pressed, "#grant-add")
    def add_grant(self) -> None:
        slug = self.query_one("#grant-customer", Select).value
        tech = self.query_one("#grant-tech", Input).value.strip()
        if not isinstance(slug, str):
            self.app.show_error("choose a customer first", "invalid input")
            return
        try:
            until = parse_until(
                self.query_one("#grant-until", Input).value, self.app.config.clock()
            )
        except Exception as exc:
            self.app.show_error(str(exc), "invalid input")
            return
        self.change(
            f"granted {tech} access to {slug}", self.app.session.grant, tech, slug, until=until
        )

    @on(Button.Pressed, "#grant-revoke")
    def revoke_grant(self) -> None:
        slug = self.query_one("#grant-customer", Select).value
        table = self.query_one("#grants", DataTable)
        if not isinstance(slug, str) or not self.grants or not table.row_count:
            return
        tech = self.grants[table.cursor_row].technician

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change(
                    f"revoked {tech}'s access to {slug}", self.app.session.revoke, tech, slug
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Revoke [b]{tech}[/]'s access to [b]{slug}[/]? The customer key is rotated.",
                yes="Revoke",
                danger=True,
            ),
            confirmed,
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
                self.Done(
                    f"reset {name}'s passphrase: new keys, {rewrapped} key(s) re-wrapped to them;"
                    f" {name}'s cached sessions no longer work",
                    reload=False,
                )
            )

    @on(Button.Pressed, "#off-go")
    def offboard(self) -> None:
        """The wizard: check the inputs, confirm with a summary, then (in a worker)
        grant, hand over, offboard, stopping at the first refusal."""
        slug = self.query_one("#off-customer", Select).value
        days_text = self.query_one("#off-days", Input).value.strip()
        file_text = self.query_one("#off-file", Input).value.strip()
        secrets = (self.query_one("#off-pass", Input), self.query_one("#off-pass2", Input))
        passphrase, again = secrets[0].value, secrets[1].value
        if not isinstance(slug, str):
            self.app.show_error("choose a customer first", "invalid input")
            return
        if days_text and not days_text.isdigit():
            self.app.show_error("retention days must be a whole number", "invalid input")
            return
        if file_text and passphrase != again:
            self.app.show_error("the two handover passphrases differ", "invalid input")
            return
        if not file_text and passphrase:
            self.app.show_error("a passphrase without a handover file", "invalid input")
            return
        days = int(days_text) if days_text else self.retention
        path = Path(file_text).expanduser().absolute() if file_text else None
        grant_me = self.query_one("#off-grant", Checkbox).value
        until = self.app.config.clock() + timedelta(days=days) if days is not None else None
        steps = []
        if path is not None:
            if grant_me:
                steps.append(f"grant you ({self.app.username}) access for 1 h")
            steps.append(f"write the handover to [b]{path}[/] (KDBX 4)")
        steps.append("revoke every grant and rotate the customer key")
        steps.append(
            f"destroy its data after [b]{until:%Y-%m-%d}[/] ({days} days)"
            if until
            else "destroy its data after the default retention"
        )
        question = f"Offboard [b]{slug}[/]?\n" + "\n".join(
            f"{i}. {step}" for i, step in enumerate(steps, 1)
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                for box in secrets:
                    box.value = ""
                self.offboard_customer(slug, days, path, passphrase, grant_me)

        self.app.push_screen(ConfirmScreen(question, yes="Offboard", danger=True), confirmed)

    @work(thread=True, group="admin-change")
    def offboard_customer(
        self, slug: str, days: int | None, path: Path | None, passphrase: str, grant_me: bool
    ) -> None:
        with self.app.service_errors():
            actor = self.app.session
            said = []
            if path is not None:
                # before the grant: a bad file or passphrase changes nothing
                check_handover_target(path)
                check_handover_passphrase(passphrase)
                if grant_me:
                    actor.grant(
                        actor.username, slug, until=self.app.config.clock() + timedelta(hours=1)
                    )
                data = actor.hand_over(slug, path, passphrase)
                said.append(f"wrote {data.count} credential(s) to {path}")
            result = actor.offboard(slug, retention_days=days)
            said.append(
                f"offboarded {slug}: revoked {', '.join(result.revoked) or 'nobody'};"
                f" data destroyed after {result.purge_after:%Y-%m-%d %H:%M} UTC"
            )
            self.post_message(self.Done("; ".join(said)))

    @on(Button.Pressed, "#purge-go")
    def purge(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change("purged customers past their retention date", self.app.session.purge)

        self.app.push_screen(
            ConfirmScreen(
                "Destroy every offboarded customer past its retention date? This cannot be undone.",
                yes="Purge",
                danger=True,
            ),
            confirmed,
        )

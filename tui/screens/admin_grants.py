"""The admin console's grants tab: a customer's grants, grant (with an optional expiry),
revoke after a confirmation (revoking rotates the customer key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Select, TabPane

from custodian import parse_time

from .admin_change import Changes
from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from custodian import GrantInfo

    from ..app import CustodianApp


class GrantsTab(Changes, TabPane):
    app: CustodianApp

    @dataclass
    class Grants(Message):
        slug: str
        grants: tuple[GrantInfo, ...]

    def __init__(self) -> None:
        super().__init__("Grants", id="tab-grants")
        self.grants: tuple[GrantInfo, ...] = ()

    def compose(self) -> ComposeResult:
        yield Select([], prompt="customer", id="grant-customer")
        yield DataTable(id="grants", cursor_type="row")
        with Horizontal(classes="filters"):
            yield Input(placeholder="technician", id="grant-tech")
            yield Input(placeholder="until, e.g. 30d", id="grant-until")
            yield Button("Grant", id="grant-add", variant="primary")
            yield Button("Revoke selected", id="grant-revoke", variant="error")

    def on_mount(self) -> None:
        table = self.query_one("#grants", DataTable)
        for label in ("Technician", "Granted by", "At", "Expires"):
            table.add_column(label)

    @on(Select.Changed, "#grant-customer")
    def reload(self) -> None:
        value = self.query_one("#grant-customer", Select).value
        if isinstance(value, str):
            self.load_grants(value)

    @work(thread=True, exclusive=True, group="admin-grants")
    def load_grants(self, slug: str) -> None:
        with self.app.service_errors():
            self.post_message(self.Grants(slug, self.app.session.show_customer(slug).grants))

    def on_grants_tab_grants(self, message: Grants) -> None:
        self.grants = message.grants
        table = self.query_one("#grants", DataTable)
        table.clear()
        for g in message.grants:
            table.add_row(
                f"{g.technician} (write-only)" if g.write_only else g.technician,
                g.granted_by,
                g.granted_at.strftime("%Y-%m-%d %H:%M"),
                g.expires_at.strftime("%Y-%m-%d %H:%M") if g.expires_at else "never",
                key=g.technician,
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


def parse_until(text: str, now: datetime) -> datetime | None:
    """An expiry: `30d`, `12h`, `2w` from now, or an ISO date/time; empty means none."""
    return parse_time(text, now, future=True) if text.strip() else None

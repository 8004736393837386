"""One credential's card (`i` on the home screen), as `custodian cred show` prints it:
metadata, the names of its fields, its versions and who can open it. Never a value:
nothing here is an access to a secret, so nothing asks for a reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from ..service_features import can

if TYPE_CHECKING:
    from custodian import CredentialDetail, CredentialInfo

    from ..app import CustodianApp


class CredentialScreen(ModalScreen[None]):
    app: CustodianApp
    BINDINGS = [
        Binding("h", "history", "History"),
        Binding("escape,q,i", "close", "Close"),
    ]

    @dataclass
    class Loaded(Message):
        detail: CredentialDetail

    def __init__(self, cred: CredentialInfo) -> None:
        super().__init__()
        self.cred = cred

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="show-box", classes="dialog") as box:
            box.border_title = self.cred.path
            yield Static("loading…", id="show-meta")
            yield Static("[b]Versions[/]", classes="show-heading")
            yield DataTable(id="show-versions", cursor_type="row")
            yield Static("[b]Who can open it[/]", classes="show-heading")
            yield DataTable(id="show-access", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        versions = self.query_one("#show-versions", DataTable)
        versions.add_columns("Version", "Set by", "At (UTC)", "Fields", "Key")
        self.query_one("#show-access", DataTable).add_columns(
            "Technician", "Role", "How", "Until (UTC)"
        )
        versions.focus()
        self.load()

    @work(thread=True, exclusive=True, group="show")
    def load(self) -> None:
        with self.app.service_errors():
            self.post_message(self.Loaded(self.app.session.show_credential(self.cred.path)))

    def on_credential_screen_loaded(self, message: Loaded) -> None:
        d = message.detail
        c = d.credential
        host = (c.host or "") + (f":{d.port}" if d.port else "")
        lines = [
            ("System", f"{c.system} ({c.system_kind})"),
            ("Host", host),
            ("Username", c.username or ""),
            ("URL", c.url or ""),
            ("Tags", ", ".join(d.tags)),
            ("Fields", ", ".join(c.fields)),
            ("Version", f"{c.version}, updated {c.updated_at:%Y-%m-%d %H:%M}"),
            ("Retired", f"{c.retired_at:%Y-%m-%d %H:%M} UTC" if c.retired_at else ""),
            ("Notes", d.notes or ""),
        ]
        self.query_one("#show-meta", Static).update(
            "\n".join(f"[dim]{label:<9}[/] {escape(value)}" for label, value in lines if value)
        )
        versions = self.query_one("#show-versions", DataTable)
        versions.clear()
        for v in reversed(d.versions):
            versions.add_row(
                f"{v.version}{' (current)' if v.version == c.version else ''}",
                v.created_by,
                f"{v.created_at:%Y-%m-%d %H:%M}",
                ", ".join(v.fields),
                str(v.key_version),
            )
        access = self.query_one("#show-access", DataTable)
        access.clear()
        for a in d.access:
            until = f"{a.expires_at:%Y-%m-%d %H:%M}" if a.expires_at else ""
            access.add_row(a.technician, a.role, a.how, until)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return can(self.app.actor, action) if action == "history" else True

    def action_history(self) -> None:
        from .history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.cred))

    def action_close(self) -> None:
        self.dismiss(None)

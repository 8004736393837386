"""History of one credential: every version, who set it and when. Enter reveals an old
version, which is an access event like any other reveal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

if TYPE_CHECKING:
    from custodian import CredentialInfo, VersionInfo

    from ..app import CustodianApp


class HistoryScreen(ModalScreen[None]):
    app: CustodianApp
    BINDINGS = [
        Binding("enter", "reveal", "Reveal version"),
        Binding("escape,q", "close", "Close"),
    ]

    @dataclass
    class Loaded(Message):
        versions: list[VersionInfo]

    def __init__(self, cred: CredentialInfo) -> None:
        super().__init__()
        self.cred = cred
        self.versions: list[VersionInfo] = []

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="history-box", classes="dialog") as box:
            box.border_title = f"History of {self.cred.path}"
            yield Static("loading…", id="history-summary")
            yield DataTable(id="versions", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#versions", DataTable)
        for label in ("Version", "Set by", "At (UTC)", "Fields", "Key"):
            table.add_column(label)
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="history")
    def load(self) -> None:
        with self.app.service_errors():
            self.post_message(self.Loaded(self.app.session.history(self.cred.path)))

    def on_history_screen_loaded(self, message: Loaded) -> None:
        self.versions = list(reversed(message.versions))
        table = self.query_one("#versions", DataTable)
        table.clear()
        for v in self.versions:
            current = " (current)" if v.version == self.cred.version else ""
            table.add_row(
                f"{v.version}{current}",
                v.created_by,
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                ", ".join(v.fields),
                str(v.key_version),
                key=str(v.version),
            )
        self.query_one("#history-summary", Static).update(
            f"{len(self.versions)} version{'' if len(self.versions) == 1 else 's'}"
            " · enter reveals one (logged)"
        )

    @on(DataTable.RowSelected, "#versions")
    def action_reveal(self) -> None:
        table = self.query_one("#versions", DataTable)
        if not self.versions or not table.row_count:
            return
        v = self.versions[table.cursor_row]
        version = None if v.version == self.cred.version else v.version
        self.app.open_reveal(self.cred, version=version, fields=v.fields)

    def action_close(self) -> None:
        self.dismiss(None)

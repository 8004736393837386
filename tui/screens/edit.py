"""Editing the selected credential from the home screen (`e`): a form (name, system,
username, URL) that dismisses with a `CredentialEdit` of what changed, or None. The home
screen runs the change in a worker; the service decides who may."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from custodian import CredentialEdit

if TYPE_CHECKING:
    from custodian import CredentialInfo

_FIELDS = (("name", "Name"), ("system", "System"), ("username", "Username"), ("url", "URL"))


class EditScreen(ModalScreen[CredentialEdit | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, cred: CredentialInfo) -> None:
        super().__init__()
        self.cred = cred
        self.before = {
            "name": cred.name,
            "system": cred.system,
            "username": cred.username or "",
            "url": cred.url or "",
        }

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="edit-box") as box:
            box.border_title = f"Edit {self.cred.path}"
            for key, label in _FIELDS:
                yield Label(label)
                yield Input(self.before[key], id=f"edit-{key}")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#edit-name", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def save(self) -> None:
        changed = {
            key: self.query_one(f"#edit-{key}", Input).value.strip()
            for key, _ in _FIELDS
            if self.query_one(f"#edit-{key}", Input).value.strip() != self.before[key]
        }
        if not changed:
            self.dismiss(None)
            return
        get = changed.get
        self.dismiss(CredentialEdit(get("name"), get("system"), get("username"), get("url")))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

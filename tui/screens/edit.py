"""Editing the selected credential (`e`) or its system (`E`) from the home screen: forms
that dismiss with a `CredentialEdit` / `SystemEdit` of what changed, or None. The home
screen runs the change in a worker; the service decides who may."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from custodian import CredentialEdit, SystemEdit

if TYPE_CHECKING:
    from custodian import CredentialInfo

    from .home import HomeScreen

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


_SYSTEM_FIELDS = (("name", "Name"), ("host", "Host"), ("port", "Port (0: none)"))


class SystemEditScreen(ModalScreen[SystemEdit | None]):
    """Rename a system or change its host and port (`E` on the home screen)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, cred: CredentialInfo) -> None:
        super().__init__()
        self.path = f"{cred.customer}/{cred.system}"
        self.before = {"name": cred.system, "host": cred.host or "", "port": ""}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="system-edit-box") as box:
            box.border_title = f"Edit system {self.path}"
            for key, label in _SYSTEM_FIELDS:
                yield Label(label)
                yield Input(self.before[key], id=f"system-{key}")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#system-name", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def save(self) -> None:
        value = {k: self.query_one(f"#system-{k}", Input).value.strip() for k, _ in _SYSTEM_FIELDS}
        port = value["port"]
        if port and not port.isdigit():
            self.notify("the port is a number", severity="warning")
            return
        change = SystemEdit(
            name=value["name"] if value["name"] != self.before["name"] else None,
            host=value["host"] if value["host"] != self.before["host"] else None,
            port=int(port) if port else None,
        )
        self.dismiss(change if change != SystemEdit() else None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the home screen's actions (`e`, `E`, Delete, shift+Delete) --------------------------


def edit_credential(home: HomeScreen) -> None:
    cred = home.current()
    if cred is None:
        return
    session = home.app.session

    def done(change: CredentialEdit | None) -> None:
        if change is not None:
            home.change(f"saved {cred.path}", session.edit, cred.path, change)

    home.app.push_screen(EditScreen(cred), done)


def edit_system(home: HomeScreen) -> None:
    cred = home.current()
    if cred is None:
        return
    path, session = f"{cred.customer}/{cred.system}", home.app.session

    def done(change: SystemEdit | None) -> None:
        if change is not None:
            home.change(f"saved {path}", session.edit, path, change)

    home.app.push_screen(SystemEditScreen(cred), done)


def delete(home: HomeScreen, *, system: bool) -> None:
    """Delete the selected credential, or its whole system, once confirmed (admins)."""
    from .confirm import ConfirmScreen

    cred = home.current()
    if cred is None:
        return
    path = f"{cred.customer}/{cred.system}" if system else cred.path
    what = "Every credential in it is" if system else "Every version of its secret is"

    def done(yes: bool | None) -> None:
        if yes:
            home.change(f"deleted {path}", home.app.session.delete, path)

    question = f"Delete {path}? {what} destroyed."
    home.app.push_screen(ConfirmScreen(question, yes="Delete", danger=True), done)

"""Editing the selected credential (`e`) or its system (`E`) from the home screen: forms
that dismiss with a `CredentialEdit` / `SystemEdit` of what changed, or None. The home
screen reads what the forms show (notes, tags, the system's kind) in a worker first,
and runs the change in a worker after; the service decides who may."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from custodian import CredentialEdit, NotFound, SystemEdit, SystemKind

if TYPE_CHECKING:
    from custodian import CredentialDetail, SystemInfo

    from .home import HomeScreen

T = TypeVar("T")

_FIELDS = (("name", "Name"), ("system", "System"), ("username", "Username"), ("url", "URL"))


def _tags(text: str) -> tuple[str, ...]:
    """`a, b,,c ` -> ("a", "b", "c"): the tags as the form's one line gives them."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


class EditScreen(ModalScreen[CredentialEdit | None]):
    """Rename, move, or change a credential's username, URL, notes and tags."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, detail: CredentialDetail) -> None:
        super().__init__()
        cred = detail.credential
        self.cred = cred
        self.before = {
            "name": cred.name,
            "system": cred.system,
            "username": cred.username or "",
            "url": cred.url or "",
        }
        self.notes = detail.notes or ""
        self.tags = detail.tags

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="edit-box") as box:
            box.border_title = f"Edit {self.cred.path}"
            for key, label in _FIELDS:
                yield Label(label)
                yield Input(self.before[key], id=f"edit-{key}")
            yield Label("Tags (comma-separated)")
            yield Input(", ".join(self.tags), id="edit-tags")
            yield Label("Notes")
            yield TextArea(self.notes, id="edit-notes", classes="notes")
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
        tags = _tags(self.query_one("#edit-tags", Input).value)
        notes = self.query_one("#edit-notes", TextArea).text
        get = changed.get
        change = CredentialEdit(
            get("name"),
            get("system"),
            get("username"),
            get("url"),
            notes=notes if notes != self.notes else None,
            tags=tags if tags != self.tags else None,
        )
        self.dismiss(change if change != CredentialEdit() else None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


_SYSTEM_FIELDS = (("name", "Name"), ("host", "Host"), ("port", "Port (empty: none)"))


class SystemEditScreen(ModalScreen[SystemEdit | None]):
    """Rename a system or change its kind, host, port and notes (`E` on the home screen)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, system: SystemInfo, port: int | None) -> None:
        super().__init__()
        self.path = f"{system.customer}/{system.name}"
        self.kind = system.kind
        self.notes = system.notes or ""
        self.before = {
            "name": system.name,
            "host": system.host or "",
            "port": str(port) if port else "",
        }

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="system-edit-box") as box:
            box.border_title = f"Edit system {self.path}"
            for key, label in _SYSTEM_FIELDS:
                yield Label(label)
                yield Input(self.before[key], id=f"system-{key}")
            yield Label("Kind")
            kinds = [(k.value, k.value) for k in SystemKind]
            yield Select(kinds, value=self.kind, allow_blank=False, id="system-kind")
            yield Label("Notes")
            yield TextArea(self.notes, id="system-notes", classes="notes")
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
        kind = str(self.query_one("#system-kind", Select).value)
        notes = self.query_one("#system-notes", TextArea).text
        change = SystemEdit(
            name=value["name"] if value["name"] != self.before["name"] else None,
            kind=kind if kind != self.kind else None,
            host=value["host"] if value["host"] != self.before["host"] else None,
            port=(int(port) if port else 0) if port != self.before["port"] else None,
            notes=notes if notes != self.notes else None,
        )
        self.dismiss(change if change != SystemEdit() else None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the home screen's actions (`i`, `e`, `E`, Delete, shift+Delete) ---------------------


def _read_then(home: HomeScreen, read: Callable[[], T], then: Callable[[T], object]) -> None:
    """Run the service call `read` in a worker, then `then(result)` on the UI thread (a
    failure is the app's notification, and `then` is not called)."""

    def work() -> None:
        with home.app.service_errors():
            result = read()
            home.app.call_from_thread(then, result)

    home.run_worker(work, thread=True, group="inventory")


def show_credential(home: HomeScreen) -> None:
    from .show import CredentialScreen

    cred = home.current()
    if cred is not None:
        home.app.push_screen(CredentialScreen(cred))


def edit_credential(home: HomeScreen) -> None:
    cred = home.current()
    if cred is None:
        return
    session = home.app.session

    def done(change: CredentialEdit | None) -> None:
        if change is not None:
            home.change(f"saved {cred.path}", session.edit, cred.path, change)

    def ask(detail: CredentialDetail) -> None:
        home.app.push_screen(EditScreen(detail), done)

    _read_then(home, partial(session.show_credential, cred.path), ask)


def edit_system(home: HomeScreen) -> None:
    cred = home.current()
    if cred is None:
        return
    path, session = f"{cred.customer}/{cred.system}", home.app.session

    def done(change: SystemEdit | None) -> None:
        if change is not None:
            home.change(f"saved {path}", session.edit, path, change)

    def read() -> tuple[SystemInfo, int | None]:
        systems = session.show_customer(cred.customer).systems
        system = next((s for s in systems if s.name == cred.system), None)
        if system is None:
            raise NotFound(f"no system {path!r}")
        return system, session.show_credential(cred.path).port

    _read_then(home, read, lambda found: home.app.push_screen(SystemEditScreen(*found), done))


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


def retire(home: HomeScreen) -> None:
    """Retire the selected credential (kept, out of the list), or un-retire a retired one,
    once confirmed. The service decides who may (edit's rule)."""
    from .confirm import ConfirmScreen

    cred = home.current()
    if cred is None:
        return
    path, session, undo = cred.path, home.app.session, cred.retired_at is not None

    def done(yes: bool | None) -> None:
        if yes:
            verb = "un-retired" if undo else "retired"
            home.change(f"{verb} {path}", partial(session.retire_credential, undo=undo), path)

    if undo:
        question, yes = f"Un-retire {path}? It is listed and rotated again.", "Un-retire"
    else:
        question, yes = f"Retire {path}? It is kept, but hidden and never rotated.", "Retire"
    home.app.push_screen(ConfirmScreen(question, yes=yes), done)


def toggle_retired(home: HomeScreen) -> None:
    """List retired credentials too, or hide them again (the default)."""
    home.show_retired = not home.show_retired
    home.app.notify("retired credentials shown" if home.show_retired else "retired hidden")
    home.load()


ACTIONS: dict[str, Callable[[HomeScreen], None]] = {
    "show": show_credential,
    "edit": edit_credential,
    "edit_system": edit_system,
    "delete": partial(delete, system=False),
    "delete_system": partial(delete, system=True),
    "retire": retire,
    "toggle_retired": toggle_retired,
}

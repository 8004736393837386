"""The unlock screen: username and passphrase; skipped while a cached session is valid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from custodian import AuthenticationFailed, CustodianError, resume_cached_session

if TYPE_CHECKING:
    from custodian import ActorSession
    from custodian.remote import RemoteSession

    from ..app import CustodianApp


class UnlockScreen(Screen[None]):
    app: CustodianApp

    @dataclass
    class Unlocked(Message):
        actor: ActorSession | RemoteSession

    @dataclass
    class Failed(Message):
        message: str

    def __init__(self, username: str, *, try_cache: bool) -> None:
        super().__init__()
        self._username = username
        self._try_cache = try_cache

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="unlock-box"):
            yield Static("custodian", id="unlock-title")
            yield Label("Technician")
            yield Input(self._username, id="username")
            yield Label("Passphrase")
            yield Input(password=True, id="passphrase", placeholder="your passphrase")
            yield Static("", id="unlock-error")
            yield Button("Unlock", variant="primary", id="unlock")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()
        if self._try_cache:
            self.resume(self._username)

    @work(thread=True, exclusive=True, group="unlock")
    def resume(self, username: str) -> None:
        """A session cached by `custodian unlock`, if one is still valid."""
        try:
            actor = resume_cached_session(self.app.vault, username)
        except CustodianError:
            return  # expired or changed: the passphrase it is
        if actor is not None:
            self.post_message(self.Unlocked(actor))

    @on(Input.Submitted, "#passphrase")
    @on(Input.Submitted, "#username")
    @on(Button.Pressed, "#unlock")
    def submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        field = self.query_one("#passphrase", Input)
        passphrase, field.value = field.value, ""
        if not username or not passphrase:
            self.query_one("#unlock-error", Static).update("enter your name and passphrase")
            return
        self.query_one("#unlock-error", Static).update("unlocking…")
        self.query_one("#unlock", Button).disabled = True
        self.unlock(username, passphrase)

    @work(thread=True, exclusive=True, group="unlock")
    def unlock(self, username: str, passphrase: str) -> None:
        try:
            actor = self.app.vault.unlock(username, passphrase, starts_session=True)
        except (AuthenticationFailed, CustodianError) as exc:
            self.post_message(self.Failed(str(exc)))
            return
        except Exception as exc:
            self.post_message(self.Failed(f"internal error ({type(exc).__name__})"))
            return
        self.post_message(self.Unlocked(actor))

    def on_unlock_screen_unlocked(self, message: Unlocked) -> None:
        self.app.unlocked(message.actor)

    def on_unlock_screen_failed(self, message: Failed) -> None:
        self.query_one("#unlock-error", Static).update(message.message)
        self.query_one("#unlock", Button).disabled = False
        self.query_one("#passphrase", Input).focus()

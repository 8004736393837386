"""Reveal: a credential's fields, masked; one key shows a field for a few seconds, another
copies it. Every showing and every copy is its own access event, recorded by the service
before the value reaches this screen. The `otp` field shows the current TOTP code (the
service derives it; the seed never leaves the service here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from custodian import check_out_target, write_private_file

from ..widgets.secret_field import SecretField

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from custodian import CredentialInfo, Secret

    from ..app import CustodianApp

OTP_FIELD = "otp"
OTP_PERIOD = 30  # seconds; the code the service derives is valid until the period ends


@dataclass
class SecretFetched(Message):
    path: str
    field: str
    action: str  # "reveal" or "copy"
    secret: Secret


class SecretWorkers:
    """Mixin for screens that fetch secrets: the reveal call runs in a worker thread."""

    app: CustodianApp

    if TYPE_CHECKING:  # the Screen this is mixed into provides it

        def post_message(self, message: Message) -> bool: ...

    @work(thread=True, exclusive=True, group="secret")
    def fetch_secret(
        self, path: str, field: str, reason: str | None, version: int | None, action: str
    ) -> None:
        with self.app.service_errors():
            secret = self.app.session.reveal(
                path, field=field, reason=reason, version=version, action=action
            )
            self.post_message(SecretFetched(path, field, action, secret))

    def on_secret_fetched(self, message: SecretFetched) -> None:
        if message.action == "copy":
            self.app.copy_secret(message.secret, f"{message.path} {message.field}")


def copy_worker(screen: DOMNode, cred: CredentialInfo, field: str, reason: str | None) -> None:
    assert isinstance(screen, SecretWorkers)
    screen.fetch_secret(cred.path, field, reason, None, "copy")


class RevealScreen(SecretWorkers, ModalScreen[None]):
    app: CustodianApp

    BINDINGS = [
        Binding("space,v", "show", "Show"),
        Binding("c", "copy", "Copy"),
        Binding("s", "save", "Save to file", show=False),
        Binding("up,k", "focus_previous", "Up", show=False),
        Binding("down,j", "focus_next", "Down", show=False),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(
        self,
        cred: CredentialInfo,
        *,
        reason: str | None = None,
        version: int | None = None,
        fields: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        self.cred = cred
        self.reason = reason
        self.version = version
        self.fields = fields or cred.fields

    def compose(self) -> ComposeResult:
        c = self.cred
        version = self.version or c.version
        with Vertical(id="reveal-box") as box:
            box.border_title = c.path
            box.border_subtitle = f"version {version}" + (" (old)" if self.version else "")
            yield Static(self._details(), id="reveal-details")
            for name in sorted(self.fields, key=lambda f: (f != "password", f)):
                yield SecretField(name, id=f"field-{name}")
            yield Static("", id="reveal-hint")
        yield Footer()

    def _details(self) -> str:
        c = self.cred
        rows = [
            ("username", c.username),
            ("host", c.host),
            ("url", c.url),
            ("system", f"{c.system} ({c.system_kind})"),
        ]
        if self.reason:
            rows.append(("reason", self.reason))
        from rich.markup import escape

        return "\n".join(f"[dim]{k:>12}[/]  {escape(v)}" for k, v in rows if v)

    def on_mount(self) -> None:
        self.query(SecretField).first().focus()
        seconds = self.app.config.reveal_for.total_seconds()
        self.query_one("#reveal-hint", Static).update(
            f"[dim]space shows a field for {seconds:g} s · c copies it · each is logged[/]"
        )

    def _focused_field(self) -> SecretField | None:
        focused = self.focused
        return focused if isinstance(focused, SecretField) else None

    def action_show(self) -> None:
        field = self._focused_field()
        if field is None:
            return
        if field.shown:
            field.hide()
            return
        self.fetch_secret(self.cred.path, field.field, self.reason, self.version, "reveal")

    def action_copy(self) -> None:
        field = self._focused_field()
        if field is not None:
            self.fetch_secret(self.cred.path, field.field, self.reason, self.version, "copy")

    def action_save(self) -> None:
        """Save the focused field (an attachment, or any field) to a new file, 0600."""
        from .save import SavePathScreen

        field = self._focused_field()
        if field is None:
            return
        name = field.field

        def chosen(target: str | None) -> None:
            if target:
                self.save_file(name, Path(target).expanduser())

        self.app.push_screen(SavePathScreen(name), chosen)

    @work(thread=True, group="save")
    def save_file(self, field: str, target: Path) -> None:
        """The target is checked before the reveal (logged as every reveal is)."""
        with self.app.service_errors():
            check_out_target(target, force=False)
            secret = self.app.session.reveal(
                self.cred.path, field=field, reason=self.reason, version=self.version
            )
            write_private_file(target, secret.reveal_bytes(), force=False)
            self.app.call_from_thread(self.notify, f"saved {field} to {target}")

    def action_close(self) -> None:
        for field in self.query(SecretField):
            field.hide()
        self.dismiss(None)

    def on_secret_fetched(self, message: SecretFetched) -> None:
        message.stop()
        if message.action == "copy":
            self.app.copy_secret(message.secret, f"{message.path} {message.field}")
            return
        now = self.app.config.clock()
        until = now + self.app.config.reveal_for
        if message.field == OTP_FIELD:  # a code is good until its period ends
            left = OTP_PERIOD - int(now.timestamp()) % OTP_PERIOD
            until = min(until, now + timedelta(seconds=left))
        for field in self.query(SecretField):
            if field.field == message.field:
                field.show(message.secret, now=now, until=until)

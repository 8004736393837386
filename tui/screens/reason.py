"""The reason prompt: customers that require a reason (a ticket number) get one before any
reveal. It offers the last reason given in this session."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ReasonScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, path: str, last: str | None, pattern: str | None) -> None:
        super().__init__()
        self.path = path
        self.last = last
        self.pattern = pattern

    def compose(self) -> ComposeResult:
        from rich.markup import escape

        with Vertical(id="reason-box", classes="dialog") as box:
            box.border_title = "Reason required"
            yield Static(f"Why do you need [b]{escape(self.path)}[/]? (ticket number)")
            if self.pattern:
                yield Static(f"[dim]format: {escape(self.pattern)}[/]")
            yield Input(self.last or "", placeholder="e.g. T-1234", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Continue", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        value = self.query_one("#reason", Input).value.strip()
        if not value:
            self.notify("a reason is required for this customer", severity="warning")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

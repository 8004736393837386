"""Where to save a file field (an attachment): a path prompt that dismisses with the
path, or None. The reveal screen writes the file in a worker (mode 0600, never over an
existing file)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class SavePathScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field

    def compose(self) -> ComposeResult:
        from rich.markup import escape

        with Vertical(id="save-box", classes="dialog") as box:
            box.border_title = "Save to a file"
            yield Static(f"Save [b]{escape(self.field)}[/] to (mode 0600, a new file):")
            yield Input(self.field, id="save-path")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        value = self.query_one("#save-path", Input).value.strip()
        self.dismiss(value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

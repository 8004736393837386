"""A new passphrase, typed twice in masked fields; dismisses with it, or None if cancelled.
The service checks its length; this screen only checks that the two entries agree."""

from __future__ import annotations

import hmac

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class NewPassphraseScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, *, title: str = "New passphrase", yes: str = "Set") -> None:
        super().__init__()
        self.question = question
        self.title_text = title
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="passphrase-box", classes="dialog") as box:
            box.border_title = escape(self.title_text)
            yield Static(self.question)
            yield Input(placeholder="new passphrase", password=True, id="new-pass")
            yield Input(placeholder="again", password=True, id="new-pass2")
            with Horizontal(classes="buttons"):
                yield Button(self.yes, variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#new-pass", Input).focus()

    @on(Input.Submitted, "#new-pass")
    def _next(self) -> None:
        self.query_one("#new-pass2", Input).focus()

    @on(Input.Submitted, "#new-pass2")
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        boxes = (self.query_one("#new-pass", Input), self.query_one("#new-pass2", Input))
        value, again = boxes[0].value, boxes[1].value
        if not value:
            self.notify("type the new passphrase", severity="warning")
            return
        if not hmac.compare_digest(value.encode(), again.encode()):
            boxes[1].value = ""
            self.notify("the two passphrases differ", severity="warning")
            return
        for box in boxes:
            box.value = ""
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

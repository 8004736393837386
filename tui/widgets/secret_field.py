"""`SecretField`: one field of a credential, masked until revealed, hidden again at a
deadline. It holds the revealed `Secret` only while it is shown."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from custodian import Secret

MASK = "•" * 12


class SecretField(Widget, can_focus=True):
    DEFAULT_CSS = """
    SecretField {
        height: 1;
        width: 1fr;
        padding: 0 1 0 0;  /* the label lines up with the details above it */
    }
    SecretField:focus {
        background: $accent 30%;
    }
    SecretField.-shown {
        color: $warning;
        text-style: bold;
    }
    """

    def __init__(self, field: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.field = field
        self._secret: Secret | None = None
        self._until: datetime | None = None
        self._now: datetime | None = None

    @property
    def shown(self) -> bool:
        return self._secret is not None

    def show(self, secret: Secret, *, now: datetime, until: datetime) -> None:
        self._secret, self._now, self._until = secret, now, until
        self.add_class("-shown")
        self.refresh()

    def hide(self) -> None:
        self._secret = self._until = None
        self.remove_class("-shown")
        self.refresh()

    def tick(self, now: datetime) -> None:
        self._now = now
        if self._until is not None and now >= self._until:
            self.hide()
        elif self.shown:
            self.refresh()

    def render(self) -> Text:
        label = Text(f"{self.field:>12}  ", style="dim")
        if self._secret is None:
            return label + Text(MASK)
        left = ""
        if self._until is not None and self._now is not None:
            left = f"   (hides in {max(0, int((self._until - self._now).total_seconds()))} s)"
        if self._secret.is_file:  # an attachment: its size, never its bytes on screen
            size = len(self._secret.reveal_bytes())
            return label + Text(f"file, {size} bytes · s saves it") + Text(left, style="dim")
        return label + Text(self._secret.reveal()) + Text(left, style="dim")

"""What every admin tab shares: one service call in a worker, its outcome posted as
`Done` (which bubbles up to the admin screen: a status line, a notification, a reload)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message

if TYPE_CHECKING:
    from ..app import CustodianApp


@dataclass
class Done(Message):
    text: str
    reload: bool = True


class Changes:
    """Mixin for the admin screen and its tabs (each a DOM node)."""

    app: CustodianApp

    if TYPE_CHECKING:  # the widget this is mixed into provides it

        def post_message(self, message: Message) -> bool: ...

    @work(thread=True, group="admin-change")
    def change(self, description: str, call: Any, *args: Any, **kwargs: Any) -> None:
        """Run one service call; report its outcome (the service's message on failure)."""
        with self.app.service_errors():
            call(*args, **kwargs)
            self.post_message(Done(description))

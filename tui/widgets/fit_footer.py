"""`FitFooter`: the key footer, compact (less space between keys) on a terminal narrower
than 100 columns, so that 80 columns hold every key the screen shows."""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import Footer

NARROW = 100


class FitFooter(Footer):
    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < NARROW

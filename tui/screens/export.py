"""Export of the access log: a prompt for the file (default: a new file in the user's
downloads or documents directory), then the events written in a worker, user-only, and
the path said. Technicians export their own events (the service decides what they see)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

if TYPE_CHECKING:
    from custodian import EventInfo


def default_export_path(directory: Path, now: datetime, fmt: str) -> Path:
    return directory / f"custodian-log-{now:%Y%m%d-%H%M%S}.{fmt}"


class ExportScreen(ModalScreen[Path | None]):
    """Asks where to write; dismisses the absolute path, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default: Path, fmt: str, what: str) -> None:
        super().__init__()
        self.default = default
        self.fmt = fmt
        self.what = what

    def compose(self) -> ComposeResult:
        from rich.markup import escape

        with Vertical(id="export-box", classes="dialog") as box:
            box.border_title = f"Export {self.fmt.upper()}"
            yield Static(f"Write {escape(self.what)} to (a new file, readable by you only):")
            yield Input(str(self.default), id="export-path")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        value = self.query_one("#export-path", Input).value.strip()
        if not value:
            self.notify("give a file to write", severity="warning")
            return
        self.dismiss(Path(value).expanduser().absolute())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def write_events(events: Iterator[EventInfo], path: Path, fmt: str) -> int:
    """Write events as CSV or JSON (one array), created user-only; returns the count."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    count = 0
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        if fmt == "csv":
            writer: csv.DictWriter[str] | None = None
            for e in events:
                row = e.to_dict()
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                count += 1
        else:
            fh.write("[")
            for e in events:
                fh.write(("," if count else "") + "\n" + json.dumps(e.to_dict()))
                count += 1
            fh.write("\n]\n")
    return count

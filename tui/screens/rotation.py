"""Rotation on the device from the TUI: `RotateScreen` (one credential: confirm, rotate in
a worker, show the outcome) and `WorklistScreen` (the rotation worklist, with "rotate
now" for the selected entry or all of them, and each result). Service calls run in
thread workers that post typed messages back; a failure shows the service's message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from custodian import CustodianError

if TYPE_CHECKING:
    from ..app import CustodianApp


@dataclass
class Rotated(Message):
    path: str
    outcome: str  # rotated, failed
    detail: str  # the new version, or the error


def rotate_one(app: CustodianApp, path: str, reason: str | None) -> Rotated:
    """One rotation, in a worker thread: its outcome as a message, never an exception."""
    try:
        result = app.session.rotator().rotate(path, reason=reason)
    except CustodianError as exc:
        return Rotated(path, "failed", str(exc))
    except Exception as exc:  # one line, never a traceback
        return Rotated(path, "failed", f"internal error ({type(exc).__name__})")
    return Rotated(path, result.outcome, f"version {result.version}")


class RotateScreen(ModalScreen[None]):
    """Rotate one credential on its device."""

    app: CustodianApp
    BINDINGS = [Binding("y", "rotate", "Rotate now"), Binding("escape,q", "close", "Close")]

    def __init__(self, path: str, reason: str | None = None) -> None:
        super().__init__()
        self.path, self.reason, self.started = path, reason, False

    def compose(self) -> ComposeResult:
        with Vertical(id="rotate-box", classes="dialog") as box:
            box.border_title = f"Rotate {self.path}"
            yield Static(
                "Change this password on the device, verify it, then keep it (y); escape cancels.",
                id="rotate-status",
            )
        yield Footer()

    def action_rotate(self) -> None:
        if self.started:
            return
        self.started = True
        self.query_one("#rotate-status", Static).update("rotating on the device…")
        self.run_rotation()

    @work(thread=True, exclusive=True, group="rotate")
    def run_rotation(self) -> None:
        self.post_message(rotate_one(self.app, self.path, self.reason))

    def on_rotated(self, message: Rotated) -> None:
        text = (
            f"rotated: {message.detail}"
            if message.outcome == "rotated"
            else f"failed, the old password stays current: {message.detail}"
        )
        self.query_one("#rotate-status", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)


class WorklistScreen(Screen[None]):
    """The rotation worklist (admins and auditors see it), with "rotate now"."""

    app: CustodianApp
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "rotate_selected", "Rotate now"),
        Binding("a", "rotate_all", "Rotate all"),
        Binding("r", "refresh", "Refresh"),
    ]

    @dataclass
    class Loaded(Message):
        rows: list[tuple[str, str, str]]  # path, why, flagged

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="worklist-summary")
        yield DataTable(id="worklist", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#worklist", DataTable)
        for label in ("Credential", "Why", "Flagged (UTC)", "Result"):
            table.add_column(label, key=label)
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="worklist")
    def load(self) -> None:
        with self.app.service_errors():
            entries = self.app.session.rotation_list()
            rows = {
                e.path: (e.path, e.why, e.flagged_at.strftime("%Y-%m-%d %H:%M")) for e in entries
            }
            self.post_message(self.Loaded(list(rows.values())))

    def on_worklist_screen_loaded(self, message: Loaded) -> None:
        table = self.query_one("#worklist", DataTable)
        table.clear()
        for path, why, flagged in message.rows:
            table.add_row(path, why, flagged, "", key=path)
        self.query_one("#worklist-summary", Static).update(
            f"{len(message.rows)} credential(s) to rotate · n rotates the selected one,"
            " a all of them"
        )

    def action_refresh(self) -> None:
        self.load()

    def _paths(self, every: bool) -> list[str]:
        table = self.query_one("#worklist", DataTable)
        if not table.row_count:
            return []
        keys = [str(row.key.value) for row in table.ordered_rows]
        return keys if every else [keys[table.cursor_row]]

    def action_rotate_selected(self) -> None:
        self.rotate(self._paths(False))

    def action_rotate_all(self) -> None:
        self.rotate(self._paths(True))

    @work(thread=True, exclusive=True, group="worklist-rotate")
    def rotate(self, paths: list[str]) -> None:
        for path in paths:
            self.post_message(rotate_one(self.app, path, "rotation worklist (TUI)"))

    def on_rotated(self, message: Rotated) -> None:
        table = self.query_one("#worklist", DataTable)
        text = message.detail if message.outcome == "rotated" else f"failed: {message.detail}"
        table.update_cell(message.path, "Result", f"{message.outcome}: {text}"[:120])

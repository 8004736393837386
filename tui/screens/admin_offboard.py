"""The admin console's offboarding wizard (customer, retention, an optional KDBX handover
with a grant for it), confirmed with the steps listed, then run in a worker that stops at
the first refusal; and purge of customers past their retention date."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Select, Static, TabPane

from custodian import check_handover_passphrase, check_handover_target

from .admin_change import Changes, Done
from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from ..app import CustodianApp


class OffboardTab(Changes, TabPane):
    app: CustodianApp

    def __init__(self) -> None:
        super().__init__("Offboard", id="tab-offboard")

    def retention(self) -> int | None:
        """The vault's default retention in days, as the admin screen loaded it."""
        days = getattr(self.screen, "retention", None)
        return days if isinstance(days, int) else None

    def compose(self) -> ComposeResult:
        yield Static(
            "Offboarding revokes every grant and schedules the customer's data for"
            " destruction after the retention period. Give a file to hand the"
            " current credentials over first (KeePass KDBX 4, passphrase of 12+"
            " characters); the handover needs a grant, which the wizard can give"
            " you for an hour."
        )
        with Horizontal(classes="filters"):
            yield Select([], prompt="customer", id="off-customer")
            yield Input(placeholder="retention days (default)", id="off-days")
        with Horizontal(classes="filters"):
            yield Input(placeholder="handover file (.kdbx)", id="off-file")
            yield Input(placeholder="KDBX passphrase", password=True, id="off-pass")
            yield Input(placeholder="again", password=True, id="off-pass2")
        with Horizontal(classes="filters"):
            yield Checkbox("grant me 1 h for the handover", value=True, id="off-grant")
            yield Button("Offboard…", id="off-go", variant="error")
        yield Button("Purge customers past retention…", id="purge-go", variant="error")

    @on(Button.Pressed, "#off-go")
    def offboard(self) -> None:
        """The wizard: check the inputs, confirm with a summary, then (in a worker)
        grant, hand over, offboard, stopping at the first refusal."""
        slug = self.query_one("#off-customer", Select).value
        days_text = self.query_one("#off-days", Input).value.strip()
        file_text = self.query_one("#off-file", Input).value.strip()
        secrets = (self.query_one("#off-pass", Input), self.query_one("#off-pass2", Input))
        passphrase, again = secrets[0].value, secrets[1].value
        if not isinstance(slug, str):
            self.app.show_error("choose a customer first", "invalid input")
            return
        if days_text and not days_text.isdigit():
            self.app.show_error("retention days must be a whole number", "invalid input")
            return
        if file_text and passphrase != again:
            self.app.show_error("the two handover passphrases differ", "invalid input")
            return
        if not file_text and passphrase:
            self.app.show_error("a passphrase without a handover file", "invalid input")
            return
        days = int(days_text) if days_text else self.retention()
        path = Path(file_text).expanduser().absolute() if file_text else None
        grant_me = self.query_one("#off-grant", Checkbox).value
        until = self.app.config.clock() + timedelta(days=days) if days is not None else None
        steps = []
        if path is not None:
            if grant_me:
                steps.append(f"grant you ({self.app.username}) access for 1 h")
            steps.append(f"write the handover to [b]{path}[/] (KDBX 4)")
        steps.append("revoke every grant and rotate the customer key")
        steps.append(
            f"destroy its data after [b]{until:%Y-%m-%d}[/] ({days} days)"
            if until
            else "destroy its data after the default retention"
        )
        question = f"Offboard [b]{slug}[/]?\n" + "\n".join(
            f"{i}. {step}" for i, step in enumerate(steps, 1)
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                for box in secrets:
                    box.value = ""
                self.offboard_customer(slug, days, path, passphrase, grant_me)

        self.app.push_screen(ConfirmScreen(question, yes="Offboard", danger=True), confirmed)

    @work(thread=True, group="admin-change")
    def offboard_customer(
        self, slug: str, days: int | None, path: Path | None, passphrase: str, grant_me: bool
    ) -> None:
        with self.app.service_errors():
            actor = self.app.session
            said = []
            if path is not None:
                # before the grant: a bad file or passphrase changes nothing
                check_handover_target(path)
                check_handover_passphrase(passphrase)
                if grant_me:
                    actor.grant(
                        actor.username, slug, until=self.app.config.clock() + timedelta(hours=1)
                    )
                data = actor.hand_over(slug, path, passphrase)
                said.append(f"wrote {data.count} credential(s) to {path}")
            result = actor.offboard(slug, retention_days=days)
            said.append(
                f"offboarded {slug}: revoked {', '.join(result.revoked) or 'nobody'};"
                f" data destroyed after {result.purge_after:%Y-%m-%d %H:%M} UTC"
            )
            self.post_message(Done("; ".join(said)))

    @on(Button.Pressed, "#purge-go")
    def purge(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change("purged customers past their retention date", self.app.session.purge)

        self.app.push_screen(
            ConfirmScreen(
                "Destroy every offboarded customer past its retention date? This cannot be undone.",
                yes="Purge",
                danger=True,
            ),
            confirmed,
        )

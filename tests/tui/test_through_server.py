"""The TUI through `custodian serve` (--server): the same screens, on a `RemoteVault`.

A real server process runs over the demo vault; the app unlocks on the unlock screen
(the passphrase opens the member's key in this process, nothing else sees it), lists
only granted customers, reveals and copies with a reason, each an access event the
member signed. What a server's session does not offer yet is hidden, not failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from custodian.remote import RemoteSession, RemoteVault
from custodian_tui import CustodianApp, make_app
from custodian_tui.screens.history import HistoryScreen
from custodian_tui.screens.home import HomeScreen
from custodian_tui.screens.log import LogScreen
from custodian_tui.screens.palette import SELECTED_COMMANDS
from custodian_tui.screens.reason import ReasonScreen
from custodian_tui.screens.reveal import RevealScreen
from custodian_tui.screens.show import CredentialScreen
from custodian_tui.screens.unlock import UnlockScreen
from custodian_tui.service_features import NEEDS
from custodian_tui.widgets.secret_field import SecretField
from tests.cli.clikit import Cli
from tests.conftest import VaultKit
from tests.server.serverkit import Served, start_server
from tests.tui.conftest import both_databases, config
from tests.tui.test_technician import SIZE, customer_ids, events, open_home_row, table_keys, unlock

pytestmark = pytest.mark.asyncio


@pytest.fixture
def server(demo: VaultKit, tmp_path: Path) -> Iterator[Served]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    served = start_server(Cli(demo.url, runtime), tmp_path)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def remote_app(demo: VaultKit, server: Served) -> Iterator[Callable[[str], CustodianApp]]:
    remotes: list[RemoteVault] = []

    def build(user: str) -> CustodianApp:
        remotes.append(RemoteVault(server.url))
        return make_app(vault=remotes[-1], username=user, config=config(demo))

    yield build
    for remote in remotes:
        remote.close()


@both_databases
async def test_unlock_lists_granted_customers_and_reveals_with_a_signed_event(remote_app, demo):
    app = remote_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, UnlockScreen)
        await unlock(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert isinstance(app.actor, RemoteSession)
        assert customer_ids(app) == ["*", "acme", "globex"]
        assert not any(k.startswith("initech/") for k in table_keys(app))
        assert "Initech" not in app.export_screenshot()

        await open_home_row(app, pilot, "acme/dc01/admin")
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonScreen)  # acme requires a reason
        await pilot.press(*"T-9001", "enter")
        assert isinstance(app.screen, RevealScreen)
        field = app.screen.query_one("#field-password", SecretField)
        assert not events(demo, "reveal")  # nothing asked of the server yet
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert field.shown and "pw-acme-dc01-v2" in app.export_screenshot()
    [event] = events(demo, "reveal")
    assert (event.actor, event.target, event.reason, event.outcome) == (
        "alice",
        "acme/dc01/admin",
        "T-9001",
        "ok",
    )


async def test_copy_through_the_server_is_a_copy_event(remote_app, demo):
    app = remote_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await unlock(app, pilot)
        await open_home_row(app, pilot, "globex/hp-4050/admin")
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.clipboard == "pw-globex-hp-4050"
    [event] = events(demo, "copy")
    assert (event.actor, event.target, event.outcome) == ("alice", "globex/hp-4050/admin", "ok")
    assert not events(demo, "reveal")


async def test_a_wrong_passphrase_is_refused_and_counted_by_the_server(remote_app, demo):
    app = remote_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await unlock(app, pilot, "not alice's passphrase")
        assert isinstance(app.screen, UnlockScreen)
        assert app.actor is None
        error = str(app.screen.query_one("#unlock-error", Static).render())
        assert "authentication failed" in error
    failed = [e for e in events(demo, "unlock") if e.outcome == "failed"]
    assert failed and failed[-1].actor == "alice"


async def test_history_and_the_credential_card_through_the_server(remote_app):
    app = remote_app("alice")
    async with app.run_test(size=SIZE) as pilot:
        await unlock(app, pilot)
        await open_home_row(app, pilot, "acme/dc01/admin")
        await pilot.press("h")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        shot = app.export_screenshot()
        assert "admin" in shot and "otp" in shot  # versions 1 and 2, with their fields
        await pilot.press("escape")
        await pilot.press("i")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, CredentialScreen)
        assert "alice" in app.export_screenshot()  # who can open it, from the directory


async def test_an_auditor_reviews_and_verifies_the_log_through_the_server(remote_app, demo):
    app = remote_app("audrey")
    async with app.run_test(size=SIZE) as pilot:
        await unlock(app, pilot)
        app.action_open_log()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LogScreen)
        table = app.screen.query_one("#events", DataTable)
        assert table.row_count == len(demo.admin.events())  # every event, verified here
        await pilot.press("V")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "chain verified" in str(app.screen.query_one("#log-status", Static).render())
    assert [e.action for e in demo.admin.events()][-1] == "log-verify"


async def test_what_the_server_does_not_offer_is_hidden_and_inert(remote_app):
    app = remote_app("admin")  # on a database every action and screen is the admin's
    async with app.run_test(size=SIZE) as pilot:
        await unlock(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        home = app.screen
        for what, methods in NEEDS.items():
            offered = all(callable(getattr(app.actor, m, None)) for m in methods)
            if what in ("log", "admin"):
                assert app.can_use(what) is offered, what
            elif what in ("history", "rotate", "worklist"):
                assert home.check_action(what, ()) is offered, what
            else:
                assert home.check_action("inventory", (what,)) is offered, what
        hidden = [w for w, ms in NEEDS.items() if not all(hasattr(app.actor, m) for m in ms)]
        assert hidden, "a server's session offers everything now: drop this test's premise"
        names = {c.title for c in home.commands()}
        assert "Reveal" in names and "Copy" in names
        assert not {title for title, what, _ in SELECTED_COMMANDS if what in hidden} & names
        keys = {"history": "h", "show": "i", "edit": "e", "retire": "t", "admin": "f3"}
        for what in hidden:
            if what in keys:
                await pilot.press(keys[what])
                await pilot.pause()
                assert app.screen is home, what  # nothing opened, no error shown
        assert not [n for n in app._notifications if "internal error" in n.message]

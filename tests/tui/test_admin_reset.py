"""The admin console's "Reset passphrase…": a modal takes the new passphrase twice (masked),
the service gives the technician new keys, the old passphrase stops working."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable, Input

from custodian.errors import AuthenticationFailed
from custodian_tui.screens.passphrase import NewPassphraseScreen
from tests.conftest import PASS
from tests.tui.test_admin_wizard import open_admin
from tests.tui.test_auditor_admin import column, settle

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)
NEW = "bob's brand new passphrase"


def last_note(app):
    notes = list(app._notifications)
    assert notes, "no notification"
    return notes[-1]


async def type_twice(app, pilot, first: str, second: str) -> NewPassphraseScreen:
    modal = app.screen
    assert isinstance(modal, NewPassphraseScreen)
    boxes = modal.query_one("#new-pass", Input), modal.query_one("#new-pass2", Input)
    assert all(box.password for box in boxes)  # masked
    boxes[0].value, boxes[1].value = first, second
    modal.query_one("#ok", Button).press()
    await settle(app, pilot)
    return modal


async def test_admin_resets_bobs_passphrase(app_for, demo):
    demo.tech("bob")
    demo.admin.grant("bob", "globex")
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot, "tab-techs")
        techs = screen.query_one("#techs", DataTable)
        techs.move_cursor(row=column(techs, 0).index("bob"))

        screen.query_one("#tech-reset", Button).press()  # cancelled: nothing changes
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen

        screen.query_one("#tech-reset", Button).press()
        await settle(app, pilot)
        modal = await type_twice(app, pilot, NEW, "not the same")  # stays open
        assert app.screen is modal and modal.query_one("#new-pass2", Input).value == ""
        assert "differ" in last_note(app).message
        await type_twice(app, pilot, NEW, NEW)
        assert app.screen is screen
        assert "1 key(s) re-wrapped" in last_note(app).message

    with pytest.raises(AuthenticationFailed):
        demo.vault.unlock("bob", PASS)
    bob = demo.vault.unlock("bob", NEW)
    assert bob.reveal("globex/edge-rtr/admin").reveal() == "pw-globex-edge-rtr"
    assert ("tech-reset", "bob") in [(e.action, e.target) for e in demo.admin.events()]


async def test_the_service_refusal_is_shown_and_nothing_changes(app_for, demo):
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot, "tab-techs")
        techs = screen.query_one("#techs", DataTable)
        techs.move_cursor(row=column(techs, 0).index("alice"))
        screen.query_one("#tech-reset", Button).press()
        await settle(app, pilot)
        await type_twice(app, pilot, "short", "short")  # the service wants 8+ characters
        last = last_note(app)
        assert last.severity == "error" and "8 characters" in last.message
    assert demo.vault.unlock("alice", PASS).username == "alice"

"""Retiring a credential from the home screen (issue 19), through Pilot: `t` asks, then
retires (the row leaves the list); `T` lists retired credentials too; `t` on a retired
one un-retires it. The service decides who may, and records every refusal."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from custodian_tui.screens.confirm import ConfirmScreen
from custodian_tui.screens.home import HomeScreen
from tests.conftest import PASS
from tests.tui.conftest import both_databases
from tests.tui.test_inventory import settle
from tests.tui.test_technician import SIZE, events, open_home_row, table_keys

pytestmark = pytest.mark.asyncio

PATH = "globex/edge-rtr/admin"


def notes(app) -> str:
    return " ".join(str(n.message) for n in app._notifications)


@both_databases
async def test_retire_asks_hides_the_row_and_un_retire_brings_it_back(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, PATH)
        await pilot.press("t")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # cancelled: nothing happens
        await settle(app, pilot)
        assert PATH in table_keys(app)
        await pilot.press("t", "y")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert PATH not in table_keys(app)
        assert f"retired {PATH}" in notes(app)
        await pilot.press("T")  # retired ones listed too, marked
        await settle(app, pilot)
        assert PATH in table_keys(app)
        table = app.screen.query_one("#creds", DataTable)
        name = table.get_row(PATH)[[c.key.value for c in table.ordered_columns].index("name")]
        assert str(name) == "admin (retired)"
        await open_home_row(app, pilot, PATH)
        await pilot.press("i")  # the card says so
        await settle(app, pilot)
        meta = str(app.screen.query_one("#show-meta", Static).render())
        assert "Retired" in meta and "UTC" in meta
        await pilot.press("escape")
        await settle(app, pilot)
        await open_home_row(app, pilot, PATH)
        await pilot.press("t")
        assert isinstance(app.screen, ConfirmScreen) and "Un-retire" in app.screen.question
        await pilot.press("y")
        await settle(app, pilot)
        await pilot.press("T")  # back to the default: retired hidden
        await settle(app, pilot)
        assert PATH in table_keys(app)  # active again
    alice = demo.vault.unlock("alice", PASS)
    assert alice.reveal(PATH).reveal() == "pw-globex-edge-rtr"
    assert [(e.actor, e.outcome) for e in events(demo, "cred-retire")] == [("alice", "ok")]
    assert [(e.actor, e.outcome) for e in events(demo, "cred-unretire")] == [("alice", "ok")]


async def test_the_auditor_is_refused_and_the_refusal_recorded(app_for, demo):
    app = app_for("audrey", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, PATH)
        await pilot.press("t", "y")
        await settle(app, pilot)
        assert "auditors cannot change customer data" in notes(app)
        assert PATH in table_keys(app)
    assert [(e.actor, e.outcome) for e in events(demo, "cred-retire")] == [("audrey", "denied")]
    assert demo.admin.show_credential(PATH).credential.retired_at is None

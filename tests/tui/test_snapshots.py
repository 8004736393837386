"""Snapshots of the main screens at 120x40 and 80x24 (SVGs under __snapshots__/).
Fixed clock, fixed data: a change in appearance shows up as a diff to review
(`pytest tests/tui/test_snapshots.py --snapshot-update` after reviewing the report)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]


async def settle(pilot) -> None:
    """Workers done, no animation, no blinking cursor: the same picture every run."""
    pilot.app.animation_level = "none"
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for screen in pilot.app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_unlock_screen(snap_compare, app_for, size):
    async def wrong_passphrase(pilot):
        await pilot.click("#passphrase")
        await pilot.press(*"not my passphrase", "enter")
        await settle(pilot)

    assert snap_compare(app_for("alice"), terminal_size=size, run_before=wrong_passphrase)


@pytest.mark.parametrize("size", SIZES)
def test_home_screen(snap_compare, app_for, size):
    async def loaded(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.pause()

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_home_search(snap_compare, app_for, size):
    async def searched(pilot):
        await settle(pilot)
        await pilot.press(*"admin rtr")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=searched)


@pytest.mark.parametrize("size", SIZES)
def test_reason_prompt(snap_compare, app_for, size):
    async def asked(pilot):
        await settle(pilot)
        table = pilot.app.screen.query_one("#creds", DataTable)
        table.focus()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=asked)


@pytest.mark.parametrize("size", SIZES)
def test_reveal_masked(snap_compare, app_for, size):
    async def revealed(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("enter", *"T-1234", "enter")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=revealed)


@pytest.mark.parametrize("size", SIZES)
def test_reveal_shown(snap_compare, app_for, size):
    """A shown password: its label lines up with the details, the countdown fits."""

    async def shown(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("down", "enter", *"T-1234", "enter")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES)
def test_history(snap_compare, app_for, size):
    async def history(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("h")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=history)


@pytest.mark.parametrize("size", SIZES)
def test_history_of_one_version(snap_compare, app_for, size):
    async def history(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("down", "h")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=history)


@pytest.mark.parametrize("size", SIZES)
def test_access_log_for_an_auditor(snap_compare, app_for, demo, size):
    from tests.conftest import PASS

    alice = demo.vault.unlock("alice", PASS)
    alice.reveal("globex/edge-rtr/admin")
    alice.reveal("acme/sql01/admin", reason="T-4711")
    alice.reveal("globex/hp-4050/admin", action="copy")

    async def log(pilot):
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        # reveals only: other events' details hold random ids and keys
        pilot.app.screen.query_one("#f-action").value = "reveal"
        await settle(pilot)
        pilot.app.screen.query_one("#events").focus()
        await settle(pilot)

    assert snap_compare(app_for("audrey", unlocked=True), terminal_size=size, run_before=log)


@pytest.mark.parametrize("size", SIZES)
def test_access_log_for_a_technician(snap_compare, app_for, demo, size):
    """A technician's own events, the first one's detail under the table at 80x24."""
    from tests.conftest import PASS

    alice = demo.vault.unlock("alice", PASS)
    alice.reveal("globex/edge-rtr/admin")
    alice.reveal("acme/sql01/admin", reason="T-4711")

    async def log(pilot):
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        pilot.app.screen.query_one("#events").focus()
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=log)


@pytest.mark.parametrize("size", SIZES)
def test_admin_technicians(snap_compare, app_for, size):
    async def techs(pilot):
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        pilot.app.screen.query_one("#techs").focus()
        await pilot.pause()

    assert snap_compare(app_for("admin", unlocked=True), terminal_size=size, run_before=techs)


@pytest.mark.parametrize("size", SIZES)
def test_admin_grants(snap_compare, app_for, size):
    async def grants(pilot):
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#admin-tabs").active = "tab-grants"
        screen.query_one("#grant-customer").value = "acme"
        await settle(pilot)
        screen.query_one("#grants").focus()
        await pilot.pause()

    assert snap_compare(app_for("admin", unlocked=True), terminal_size=size, run_before=grants)


@pytest.mark.parametrize("size", SIZES)
def test_admin_offboarding_confirmation(snap_compare, app_for, size):
    """The offboarding wizard's confirmation: steps, file, destruction date."""

    async def confirming(pilot):
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#admin-tabs").active = "tab-offboard"
        screen.query_one("#off-customer").value = "globex"
        screen.query_one("#off-days").value = "30"
        screen.query_one("#off-file").value = "/srv/handover/globex.kdbx"
        screen.query_one("#off-pass").value = screen.query_one("#off-pass2").value = "x" * 16
        await settle(pilot)
        screen.query_one("#off-go").press()
        await settle(pilot)

    assert snap_compare(app_for("admin", unlocked=True), terminal_size=size, run_before=confirming)


def test_help(snap_compare, app_for):
    async def helped(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=(120, 40), run_before=helped)


@pytest.mark.parametrize("size", SIZES)
def test_credential_card(snap_compare, app_for, size):
    async def card(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("i")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=card)


@pytest.mark.parametrize("size", SIZES)
def test_edit_form(snap_compare, app_for, size):
    async def form(pilot):
        await settle(pilot)
        pilot.app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("e")
        await settle(pilot)

    assert snap_compare(app_for("alice", unlocked=True), terminal_size=size, run_before=form)

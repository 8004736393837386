"""The admin console's technician disable and the offboarding wizard (handover file,
retention date, confirmation), through Pilot on a real vault."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pykeepass import PyKeePass
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static

from custodian.errors import AuthenticationFailed
from custodian_tui.screens.admin import AdminScreen
from custodian_tui.screens.confirm import ConfirmScreen
from tests.conftest import PASS
from tests.tui.conftest import both_databases
from tests.tui.test_auditor_admin import column, settle

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)
KDBX_PASS = "handover passphrase 2026"


async def open_admin(app, pilot, tab: str) -> AdminScreen:
    await settle(app, pilot)
    app.action_open_admin()
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, AdminScreen)
    screen.query_one("#admin-tabs").active = tab
    await settle(app, pilot)
    return screen


async def test_admin_disables_a_technician_after_confirming(app_for, demo):
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot, "tab-techs")
        techs = screen.query_one("#techs", DataTable)
        techs.move_cursor(row=column(techs, 0).index("alice"))
        screen.query_one("#tech-disable", Button).press()
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # cancelled: nothing changes
        await settle(app, pilot)
        assert demo.sql("SELECT active FROM technician WHERE username = 'alice'")[0][0]
        screen.query_one("#tech-disable", Button).press()
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        row = column(techs, 0).index("alice")
        assert techs.get_row_at(row)[2] == "no"
    with pytest.raises(AuthenticationFailed):
        demo.vault.unlock("alice", PASS)
    assert ("tech-remove", "alice") in [(e.action, e.target) for e in demo.admin.events()]


async def fill_wizard(
    screen, slug: str, days: str, file: Path | None, passphrase: str, again: str | None = None
) -> None:
    screen.query_one("#off-customer", Select).value = slug
    screen.query_one("#off-days", Input).value = days
    screen.query_one("#off-file", Input).value = str(file) if file else ""
    screen.query_one("#off-pass", Input).value = passphrase
    screen.query_one("#off-pass2", Input).value = passphrase if again is None else again


@both_databases
async def test_offboarding_wizard_hands_over_then_offboards(app_for, demo, tmp_path):
    target = tmp_path / "globex.kdbx"
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot, "tab-offboard")
        assert screen.query_one("#off-grant", Checkbox).value  # the admin has no grant yet
        await fill_wizard(screen, "globex", "10", target, KDBX_PASS)
        screen.query_one("#off-go", Button).press()
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        purge_day = (demo.clock() + timedelta(days=10)).strftime("%Y-%m-%d")
        assert str(target) in question and purge_day in question and "1 h" in question
        await pilot.press("y")
        await settle(app, pilot)
        status = str(screen.query_one("#admin-status", Static).render())
        assert "wrote 2 credential(s)" in status and "offboarded globex" in status
        assert screen.query_one("#off-pass", Input).value == ""
    kp = PyKeePass(str(target), password=KDBX_PASS)
    assert (
        kp.find_entries(
            title="admin", group=kp.find_groups(name="edge-rtr", first=True), first=True
        ).password
        == "pw-globex-edge-rtr"
    )
    assert target.stat().st_mode & 0o077 == 0
    [(status, purge_after)] = demo.sql(
        "SELECT status, purge_after FROM customer WHERE slug = 'globex'"
    )
    assert status == "offboarded" and str(purge_after).startswith(purge_day)
    actions = [(e.action, e.target) for e in demo.admin.events()]
    assert ("export", "globex") in actions and ("customer-offboard", "globex") in actions


async def test_offboarding_wizard_stops_before_offboarding_when_the_handover_fails(
    app_for, demo, tmp_path
):
    existing = tmp_path / "acme.kdbx"
    existing.write_text("not ours to overwrite")
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_admin(app, pilot, "tab-offboard")
        await fill_wizard(screen, "acme", "", existing, KDBX_PASS, again="something else")
        screen.query_one("#off-go", Button).press()
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # the passphrases differ
        await fill_wizard(screen, "acme", "", existing, KDBX_PASS)
        screen.query_one("#off-go", Button).press()
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        messages = [str(n.message) for n in app._notifications]
    assert any("already exists" in m for m in messages)
    assert any("passphrases differ" in m for m in messages)
    assert existing.read_text() == "not ours to overwrite"
    assert demo.sql("SELECT status FROM customer WHERE slug = 'acme'")[0][0] == "active"
    assert "admin@acme" not in [e.target for e in demo.admin.events()]  # no grant either

"""The auditor's log screen and the admin console, through Pilot on a real vault."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import Button, DataTable, Input, OptionList, Select, Static

from custodian import UsageError
from custodian_tui.screens.admin import AdminScreen
from custodian_tui.screens.confirm import ConfirmScreen
from custodian_tui.screens.export import write_events
from custodian_tui.screens.home import HomeScreen
from custodian_tui.screens.log import LogScreen, parse_since
from tests.conftest import PASS
from tests.tui.conftest import both_databases

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)


async def settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def column(table: DataTable, index: int | str) -> list[str]:
    """A column's values, by position or (fitted tables, whose columns depend on the
    width) by key."""
    if isinstance(index, str):
        return [str(v) for v in table.values_of(index)]
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


async def test_log_filters_narrow_the_events(app_for, demo):
    alice = demo.vault.unlock("alice", PASS)
    alice.reveal("globex/edge-rtr/admin")
    alice.reveal("acme/sql01/admin", reason="T-77")
    app = app_for("audrey", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, LogScreen)
        table = app.screen.query_one("#events", DataTable)
        assert table.row_count == len(demo.admin.events())
        app.screen.query_one("#f-action", Select).value = "reveal"
        await settle(app, pilot)
        assert column(table, "action") == ["reveal", "reveal"]
        app.screen.query_one("#f-reason", Input).value = "t-77"
        await pilot.click("#f-reason")
        await pilot.press("enter")
        await settle(app, pilot)
        assert column(table, "target") == ["acme/sql01/admin"]
        assert column(table, "reason") == ["T-77"]
        detail = str(app.screen.query_one("#event-detail", Static).render())
        assert "T-77" in detail and "alice" in detail
        app.screen.query_one("#f-reason", Input).value = ""
        app.screen.query_one("#f-customer", Input).value = "globex"
        await pilot.click("#f-customer")
        await pilot.press("enter")
        await settle(app, pilot)
        assert column(table, "target") == ["globex/edge-rtr/admin"]


async def test_log_pages_load_as_the_cursor_moves_down(app_for, demo):
    alice = demo.vault.unlock("alice", PASS)
    for _ in range(30):
        alice.reveal("globex/hp-4050/admin")
    total = len(demo.admin.events())
    app = app_for("audrey", unlocked=True, log_page=10)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.action_open_log()
        await settle(app, pilot)
        table = app.screen.query_one("#events", DataTable)
        assert table.row_count == 10
        table.focus()
        for _ in range(12):
            await pilot.press("down")
            await settle(app, pilot)
        assert 20 <= table.row_count < total
        while not app.screen.done:  # the rest, page by page, as scrolling would ask
            app.screen.action_more()
            await settle(app, pilot)
        assert [n.message for n in app._notifications] == []
        assert table.row_count == total
        assert column(table, "seq") == [str(e.seq) for e in demo.admin.events()]


async def test_verify_chain_reports_the_service_result(app_for, demo):
    app = app_for("audrey", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.action_open_log()
        await settle(app, pilot)
        await pilot.press("V")
        await settle(app, pilot)
        status = str(app.screen.query_one("#log-status", Static).render())
        assert "chain verified" in status
    assert [e.action for e in demo.admin.events()][-1] == "log-verify"


async def test_technician_sees_only_own_events_and_no_verify(app_for, demo):
    demo.admin.add_customer("solo", "Solo")  # an admin event alice must not see
    demo.vault.unlock("alice", PASS).reveal("globex/edge-rtr/admin")
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.action_open_log()
        await settle(app, pilot)
        table = app.screen.query_one("#events", DataTable)
        assert set(column(table, "actor")) == {"alice"}
        assert not app.screen.query("#chart")
        await pilot.press("V")
        await settle(app, pilot)
    assert "log-verify" not in [e.action for e in demo.admin.events()]


async def test_log_flags_follow_the_alert_thresholds_of_config_toml(
    app_for, demo, tmp_path, monkeypatch
):
    """A reveal on a Tuesday at 09:00 UTC: within the built-in working hours (07-19),
    off hours for a config.toml whose day starts at 10."""
    demo.clock.now = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    demo.vault.unlock("alice", PASS).reveal("globex/edge-rtr/admin")
    config = tmp_path / "config.toml"
    config.write_text('[alerts]\nwork_hours = "10-19"\n')
    for setting, flagged in (("", False), (str(config), True)):
        monkeypatch.setenv("CUSTODIAN_CONFIG", setting)
        app = app_for("audrey", unlocked=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("f2")
            await settle(app, pilot)
            assert isinstance(app.screen, LogScreen)
            assert ("off-hours" in app.screen.flags.values()) is flagged


async def test_activity_chart_counts_reveals_per_day(app_for, demo):
    from custodian_tui.widgets.activity_chart import per_day

    alice = demo.vault.unlock("alice", PASS)
    alice.reveal("globex/edge-rtr/admin")
    demo.clock.advance(timedelta(days=1))
    alice.reveal("globex/edge-rtr/admin")
    alice.reveal("globex/hp-4050/admin", action="copy")
    events = [e for e in demo.admin.events(actions=("reveal", "copy"))]
    today = demo.clock().date()
    labels, series = per_day(events, by="technician", first=today - timedelta(days=2), last=today)
    assert series == {"alice": [0, 1, 2]}
    assert len(labels) == 3


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")
def test_export_writes_csv_and_json(tmp_path, demo):
    events = demo.admin.events()
    assert write_events(iter(events), tmp_path / "log.json", "json") == len(events)
    loaded = json.loads((tmp_path / "log.json").read_text())
    assert [e["seq"] for e in loaded] == [e.seq for e in events]
    assert write_events(iter(events), tmp_path / "log.csv", "csv") == len(events)
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0].startswith("seq,at,actor") and len(lines) == len(events) + 1
    assert (tmp_path / "log.csv").stat().st_mode & 0o077 == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")
def test_parse_since_takes_spans_and_dates(demo):
    now = demo.clock()
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-03-01", now).isoformat().startswith("2026-03-01T00:00:00+00:00")
    assert parse_since("", now) is None
    with pytest.raises(UsageError, match="invalid time"):
        parse_since("yesterday", now)


def customers(app) -> list[str]:
    options = app.screen.query_one("#customers", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def open_grants(app, pilot, slug: str):
    await settle(app, pilot)
    await pilot.press("f3")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, AdminScreen)
    screen.query_one("#admin-tabs").active = "tab-grants"
    screen.query_one("#grant-customer", Select).value = slug
    await settle(app, pilot)
    return screen


@both_databases
async def test_admin_grants_then_revokes_and_the_technician_loses_the_customer(app_for, demo):
    admin_app = app_for("admin", unlocked=True)
    async with admin_app.run_test(size=SIZE) as pilot:
        screen = await open_grants(admin_app, pilot, "initech")
        screen.query_one("#grant-tech", Input).value = "alice"
        screen.query_one("#grant-until", Input).value = "30d"
        screen.query_one("#grant-add", Button).press()
        await settle(admin_app, pilot)
        grants = screen.query_one("#grants", DataTable)
        assert column(grants, 0) == ["alice"]
        expires = (demo.clock() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M")
        assert column(grants, 3) == [expires]

    tech_app = app_for("alice", unlocked=True)
    async with tech_app.run_test(size=SIZE) as tpilot:
        await settle(tech_app, tpilot)
        assert "initech" in customers(tech_app)

    admin_app = app_for("admin", unlocked=True)
    async with admin_app.run_test(size=SIZE) as pilot:
        screen = await open_grants(admin_app, pilot, "initech")
        grants = screen.query_one("#grants", DataTable)
        grants.move_cursor(row=0)
        screen.query_one("#grant-revoke", Button).press()
        await settle(admin_app, pilot)
        assert isinstance(admin_app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(admin_app, pilot)
        assert grants.row_count == 0

    tech_app = app_for("alice", unlocked=True)
    async with tech_app.run_test(size=SIZE) as tpilot:
        await settle(tech_app, tpilot)
        assert "initech" not in customers(tech_app)
    actions = [(e.action, e.target) for e in demo.admin.events()]
    assert ("grant", "alice@initech") in actions and ("revoke", "alice@initech") in actions


async def test_a_running_home_screen_loses_a_revoked_customer_on_refresh(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "globex" in customers(app)
        demo.admin.revoke("alice", "globex")
        app.screen.query_one("#creds", DataTable).focus()
        await pilot.press("r")
        await settle(app, pilot)
        assert customers(app) == ["*", "acme"]
        assert "globex" not in app.export_screenshot()


async def test_admin_adds_a_technician_and_a_customer_and_sees_service_errors(app_for, demo):
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.action_open_admin()
        await settle(app, pilot)
        screen = app.screen
        screen.query_one("#tech-name", Input).value = "bob"
        screen.query_one("#tech-pass", Input).value = PASS
        screen.query_one("#tech-add", Button).press()
        await settle(app, pilot)
        assert "bob" in column(screen.query_one("#techs", DataTable), 0)
        assert screen.query_one("#tech-pass", Input).value == ""
        screen.query_one("#admin-tabs").active = "tab-customers"
        screen.query_one("#cust-slug", Input).value = "acme"  # exists: the service refuses
        screen.query_one("#cust-name", Input).value = "Again"
        screen.query_one("#cust-add", Button).press()
        await settle(app, pilot)
        messages = [n.message for n in app._notifications]
        assert "customer 'acme' already exists" in messages
        screen.query_one("#cust-slug", Input).value = "umbrella"
        screen.query_one("#cust-name", Input).value = "Umbrella"
        screen.query_one("#cust-add", Button).press()
        await settle(app, pilot)
        assert "umbrella" in column(screen.query_one("#custs", DataTable), 0)
    assert demo.vault.unlock("bob", PASS).role.value == "technician"


async def test_admin_screen_is_not_offered_to_technicians(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert not app.can_use("admin")
        app.action_open_admin()
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_the_grants_tab_marks_a_write_only_grant(app_for, demo):
    demo.admin.grant("alice", "initech", write_only=True)
    demo.admin.grant("audrey", "initech")
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_grants(app, pilot, "initech")
        grants = screen.query_one("#grants", DataTable)
        assert sorted(column(grants, 0)) == ["alice (write-only)", "audrey"]

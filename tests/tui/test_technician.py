"""The technician's daily flow, driven through Textual's Pilot against a real vault."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import DataTable, Input, OptionList, Static

from custodian_tui.screens.history import HistoryScreen
from custodian_tui.screens.home import HomeScreen
from custodian_tui.screens.reason import ReasonScreen
from custodian_tui.screens.reveal import RevealScreen
from custodian_tui.screens.unlock import UnlockScreen
from custodian_tui.widgets.secret_field import SecretField
from tests.conftest import PASS
from tests.tui.conftest import both_databases

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)


def events(kit, action=None):
    rows = kit.admin.events()
    return [e for e in rows if action is None or e.action == action]


def customer_ids(app) -> list[str]:
    options = app.screen.query_one("#customers", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


def table_keys(app) -> list[str]:
    table = app.screen.query_one("#creds", DataTable)
    return [row.key.value for row in table.ordered_rows]


async def unlock(app, pilot, passphrase: str = PASS) -> None:
    await pilot.click("#passphrase")
    await pilot.press(*passphrase, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_wrong_passphrase_shows_the_service_message_and_stays_locked(app_for, demo):
    app = app_for("alice")
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, UnlockScreen)
        await unlock(app, pilot, "wrong passphrase")
        assert isinstance(app.screen, UnlockScreen)
        error = str(app.screen.query_one("#unlock-error", Static).render())
        assert "authentication failed for 'alice'" in error
        assert app.screen.query_one("#passphrase", Input).value == ""
        assert app.actor is None
    failed = [e for e in events(demo, "unlock") if e.outcome == "failed"]
    assert failed and failed[-1].actor == "alice"


@both_databases
async def test_right_passphrase_opens_home_with_only_granted_customers(app_for):
    app = app_for("alice")
    async with app.run_test(size=SIZE) as pilot:
        await unlock(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert customer_ids(app) == ["*", "acme", "globex"]
        keys = table_keys(app)
        assert "acme/dc01/admin" in keys and "globex/edge-rtr/admin" in keys
        assert not any(k.startswith("initech/") for k in keys)
        # not even the name of a customer without a grant appears anywhere
        assert "Initech" not in app.export_screenshot()


@both_databases
async def test_search_filters_customers_systems_and_credentials_fuzzily(app_for):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"rtr")
        assert customer_ids(app) == ["*", "globex"]
        assert table_keys(app) == ["globex/edge-rtr/admin"]
        await pilot.press("ctrl+a", "ctrl+k")  # clear the box (Input's own keys)
        await pilot.press(*"acm sql")  # several words, any order, any field
        assert table_keys(app) == ["acme/sql01/admin"]
        await pilot.press("ctrl+a", "ctrl+k", *"edgrtr")  # fuzzy: a subsequence of a word
        assert table_keys(app) == ["globex/edge-rtr/admin"]
        for query in ("tps-db", "initech"):  # a customer without a grant: never visible
            await pilot.press("ctrl+a", "ctrl+k", *query)
            assert table_keys(app) == []
            assert customer_ids(app) == ["*"]


async def test_selecting_a_customer_lists_its_credentials_grouped_by_kind(app_for):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#customers")
        await pilot.press("down")  # All -> acme
        assert app.screen.selected == "acme"
        assert table_keys(app) == ["acme/dc01/admin", "acme/sql01/admin", "acme/core-sw/admin"]
        table = app.screen.query_one("#creds", DataTable)
        kinds = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert kinds == ["AD", "Database", "Switch"]
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "Acme Corporation" in summary and "reason required" in summary


async def open_home_row(app, pilot, path: str) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    table = app.screen.query_one("#creds", DataTable)
    table.focus()
    table.move_cursor(row=table_keys(app).index(path))
    await pilot.pause()


async def test_reveal_without_a_reason_shows_masked_then_the_value_then_hides(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("enter")
        assert isinstance(app.screen, RevealScreen)
        field = app.screen.query_one("#field-password", SecretField)
        assert not field.shown and "pw-globex" not in app.export_screenshot()
        assert not events(demo, "reveal")
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert field.shown
        assert "pw-globex-edge-rtr" in app.export_screenshot()
        [event] = events(demo, "reveal")
        assert (event.actor, event.target, event.outcome) == (
            "alice",
            "globex/edge-rtr/admin",
            "ok",
        )
        demo.clock.advance(app.config.reveal_for)
        app.tick()
        await pilot.pause()
        assert not field.shown
        assert "pw-globex-edge-rtr" not in app.export_screenshot()
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


@both_databases
async def test_reveal_with_a_required_reason_asks_and_remembers_it(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "acme/sql01/admin")
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("enter")  # empty: refused, still asking
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press(*"T-4711", "enter")
        assert isinstance(app.screen, RevealScreen)
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "pw-acme-sql01" in app.export_screenshot()
        [event] = events(demo, "reveal")
        assert event.reason == "T-4711" and event.target == "acme/sql01/admin"
        await pilot.press("escape")
        await open_home_row(app, pilot, "acme/core-sw/admin")
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonScreen)
        assert app.screen.query_one("#reason", Input).value == "T-4711"  # remembered
        await pilot.press("escape")  # cancelled: nothing revealed
        assert isinstance(app.screen, HomeScreen)
    assert len(events(demo, "reveal")) == 1


@both_databases
async def test_copy_is_its_own_access_event_and_the_clipboard_clears(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/hp-4050/admin")
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.clipboard == "pw-globex-hp-4050"
        [event] = events(demo, "copy")
        assert (event.actor, event.target, event.outcome) == ("alice", "globex/hp-4050/admin", "ok")
        assert not events(demo, "reveal")
        demo.clock.advance(app.config.clipboard_for - timedelta(seconds=1))
        app.tick()
        assert app.clipboard == "pw-globex-hp-4050"
        demo.clock.advance(timedelta(seconds=1))
        app.tick()
        assert app.clipboard == ""


async def test_totp_field_shows_the_current_code_never_the_seed(app_for, demo):
    from tests.tui.conftest import TOTP_SEED

    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "acme/dc01/admin")
        await pilot.press("enter", *"T-1", "enter")
        assert isinstance(app.screen, RevealScreen)
        otp = app.screen.query_one("#field-otp", SecretField)
        otp.focus()
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert otp.shown
        shown = otp.render().plain
        code = shown.split()[1]
        assert code.isdigit() and len(code) == 6
        assert TOTP_SEED.lower() not in app.export_screenshot().lower()


@both_databases
async def test_history_lists_versions_and_reveals_an_old_one(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "acme/dc01/admin")
        await pilot.press("h")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one("#versions", DataTable)
        assert table.row_count == 2
        assert table.get_row_at(0)[1] == "admin"  # newest first, set by the admin
        await pilot.press("down", "enter", *"T-9", "enter")
        assert isinstance(app.screen, RevealScreen) and app.screen.version == 1
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "pw-acme-dc01" in app.export_screenshot()
        assert "pw-acme-dc01-v2" not in app.export_screenshot()
        [event] = events(demo, "reveal")
        assert event.detail == '{"version":1}'  # docs/audit-format.md: sorted keys, no spaces


async def test_idle_session_locks_and_forgets_what_was_shown(app_for, demo):
    app = app_for("alice", unlocked=True, idle_lock=timedelta(minutes=2))
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("enter", "space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        demo.clock.advance(timedelta(minutes=1))
        app.tick()
        assert app.actor is not None
        await pilot.press("down")  # activity resets the idle timer
        demo.clock.advance(timedelta(minutes=1, seconds=59))
        app.tick()
        assert app.actor is not None
        demo.clock.advance(timedelta(seconds=1))
        app.tick()
        await pilot.pause()
        assert app.actor is None
        assert isinstance(app.screen, UnlockScreen)
        assert len(app.screen_stack) == 2
        assert "pw-globex" not in app.export_screenshot()
        await unlock(app, pilot)
        assert isinstance(app.screen, HomeScreen)

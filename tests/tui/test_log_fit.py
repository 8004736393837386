"""The access log at 80x24 and 120x40: whole filters' hints, targets and timestamps; the
export asks where to write (never the current directory) and says where it went."""

from __future__ import annotations

import csv
import re

import pytest
from rich.cells import cell_len
from textual.widgets import Input, Static

from custodian_tui.screens.export import ExportScreen
from custodian_tui.screens.log import LogScreen
from custodian_tui.widgets.fitted_table import FittedTable
from tests.conftest import PASS
from tests.tui.test_fit import SIZES, assert_whole
from tests.tui.test_snapshots import settle

pytestmark = pytest.mark.asyncio


async def open_log(app, pilot) -> FittedTable:
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(app.screen, LogScreen)
    return app.screen.query_one("#events", FittedTable)


@pytest.mark.parametrize("size", SIZES)
async def test_log_shows_hints_targets_and_times_whole(app_for, demo, size):
    alice = demo.vault.unlock("alice", PASS)
    alice.reveal("globex/edge-rtr/admin")
    alice.reveal("acme/sql01/admin", reason="T-4711")
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=size) as pilot:
        table = await open_log(app, pilot)
        for box in app.screen.query(".filters Input").results(Input):
            assert cell_len(box.placeholder) < box.content_region.width, box.placeholder
        assert "target" in table.shown and "action" in table.shown
        assert "globex/edge-rtr/admin" in table.get_column("target")
        assert_whole(table)
        detail = app.screen.query_one("#event-detail", Static)
        text = str(detail.render())
        assert re.search(r"\bat\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\b", text), text
        assert detail.content_region.right <= app.size.width


async def test_export_asks_for_a_path_and_writes_there(app_for, demo, tmp_path):
    demo.vault.unlock("alice", PASS).reveal("globex/edge-rtr/admin")
    app = app_for("alice", unlocked=True, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_log(app, pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        box = app.screen.query_one("#export-path", Input)
        assert box.value.startswith(str(tmp_path / "custodian-log-"))
        assert box.value.endswith(".csv")
        target = tmp_path / "mine" / "alice.csv"
        target.parent.mkdir()
        box.value = str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen)
        status = str(app.screen.query_one("#log-status", Static).render())
        assert str(target) in status
    rows = list(csv.DictReader(target.open()))
    assert rows and {r["actor"] for r in rows} == {"alice"}  # a technician: their own events
    assert ("reveal", "globex/edge-rtr/admin") in {(r["action"], r["target"]) for r in rows}
    assert target.stat().st_mode & 0o077 == 0


async def test_export_cancelled_writes_nothing(app_for, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    app = app_for("audrey", unlocked=True, export_dir=out)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_log(app, pilot)
        await pilot.press("J")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen)
    assert list(out.iterdir()) == []


async def test_technicians_own_log_lists_their_successful_unlock(app_for):
    app = app_for("alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click("#passphrase")
        await pilot.press(*PASS, "enter")
        table = await open_log(app, pilot)
        pairs = list(zip(table.values_of("action"), table.values_of("outcome"), strict=True))
        assert ("unlock", "ok") in pairs

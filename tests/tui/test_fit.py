"""At 80x24 and 120x40 the tables show whole values: columns size to their content, the
least important drop out (into the line or pane beside the table), none is cut."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.widgets import DataTable, Input, Static

from custodian_tui.widgets.fitted_table import Column, FittedTable, fit
from tests.tui.test_snapshots import settle

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]


def assert_whole(table: DataTable) -> None:
    """Every shown value fits its column, and the columns fit the table's width."""
    total = 0
    for column in table.columns.values():
        width = column.get_render_width(table)
        total += width
        cells = [str(c) for c in table.get_column(column.key)]
        widest = max([cell_len(str(column.label)), *map(cell_len, cells)])
        assert width >= widest + 2 * table.cell_padding, column.label
    assert total <= table.size.width


def test_fit_keeps_essentials_and_adds_the_rest_by_priority():
    cols = [Column("a", "A"), Column("b", "B", 2), Column("c", "C", 1), Column("d", "D", 3, True)]
    widths = {"a": 10, "b": 4, "c": 10, "d": 0}
    assert fit(cols, widths, 100, 1) == ["a", "b", "c"]  # d: empty
    assert fit(cols, widths, 24, 1) == ["a", "c"]  # c before b
    assert fit(cols, widths, 5, 1) == ["a"]  # an essential column stays


@pytest.mark.asyncio
@pytest.mark.parametrize("size", SIZES)
async def test_home_shows_what_picks_a_credential_whole(app_for, size):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#creds", FittedTable)
        labels = [str(c.label) for c in table.columns.values()]
        for needed in ("Customer", "System", "Credential", "Username"):
            assert needed in labels
        assert "Rotate" not in labels  # a technician has no rotation worklist
        assert "Administrator" in table.get_column("username")
        assert_whole(table)
        if size == (80, 24):  # the host is left out of the table, so it is in the line below
            assert "Host" not in labels
            detail = str(app.screen.query_one("#cred-detail", Static).render())
            assert "dc01.acme.example" in detail


@pytest.mark.asyncio
async def test_history_of_one_version_says_1_version(app_for):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#creds", FittedTable)
        table.focus()
        table.move_cursor(row=list(table.get_column("system")).index("sql01"))
        await pilot.press("h")
        await settle(pilot)
        summary = str(app.screen.query_one("#history-summary", Static).render())
        assert summary.startswith("1 version ·")


@pytest.mark.asyncio
async def test_reveal_labels_line_up_with_the_details(app_for):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#creds", FittedTable).focus()
        await pilot.press("enter", *"T-1", "enter")
        await settle(pilot)
        details = app.screen.query_one("#reveal-details", Static)
        field = app.screen.query_one("#field-password")
        username_line = str(details.render()).splitlines()[0]
        label_end = details.content_region.x + username_line.index("username") + len("username")
        password_end = field.content_region.x + str(field.render()).index("password") + 8
        assert label_end == password_end


@pytest.mark.asyncio
@pytest.mark.parametrize("size", SIZES)
async def test_admin_hints_and_tables_are_whole(app_for, size):
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        tabs = app.screen.query_one("#admin-tabs")
        for tab in ("tab-techs", "tab-customers", "tab-grants", "tab-rotation", "tab-offboard"):
            tabs.active = tab
            if tab == "tab-grants":
                app.screen.query_one("#grant-customer").value = "acme"
            await settle(pilot)
            pane = app.screen.query_one(f"#{tab}")
            for box in pane.query(Input):
                assert cell_len(box.placeholder) < box.content_region.width, box.placeholder
            for table in pane.query(DataTable):
                assert_whole(table)


@pytest.mark.asyncio
@pytest.mark.parametrize(("user", "key"), [("alice", None), ("admin", None), ("audrey", "f2")])
async def test_footer_keys_fit_at_80x24(app_for, user, key):
    from textual.widgets._footer import FooterKey

    app = app_for(user, unlocked=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if key:
            await pilot.press(key)
            await settle(pilot)
        keys = list(app.screen.query(FooterKey))
        assert keys
        palette = app.screen.query_one("FooterKey.-command-palette")
        for item in keys:
            if item is not palette:
                assert item.region.right <= palette.region.x, item.description

"""The TUI's rotation: the rotate action on a credential and the worklist screen's
"rotate now", driven through Textual's Pilot against a real vault and a real sshd."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from custodian_tui.app import make_app
from custodian_tui.screens.rotation import RotateScreen, WorklistScreen
from tests.conftest import PASS, VaultKit
from tests.tui.conftest import config

from .conftest import add_cred, current, linux_system
from .servers import Sshd

pytestmark = pytest.mark.asyncio
OLD = "Old-pass-4711!x"


async def _settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_rotate_one_credential_from_the_tui(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)
    app = make_app(
        vault=vault.vault, username="admin", actor=vault.vault.unlock("admin", PASS),
        config=config(vault),
    )  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        app.push_screen(RotateScreen(path, "T-1"))
        await pilot.pause()
        await pilot.press("y")
        await _settle(app, pilot)
        status = str(app.screen.query_one("#rotate-status", Static).render())
        assert status.startswith("rotated: version 2"), status
    assert sshd.accepts(user, current(vault, path))


async def test_the_worklist_screen_rotates_what_was_seen(vault: VaultKit, sshd: Sshd) -> None:
    system = linux_system(vault, sshd)
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    users = [sshd.account(OLD) for _ in range(2)]
    paths = [add_cred(vault, f"{system}/svc{i}", u, OLD) for i, u in enumerate(users)]
    for path in paths:
        alice.reveal(path)
    vault.admin.revoke("alice", "acme")
    app = make_app(
        vault=vault.vault, username="admin", actor=vault.vault.unlock("admin", PASS),
        config=config(vault),
    )  # fmt: skip
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        app.push_screen(WorklistScreen())
        await _settle(app, pilot)
        table = app.screen.query_one("#worklist", DataTable)
        assert sorted(str(r.key.value) for r in table.ordered_rows) == sorted(paths)
        await pilot.press("a")
        await _settle(app, pilot)
        results = [str(table.get_cell(p, "Result")) for p in paths]
        assert all(r.startswith("rotated: version 2") for r in results), results
    for path, user in zip(paths, users, strict=True):
        assert sshd.accepts(user, current(vault, path))
    assert vault.admin.rotation_list() == []

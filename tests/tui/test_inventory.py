"""Editing and deleting a credential from the home screen (issue 19), through Pilot."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Select, Static, TextArea

from custodian import CredentialEdit, NotFound, SystemEdit
from custodian_tui.screens.confirm import ConfirmScreen
from custodian_tui.screens.edit import EditScreen
from custodian_tui.screens.home import HomeScreen
from tests.tui.conftest import both_databases
from tests.tui.test_technician import SIZE, events, open_home_row, table_keys

pytestmark = pytest.mark.asyncio


async def settle(app, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


@both_databases
async def test_edit_renames_moves_and_changes_the_username(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("e")
        await settle(app, pilot)  # the form opens once the credential's detail is read
        assert isinstance(app.screen, EditScreen)
        app.screen.query_one("#edit-name", Input).value = "root"
        app.screen.query_one("#edit-system", Input).value = "hp-4050"
        app.screen.query_one("#edit-username", Input).value = "netadmin"
        await pilot.click("#save")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "globex/hp-4050/root" in table_keys(app)
        assert "globex/edge-rtr/admin" not in table_keys(app)
    alice = demo.vault.unlock("alice", "correct horse battery staple")
    assert alice.reveal("globex/hp-4050/root").reveal() == "pw-globex-edge-rtr"
    assert alice.reveal("globex/hp-4050/root", field="username").reveal() == "netadmin"
    assert [e.action for e in events(demo, "cred-move")] == ["cred-move"]


async def test_delete_asks_then_destroys_and_a_technician_is_refused(app_for, demo):
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert "needs the role admin" in " ".join(str(n.message) for n in app._notifications)
        assert "globex/edge-rtr/admin" in table_keys(app)
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("delete")
        await pilot.press("n")  # cancelled: nothing happens
        await settle(app, pilot)
        assert "globex/edge-rtr/admin" in table_keys(app)
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert "globex/edge-rtr/admin" not in table_keys(app)
    with pytest.raises(NotFound):
        demo.admin.show_credential("globex/edge-rtr/admin")
    assert [e.outcome for e in events(demo, "cred-delete")] == ["ok"]


async def test_an_attachment_is_listed_and_saved_to_a_file(app_for, demo, tmp_path):
    from custodian import Secret, SecretPayload
    from custodian_tui.screens.reveal import RevealScreen
    from custodian_tui.screens.save import SavePathScreen
    from custodian_tui.widgets.secret_field import SecretField

    blob = b"\x00\x01binary\xff" * 100
    fields = {"password": "pw-2", "backup-cfg": Secret.from_bytes(blob)}
    demo.admin.set_secret("globex/edge-rtr/admin", SecretPayload(fields), keep_other_fields=False)
    app = app_for("alice", unlocked=True)
    target = tmp_path / "saved.cfg"
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("enter")
        assert isinstance(app.screen, RevealScreen)
        field = app.screen.query_one("#field-backup-cfg", SecretField)
        field.focus()
        await pilot.press("space")
        await settle(app, pilot)
        assert f"file, {len(blob)} bytes · s saves it" in field.render().plain
        await pilot.press("s")
        assert isinstance(app.screen, SavePathScreen)
        app.screen.query_one("#save-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
    assert target.read_bytes() == blob and target.stat().st_mode & 0o777 == 0o600
    reveals = [e.target for e in events(demo, "reveal")]
    assert reveals == ["globex/edge-rtr/admin#backup-cfg"] * 2


async def test_a_file_field_is_never_copied_to_the_clipboard(app_for, demo):
    from custodian import Secret, SecretPayload
    from custodian_tui.screens.reveal import RevealScreen
    from custodian_tui.widgets.secret_field import SecretField

    fields = {"password": "pw-2", "backup-cfg": Secret.from_bytes(b"\x00bin")}
    demo.admin.set_secret("globex/edge-rtr/admin", SecretPayload(fields), keep_other_fields=False)
    app = app_for("alice", unlocked=True)
    copied: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.copy_to_clipboard = copied.append  # the OSC 52 path: what would be sent
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("enter")
        assert isinstance(app.screen, RevealScreen)
        app.screen.query_one("#field-backup-cfg", SecretField).focus()
        await pilot.press("c")
        await settle(app, pilot)
        assert copied == []
        assert "is a file" in " ".join(str(n.message) for n in app._notifications)


async def test_a_system_is_renamed_and_deleted_from_the_home_screen(app_for, demo):
    from custodian_tui.screens.edit import SystemEditScreen

    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("E")
        await settle(app, pilot)
        assert isinstance(app.screen, SystemEditScreen)
        app.screen.query_one("#system-name", Input).value = "edge-fw"
        app.screen.query_one("#system-port", Input).value = "443"
        await pilot.click("#save")
        await settle(app, pilot)
        assert "globex/edge-fw/admin" in table_keys(app)
        detail = demo.admin.show_credential("globex/edge-fw/admin")
        assert detail.port == 443 and detail.credential.host == "edge-rtr.globex.example"
        table = app.screen.query_one("#creds")
        table.move_cursor(row=table_keys(app).index("globex/edge-fw/admin"))
        await pilot.press("shift+delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert not any(k.startswith("globex/edge-fw/") for k in table_keys(app))
    assert [s.name for s in demo.admin.show_customer("globex").systems] == ["hp-4050"]
    assert [e.target for e in events(demo, "system-delete")] == ["globex/edge-fw"]


async def test_the_edit_form_shows_and_changes_notes_and_tags(app_for, demo):
    path = "globex/edge-rtr/admin"
    demo.admin.edit(path, CredentialEdit(notes="rack 4\nconsole port", tags=("wan", "core")))
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, path)
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, EditScreen)
        assert app.screen.query_one("#edit-tags", Input).value == "core, wan"  # kept sorted
        notes = app.screen.query_one("#edit-notes", TextArea)
        assert notes.text == "rack 4\nconsole port"
        app.screen.query_one("#edit-tags", Input).value = " edge,, wan "
        notes.text = "rack 5"
        await pilot.click("#save")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "saved globex/edge-rtr/admin" in " ".join(str(n.message) for n in app._notifications)
    detail = demo.admin.show_credential(path)
    assert detail.notes == "rack 5" and detail.tags == ("edge", "wan")
    assert detail.credential.username == "Administrator"  # untouched fields stay
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:  # an empty box clears the tags
        await open_home_row(app, pilot, path)
        await pilot.press("e")
        await settle(app, pilot)
        app.screen.query_one("#edit-tags", Input).value = ""
        await pilot.click("#save")
        await settle(app, pilot)
    assert demo.admin.show_credential(path).tags == ()
    assert [e.outcome for e in events(demo, "cred-edit")][-2:] == ["ok", "ok"]


async def test_an_unchanged_edit_form_changes_nothing(app_for, demo):
    app = app_for("alice", unlocked=True)
    before = len(demo.admin.events())
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("e")
        await settle(app, pilot)
        assert isinstance(app.screen, EditScreen)  # the values as they are
        await pilot.click("#save")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
    assert [e.action for e in demo.admin.events()[before:]] == []


async def test_the_system_form_changes_kind_and_notes(app_for, demo):
    from custodian_tui.screens.edit import SystemEditScreen

    demo.admin.edit("globex/edge-rtr", SystemEdit(notes="WAN edge", port=22))
    app = app_for("admin", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, "globex/edge-rtr/admin")
        await pilot.press("E")
        await settle(app, pilot)
        assert isinstance(app.screen, SystemEditScreen)
        kind = app.screen.query_one("#system-kind", Select)
        notes = app.screen.query_one("#system-notes", TextArea)
        assert (kind.value, notes.text) == ("router", "WAN edge")
        assert app.screen.query_one("#system-port", Input).value == "22"
        kind.value = "switch"
        notes.text = "core switch, rack 2"
        app.screen.query_one("#system-port", Input).value = "ssh"
        await pilot.click("#save")
        assert isinstance(app.screen, SystemEditScreen)  # not a number: the form stays
        port = app.screen.query_one("#system-port", Input)
        port.value = ""  # empty: no port
        port.focus()
        await pilot.press("enter")  # (the warning's toast covers the button)
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
    (system,) = [s for s in demo.admin.show_customer("globex").systems if s.name == "edge-rtr"]
    assert (system.kind, system.notes) == ("switch", "core switch, rack 2")
    assert demo.admin.show_credential("globex/edge-rtr/admin").port is None


async def test_show_lists_metadata_fields_versions_and_who_can_open_it(app_for, demo):
    from custodian_tui.screens.show import CredentialScreen

    path = "acme/dc01/admin"
    demo.admin.edit(path, CredentialEdit(notes="break-glass only", tags=("tier0",)))
    app = app_for("alice", unlocked=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_home_row(app, pilot, path)
        await pilot.press("i")
        await settle(app, pilot)
        assert isinstance(app.screen, CredentialScreen)
        meta = str(app.screen.query_one("#show-meta", Static).render())
        for text in ("dc01 (active-directory)", "Administrator", "tier0", "otp, password"):
            assert text in meta, meta
        assert "break-glass only" in meta and "pw-acme" not in meta
        versions = app.screen.query_one("#show-versions", DataTable)
        assert [versions.get_row_at(i)[0] for i in range(versions.row_count)] == [
            "2 (current)",
            "1",
        ]
        access = app.screen.query_one("#show-access", DataTable)
        rows = [access.get_row_at(i)[:3] for i in range(access.row_count)]
        assert rows[0] == ["alice", "technician", "grant"]
        assert rows[1][:2] == ["admin", "admin"] and rows[1][2].startswith("organization key")
        assert len(rows) == 2  # audrey, an auditor, holds neither
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
    assert [e.action for e in events(demo) if e.action.startswith("reveal")] == []

"""`rotation run` over the worklist (concurrency, filters, dry run, skipped targets), every
credential before a handover, and connectors found through entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from custodian import SecretPayload, SystemKind
from custodian.connectors import load, names
from custodian.errors import UsageError
from tests.conftest import VaultKit

from .conftest import add_cred, current, linux_system
from .servers import Sshd

OLD = "Old-pass-4711!x"


def _seen_by_alice(vault: VaultKit, sshd: Sshd, count: int) -> list[tuple[str, str]]:
    system = linux_system(vault, sshd)
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    made = []
    for i in range(count):
        user = sshd.account(OLD)
        path = add_cred(vault, f"{system}/svc{i}", user, OLD)
        alice.reveal(path)
        made.append((path, user))
    return made


@pytest.mark.parametrize("concurrency", [1, 4])
def test_run_rotates_what_a_revoked_technician_saw(
    vault: VaultKit, sshd: Sshd, concurrency: int
) -> None:
    made = _seen_by_alice(vault, sshd, 5)
    unseen = sshd.account(OLD)
    add_cred(vault, "acme/web01/unseen", unseen, OLD)
    vault.admin.revoke("alice", "acme")
    rotator = vault.admin.rotator()
    planned = rotator.run(dry_run=True)
    assert sorted(r.path for r in planned) == sorted(p for p, _ in made)
    assert {r.outcome for r in planned} == {"would-rotate"}
    results = rotator.run(slug="acme", cause="seen", concurrency=concurrency)
    assert sorted((r.path, r.outcome) for r in results) == sorted((p, "rotated") for p, _ in made)
    for path, user in made:
        assert sshd.accepts(user, current(vault, path))
    assert sshd.accepts(unseen, OLD)
    assert vault.admin.rotation_list() == []
    assert vault.sql("SELECT count(*) FROM pending_rotation")[0][0] == 0


def test_run_reports_failures_and_skips_without_stopping(vault: VaultKit, sshd: Sshd) -> None:
    made = _seen_by_alice(vault, sshd, 2)
    vault.admin.set_secret(made[0][0], SecretPayload({"password": "x1"}))
    vault.admin.add_system("acme/printer", SystemKind.PRINTER)
    add_cred(vault, "acme/printer/admin", "admin", OLD)
    alice = vault._techs["alice"]
    alice.reveal(made[0][0])
    alice.reveal("acme/printer/admin")
    vault.admin.revoke("alice", "acme")
    outcomes = {r.path: r.outcome for r in vault.admin.rotator().run(concurrency=2)}
    assert outcomes == {
        made[0][0]: "failed",  # the vault's secret is not the device's
        made[1][0]: "rotated",
        "acme/printer/admin": "skipped",  # no host, no connector
    }
    with pytest.raises(UsageError):
        vault.admin.rotator().run(concurrency=0)


def test_every_credential_of_a_customer_before_a_handover(vault: VaultKit, sshd: Sshd) -> None:
    system = linux_system(vault, sshd)
    users = [sshd.account(OLD) for _ in range(3)]
    paths = [add_cred(vault, f"{system}/u{i}", u, OLD) for i, u in enumerate(users)]
    results = vault.admin.rotator().run(slug="acme", every=True, concurrency=3)
    assert sorted(r.path for r in results if r.outcome == "rotated") == sorted(paths)
    handover = vault.admin.handover("acme")
    assert handover.count == 3


def test_a_connector_installed_by_entry_point_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third-party package: a module and a dist-info declaring the entry point."""
    (tmp_path / "printer_rotation.py").write_text(
        "class PrinterWeb:\n"
        "    name = 'printer-web'\n"
        "    def change(self, target, account, new, *, login):\n"
        "        self.changed = (target.host, account)\n"
        "    def verify(self, target, login):\n"
        "        return login.secret.reveal() == 'ok'\n"
    )
    info = tmp_path / "printer_rotation-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: printer-rotation\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[custodian.connectors]\nprinter-web = printer_rotation:PrinterWeb\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "printer-web" in names()
    connector = load("printer-web")
    assert connector.name == "printer-web"
    (tmp_path / "broken.py").write_text("class NotOne:\n    pass\n")
    (info / "entry_points.txt").write_text("[custodian.connectors]\nbroken = broken:NotOne\n")
    with pytest.raises(UsageError, match="not a connector"):
        load("broken")
    with pytest.raises(UsageError, match="no connector"):
        load("nothing-by-that-name")
    assert sys.modules.get("printer_rotation") is not None


def test_cause_age_rotates_what_was_not_changed_for_long(vault: VaultKit, sshd: Sshd) -> None:
    from datetime import timedelta

    system = linux_system(vault, sshd)
    old_user, new_user = sshd.account(OLD), sshd.account(OLD)
    stale = add_cred(vault, f"{system}/stale", old_user, OLD)
    vault.clock.advance(timedelta(days=100))
    fresh = add_cred(vault, f"{system}/fresh", new_user, OLD)
    planned = vault.admin.rotator().run(cause="age", older_than=timedelta(days=90), dry_run=True)
    assert [r.path for r in planned] == [stale]
    vault.admin.rotator().run(cause="age", older_than=timedelta(days=90))
    assert sshd.accepts(old_user, current(vault, stale))
    assert current(vault, fresh) == OLD and sshd.accepts(new_user, OLD)

"""Two-phase rotation against a real sshd: success, a rotation account, and every fault
the issue names (wrong current password, unreachable target, a changed host key, the
server killed between change and verify, a second rotation of the same credential)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custodian.connectors import (
    ChangeRefused,
    HostKeyMismatch,
    LoginRejected,
    TargetUnreachable,
)
from custodian.errors import Conflict, UsageError
from custodian.service.rotator import TargetSettings
from tests.conftest import CANARY, VaultKit

from .conftest import add_cred, current, linux_system
from .servers import Sshd, free_port

OLD = "Old-pass-4711!x"


def _events(vault: VaultKit, action: str) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in vault.events() if e.action == action]


def test_rotate_changes_the_password_on_the_server_and_makes_it_current(
    vault: VaultKit, sshd: Sshd
) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)
    result = vault.admin.rotator().rotate(path, reason="T-1")
    assert result.outcome == "rotated" and result.version == 2 and result.connector == "ssh"
    new = current(vault, path)
    assert new != OLD and len(new) == 24
    assert sshd.accepts(user, new)
    assert not sshd.accepts(user, OLD)
    assert _events(vault, "rotate") == [("rotate", "pending"), ("rotate", "ok")]
    assert vault.sql("SELECT count(*) FROM pending_rotation")[0][0] == 0


def test_a_rotation_account_changes_it_with_sudo_chpasswd(vault: VaultKit, sshd: Sshd) -> None:
    admin_pw = "Rot-admin-pass-1!"
    rotadm = sshd.account(admin_pw, sudo_chpasswd=True)
    user = sshd.account(OLD)
    system = linux_system(vault, sshd, rotation_account="web01/rotadm")
    add_cred(vault, f"{system}/rotadm", rotadm, admin_pw)
    path = add_cred(vault, f"{system}/app", user, "not-the-real-one")  # only rotadm matters
    vault.admin.rotator().rotate(path)
    assert sshd.accepts(user, current(vault, path))
    assert sshd.accepts(rotadm, admin_pw)  # the rotation account itself is untouched


def test_a_wrong_current_password_changes_nothing(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, CANARY)
    with pytest.raises(LoginRejected) as caught:
        vault.admin.rotator().rotate(path)
    assert CANARY not in str(caught.value)
    assert current(vault, path) == CANARY  # the old version stays current
    assert sshd.accepts(user, OLD)
    assert vault.sql("SELECT count(*) FROM pending_rotation")[0][0] == 0
    assert _events(vault, "rotate") == [("rotate", "pending"), ("rotate", "failed")]
    assert all(CANARY not in repr(tuple(e)) for e in vault.events())
    assert CANARY.encode() not in sshd.log.read_bytes()


def test_an_unreachable_target_changes_nothing(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    system = linux_system(vault, sshd)
    path = add_cred(vault, f"{system}/svc", user, OLD)
    vault.admin.rotator().edit_system(system, TargetSettings(port=free_port()))
    with pytest.raises(TargetUnreachable, match="unable to connect"):
        vault.admin.rotator().rotate(path)
    assert current(vault, path) == OLD and sshd.accepts(user, OLD)
    assert vault.sql("SELECT count(*) FROM pending_rotation")[0][0] == 0


def test_a_changed_host_key_refuses_before_any_password_is_sent(
    vault: VaultKit, sshd: Sshd, tmp_path
) -> None:
    other = Sshd(tmp_path / "other")
    other.root.mkdir()
    (other.root / "ak").mkdir()
    other.start()
    try:
        user = sshd.account(OLD)
        system = linux_system(vault, sshd, host_key=other.host_key)
        path = add_cred(vault, f"{system}/svc", user, OLD)
        with pytest.raises(HostKeyMismatch):
            vault.admin.rotator().rotate(path)
    finally:
        other.close()
    assert "Accepted password" not in sshd.log.read_text()
    assert current(vault, path) == OLD and sshd.accepts(user, OLD)


def test_no_host_key_stored_refuses(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    system = linux_system(vault, sshd)
    path = add_cred(vault, f"{system}/svc", user, OLD)
    vault.admin.rotator().edit_system(system, TargetSettings(host_key=""))
    with pytest.raises(HostKeyMismatch, match="no SSH host key"):
        vault.admin.rotator().rotate(path)
    assert current(vault, path) == OLD


def test_server_killed_between_change_and_verify_then_resume(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)
    steps: list[str] = []

    def kill_after_change(_path: str, step: str) -> None:
        steps.append(step)
        if step == "changed":
            sshd.kill()

    with pytest.raises(TargetUnreachable, match="resume"):
        vault.admin.rotator().rotate(path, progress=kill_after_change)
    assert steps == ["sealed", "changed", "failed"]
    assert current(vault, path) == OLD  # not verified: the old version stays current
    assert vault.sql("SELECT state FROM pending_rotation") == [("sent",)]
    sshd.start()
    assert not sshd.accepts(user, OLD)  # the device took the change
    assert [r.outcome for r in vault.admin.rotator().resume(grace=timedelta(0))] == ["rotated"]
    assert sshd.accepts(user, current(vault, path))
    assert vault.sql("SELECT count(*) FROM pending_rotation")[0][0] == 0


def test_a_second_rotation_of_a_pending_credential_is_refused(vault: VaultKit, sshd: Sshd) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)

    def second_rotation(_path: str, step: str) -> None:
        if step == "sealed":
            with pytest.raises(Conflict, match="under way"):
                vault.admin.rotator().rotate(path)

    vault.admin.rotator().rotate(path, progress=second_rotation)
    assert sshd.accepts(user, current(vault, path))
    assert ("rotate", "failed") in _events(vault, "rotate")  # the refusal is recorded


def test_a_system_without_host_or_connector_is_a_usage_error(vault: VaultKit) -> None:
    path = vault.customer("acme", grant=("admin",))  # active-directory, no LDAPS target yet
    vault.admin.rotator().edit_system("acme/dc01", TargetSettings(host=""))
    with pytest.raises(UsageError, match="no host"):
        vault.admin.rotator().rotate(path)
    with pytest.raises(UsageError, match="no connector"):
        vault.admin.rotator().edit_system("acme/dc01", TargetSettings(connector="nope"))


def test_the_old_secret_is_kept_when_the_device_refuses_the_change(
    vault: VaultKit, sshd: Sshd
) -> None:
    """A rotation account without the sudo rule: chpasswd fails, nothing changes."""
    rotadm = sshd.account("Rot-admin-pass-1!")  # no sudoers rule
    user = sshd.account(OLD)
    system = linux_system(vault, sshd, rotation_account="web01/rotadm")
    add_cred(vault, f"{system}/rotadm", rotadm, "Rot-admin-pass-1!")
    path = add_cred(vault, f"{system}/app", user, OLD)
    with pytest.raises(ChangeRefused, match="exit status"):
        vault.admin.rotator().rotate(path)
    assert current(vault, path) == OLD and sshd.accepts(user, OLD)


def test_rotation_needs_a_grant_like_a_reveal(vault: VaultKit, sshd: Sshd) -> None:
    from custodian.errors import AccessDenied

    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)
    alice = vault.tech("alice")  # not granted acme
    audrey = vault.tech("audrey", "auditor")
    for who in (alice, audrey):
        with pytest.raises(AccessDenied):
            who.rotator().rotate(path)
    assert sshd.accepts(user, OLD) and current(vault, path) == OLD
    refused = [e for e in vault.events() if e.action == "rotate"]
    assert [(e.actor, e.outcome) for e in refused] == [("alice", "denied"), ("audrey", "denied")]
    vault.admin.grant("alice", "acme")
    alice.rotator().rotate(path)
    assert sshd.accepts(user, current(vault, path))

"""Wrong passphrases: each costs the KDF, and after a few the account backs off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custodian import AuthenticationFailed, Custodian, KdfParams
from custodian.service.vault import FREE_ATTEMPTS, backoff_remaining

PASS = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def vault(tmp_path):
    clock = Clock()
    v = Custodian.open(tmp_path / "v.db", create=True, clock=clock)
    v.init("alice", PASS, kdf=KdfParams.floor())
    yield v, clock
    v.close()


def _failed_unlocks(v: Custodian) -> list[str]:
    admin = v.unlock("alice", PASS)
    return [e.detail or "" for e in admin.events() if e.action == "unlock"]


def test_backoff_schedule_grows_and_is_capped():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert backoff_remaining(FREE_ATTEMPTS - 1, now, now) == 0
    assert backoff_remaining(FREE_ATTEMPTS, now, now) == 2
    assert backoff_remaining(FREE_ATTEMPTS + 1, now, now) == 4
    assert backoff_remaining(FREE_ATTEMPTS + 30, now, now) == 900
    assert backoff_remaining(FREE_ATTEMPTS, now, now + timedelta(seconds=3)) == 0


def test_repeated_wrong_passphrases_back_off_and_every_attempt_is_logged(vault):
    v, clock = vault
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(AuthenticationFailed, match="authentication failed"):
            v.unlock("alice", "wrong guess")
    # The next attempt, even with the right passphrase, must wait.
    with pytest.raises(AuthenticationFailed, match="try again in 2 s"):
        v.unlock("alice", PASS)
    clock.now += timedelta(seconds=3)
    session = v.unlock("alice", PASS)  # success resets the counter
    assert session.username == "alice"
    details = _failed_unlocks(v)
    assert sum("wrong passphrase" in d for d in details) == FREE_ATTEMPTS
    assert sum("backoff" in d for d in details) == 1
    # After the reset, a single wrong attempt does not lock the account out.
    with pytest.raises(AuthenticationFailed):
        v.unlock("alice", "wrong again")
    assert v.unlock("alice", PASS).username == "alice"


def test_backoff_is_shared_through_the_database(vault, tmp_path):
    v, clock = vault
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(AuthenticationFailed):
            v.unlock("alice", "wrong guess")
    other = Custodian.open(tmp_path / "v.db", clock=clock)  # another process's handle
    try:
        with pytest.raises(AuthenticationFailed, match="try again"):
            other.unlock("alice", PASS)
    finally:
        other.close()


def test_unknown_user_gets_the_same_answer(vault):
    v, _ = vault
    with pytest.raises(AuthenticationFailed, match="authentication failed for 'mallory'"):
        v.unlock("mallory", PASS)

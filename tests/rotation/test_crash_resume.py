"""A rotation killed (SIGKILL) mid-way, then `resume`: the vault holds a secret the
device accepts, every time. Deterministic points (after the seal, after the change) and
random ones."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest

from custodian.service import ActorSession
from tests.conftest import VaultKit
from tests.crashkit import Report, fork_loop, kill_at_random_point

from .conftest import add_cred, current, linux_system
from .servers import Sshd

OLD = "Old-pass-4711!x"


def _pending(vault: VaultKit) -> int:
    return int(vault.sql("SELECT count(*) FROM pending_rotation")[0][0])


@pytest.mark.parametrize(("point", "settled"), [("sealed", "kept"), ("changed", "rotated")])
def test_killed_at_a_step_then_resume_settles_it(
    vault: VaultKit, sshd: Sshd, point: str, settled: str
) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)

    def body(admin: ActorSession, report: Report) -> None:
        def hang(_path: str, step: str) -> None:
            if step == point:
                report(step)
                time.sleep(600)

        admin.rotator().rotate(path, progress=hang)

    child = fork_loop(vault, body)
    assert child.readline() == "ready"
    assert child.readline() == point
    child.kill()
    assert _pending(vault) == 1
    assert current(vault, path) == OLD
    assert sshd.accepts(user, OLD) is (point == "sealed")
    # too young: it may belong to a rotation still running
    assert vault.admin.rotator().resume() == []
    results = vault.admin.rotator().resume(grace=timedelta(0))
    assert [r.outcome for r in results] == [settled]
    last = vault.events()[-1]
    assert (last.action, last.outcome) == (
        ("rotate-resume", "ok") if settled == "kept" else ("rotate", "ok")
    )
    assert _pending(vault) == 0
    assert sshd.accepts(user, current(vault, path))


def test_killed_at_random_points_the_vault_always_holds_an_accepted_secret(
    vault: VaultKit, sshd: Sshd
) -> None:
    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)
    rng = random.Random(21)

    def body(admin: ActorSession, report: Report) -> None:
        while True:
            admin.rotator().rotate(path)
            report("rotated")

    for _ in range(4):
        kill_at_random_point(fork_loop(vault, body), rng, most=2)
        settled = vault.admin.rotator().resume(grace=timedelta(0))
        assert _pending(vault) == 0, settled
        assert sshd.accepts(user, current(vault, path))


def test_resume_leaves_it_pending_when_the_device_accepts_neither(
    vault: VaultKit, sshd: Sshd
) -> None:
    import subprocess

    user = sshd.account(OLD)
    path = add_cred(vault, linux_system(vault, sshd) + "/svc", user, OLD)

    def body(admin: ActorSession, report: Report) -> None:
        def hang(_path: str, step: str) -> None:
            if step == "changed":
                report(step)
                time.sleep(600)

        admin.rotator().rotate(path, progress=hang)

    child = fork_loop(vault, body)
    assert child.readline() == "ready" and child.readline() == "changed"
    child.kill()
    subprocess.run(["chpasswd"], input=f"{user}:Someone-else-1!\n", text=True, check=True)
    results = vault.admin.rotator().resume(grace=timedelta(0))
    assert [r.outcome for r in results] == ["unsettled"]
    assert _pending(vault) == 1  # kept: nothing is thrown away while the device is unknown
    last = vault.events()[-1]
    assert (last.action, last.outcome) == ("rotate-resume", "failed")
    with pytest.raises(Exception, match="under way"):
        vault.admin.rotator().rotate(path)

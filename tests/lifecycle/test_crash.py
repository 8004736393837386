"""A process killed with SIGKILL in the middle of key rotations leaves every secret
readable, under the old or the new key version: each rotation is one transaction.
(The kill loop and the checks are tests/crashkit.py, shared with tests/faults/.)"""

from __future__ import annotations

import random

from custodian.db.models import Role
from custodian.secret import SecretPayload
from tests.crashkit import check_whole, fork_loop, kill_at_random_point

ROUNDS = 3


def rotate_forever(admin, report) -> None:  # type: ignore[no-untyped-def]
    i = 0
    while True:
        i += 1
        admin.grant("bob", "acme")
        report("grant")
        admin.revoke("bob", "acme")  # a new customer key version
        report("revoke")
        admin.set_secret("acme/dc01/admin", SecretPayload({"password": f"loop-{i}"}))
        report("set")
        admin.set_role("bob", Role.ADMIN)
        report("promote")
        admin.set_role("bob", Role.TECHNICIAN)  # a new org key, every customer rotated
        report("demote")


def test_sigkill_during_rotation_leaves_every_secret_readable(vault):
    vault.customer("acme")
    vault.customer("globex")
    vault.admin.set_secret("globex/dc01/admin", SecretPayload({"password": "globex-2"}))
    vault.tech("bob")
    for slug in ("acme", "globex"):
        vault.admin.grant("admin", slug)
    rng = random.Random(4)
    done: list[str] = []
    for _ in range(ROUNDS):
        done += kill_at_random_point(fork_loop(vault, rotate_forever), rng, most=6)
        assert check_whole(vault) >= 3
        # The organization key still reaches every customer key: granting works.
        vault.admin.grant("admin", "acme")
    # Every rotation that reported its commit is there (one killed after its commit but
    # before its report may add one more per round).
    rotations = done.count("revoke") + done.count("demote")
    versions = vault.admin.show_customer("acme").customer.key_version
    assert 1 + rotations <= versions <= 1 + rotations + ROUNDS, done
    assert rotations > 0, "no rotation committed before the kills: the test proved nothing"

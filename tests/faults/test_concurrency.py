"""Concurrent writers: an edit of a stale version is refused (`Conflict`, exit 7), never
written over a newer one; on PostgreSQL, 8 technician processes reveal while 2 admin
processes rotate customer keys and edit the same credentials, for a bounded time."""

from __future__ import annotations

import json
import os
import random
import time

import pytest

from custodian.errors import Conflict, CustodianError
from custodian.secret import SecretPayload
from tests.conftest import VaultKit
from tests.crashkit import check_whole, fork_loop

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
SECONDS = 15.0
CUSTOMERS = ("acme", "globex")
CREDS = ("admin", "backup")
TECHS = ("t1", "t2", "t3", "t4")  # two reveal processes each


def test_an_edit_of_a_stale_version_is_refused(vault: VaultKit, admin_cli) -> None:
    path = vault.customer("acme")
    vault.admin.grant("admin", "acme")
    assert vault.admin.set_secret(path, SecretPayload({"password": "v2"}), expected_version=1) == 2
    with pytest.raises(Conflict, match="is at version 2, not 1"):
        vault.admin.set_secret(path, SecretPayload({"password": "stale"}), expected_version=1)
    assert [v.version for v in vault.admin.history(path)] == [1, 2]
    assert vault.admin.reveal(path).reveal() == "v2"
    result = admin_cli.run("cred", "set", path, "--if-version", "1", input="stale\n", expect=7)
    assert "is at version 2, not 1" in result.stderr
    admin_cli.run("cred", "set", path, "--if-version", "2", input="v3\n")
    assert vault.admin.reveal(path).reveal() == "v3"


def _revealer(deadline: float):  # type: ignore[no-untyped-def]
    def body(tech, report) -> None:  # type: ignore[no-untyped-def]
        rng = random.Random(os.getpid())
        ok, failed = 0, []
        while time.monotonic() < deadline:
            path = f"{rng.choice(CUSTOMERS)}/dc01/{rng.choice(CREDS)}"
            try:
                assert tech.reveal(path, reason="T-1").reveal()
                ok += 1
            except CustodianError as exc:
                failed.append(f"{path}: {type(exc).__name__}: {exc}")
        report(json.dumps({"ok": ok, "failed": failed[:20]}))

    return body


def _admin(deadline: float, spare: str):  # type: ignore[no-untyped-def]
    def body(admin, report) -> None:  # type: ignore[no-untyped-def]
        rng = random.Random(os.getpid())
        sets, conflicts, rotations, errors = [], 0, 0, []
        n = 0
        while time.monotonic() < deadline:
            n += 1
            slug = rng.choice(CUSTOMERS)
            try:
                if rng.random() < 0.3:  # rotate: revoke a technician (new key), grant again
                    admin.revoke(spare, slug)
                    admin.grant(spare, slug)
                    rotations += 1
                    continue
                path = f"{slug}/dc01/{rng.choice(CREDS)}"
                read = admin.history(path)[-1].version  # the version this edit is based on
                time.sleep(rng.uniform(0, 0.02))  # the other admin may write meanwhile
                value = f"{admin.username}-{n}"
                version = admin.set_secret(
                    path, SecretPayload({"password": value}), expected_version=read
                )
                sets.append([path, version, value])
            except Conflict:
                conflicts += 1
            except CustodianError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        report(
            json.dumps(
                {
                    "sets": sets,
                    "conflicts": conflicts,
                    "rotations": rotations,
                    "errors": errors[:20],
                }
            )
        )

    return body


def _summary(proc) -> dict:  # type: ignore[no-untyped-def]
    assert proc.readline() == "ready"
    line = proc.readline(timeout=SECONDS + 120)
    _, status = os.waitpid(proc.pid, 0)
    os.close(proc.fd)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, line)
    return json.loads(line)


@pytest.mark.slow
@pytest.mark.parametrize("backend", PG)
def test_revealing_while_rotating_and_editing_loses_nothing(vault: VaultKit) -> None:
    paths = [f"{c}/dc01/{n}" for c in CUSTOMERS for n in CREDS]
    vault.customer("acme")
    vault.customer("globex")
    for c in CUSTOMERS:
        vault.admin.add_credential(f"{c}/dc01/backup", SecretPayload({"password": "b-1"}))
    vault.tech("admin2", role="admin")
    for name in (*TECHS, "spare1", "spare2"):
        vault.tech(name)
    for name in ("admin", "admin2", *TECHS, "spare1", "spare2"):
        for c in CUSTOMERS:
            vault.admin.grant(name, c)
    deadline = time.monotonic() + SECONDS
    procs = [fork_loop(vault, _revealer(deadline), user=t) for t in TECHS * 2]
    procs += [
        fork_loop(vault, _admin(deadline, "spare1"), user="admin"),
        fork_loop(vault, _admin(deadline, "spare2"), user="admin2"),
    ]
    out = [_summary(p) for p in procs]
    readers, admins = out[:-2], out[-2:]

    assert [r["failed"] for r in readers] == [[]] * 8  # no reveal failed, rotations or not
    assert all(r["ok"] > 0 for r in readers), readers
    assert [a["errors"] for a in admins] == [[], []]
    assert sum(a["rotations"] for a in admins) > 0
    assert sum(a["conflicts"] for a in admins) > 0, "no stale edit happened: proved nothing"
    # No lost update: every edit that succeeded is its own version, holding its value.
    sets = [s for a in admins for s in a["sets"]]
    assert sets
    for path in paths:
        mine = sorted(version for p, version, _ in sets if p == path)
        assert mine == list(range(2, 2 + len(mine))), (path, mine)
        assert [v.version for v in vault.admin.history(path)] == [1, *mine]
    for path, version, value in sets:
        assert vault.admin.reveal(path, version=version).reveal() == value
    check_whole(vault)  # integrity, every version opens, the log verifies

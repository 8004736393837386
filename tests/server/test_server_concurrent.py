"""Reveals at once, through the server and straight on the database: each succeeds,
each has its event, and the log still verifies (the signing slot, and a head that moved
under a prepared reveal: the client signs again)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.cli.clikit import ADMIN, CANARY, CRED, TIMEOUT
from tests.server.serverkit import Served

THROUGH_SERVER = 4
ON_THE_DATABASE = 2  # appending directly, they move the head under the server's clients


def reveals(served: Served) -> int:
    rows = served.cli.sql(
        "SELECT count(*) FROM access_event WHERE action = 'reveal' AND outcome = 'ok'"
    )
    return int(rows[0][0])


def test_concurrent_reveals_each_get_their_event(served: Served) -> None:
    before = reveals(served)
    envs = [served.env("ben")] * THROUGH_SERVER + [served.cli.env("ben")] * ON_THE_DATABASE

    def get(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "custodian", "get", CRED]
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=TIMEOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    with ThreadPoolExecutor(len(envs)) as pool:
        done = list(pool.map(get, envs))
    for proc in done:
        assert (proc.returncode, proc.stdout) == (0, CANARY + "\n"), proc.stderr
    assert reveals(served) == before + len(envs)
    served.cli.run("log", "verify", user=ADMIN)

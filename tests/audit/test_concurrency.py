"""Many processes appending at once keep one linear chain; a writer killed in the middle
of an append leaves a log that verifies.

Writers are forked (no interpreter start-up per process) and each opens its own engine."""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import time

import pytest

from tests.audit.auditkit import CUSTOMER_PATH, head, rows, write_events

PROCESSES = 8
EACH = 500

_fork = multiprocessing.get_context("fork")


def _start(url: str, user: str, bundle: bytes, count: int, per_tx: int = 1):  # type: ignore[no-untyped-def]
    proc = _fork.Process(target=write_events, args=(url, user, bundle, count, per_tx))
    proc.start()
    return proc


@pytest.mark.slow
def test_eight_processes_appending_keep_one_linear_chain(log_db, log_vault):
    url, template = log_db
    start, _ = head(log_vault)
    users = ["bob", "carol"] * (PROCESSES // 2)
    procs = [_start(url, u, template.bundles[u], EACH) for u in users]  # one event per tx
    for proc in procs:
        proc.join(timeout=300)
        assert proc.exitcode == 0
    events = rows(log_vault)
    assert [e.seq for e in events] == list(range(1, start + PROCESSES * EACH + 1))
    assert all(bytes(e.prev_hash) == bytes(p.hash) for p, e in itertools.pairwise(events))
    result = log_vault.admin.verify_log()
    assert result.ok, result
    assert result.checked == start + PROCESSES * EACH
    by_actor = {u: sum(1 for e in events[start:] if e.actor == u) for u in ("bob", "carol")}
    assert by_actor == {"bob": EACH * PROCESSES // 2, "carol": EACH * PROCESSES // 2}
    # the writers really interleaved: no process wrote all its events in one run
    runs = sum(1 for a, b in itertools.pairwise(events[start:]) if a.actor != b.actor)
    assert runs > PROCESSES


def test_writer_killed_mid_append_leaves_a_log_that_verifies(log_db, log_vault):
    url, template = log_db
    start, _ = head(log_vault)
    procs = [_start(url, u, template.bundles[u], 0) for u in ("bob", "carol")]
    deadline = time.monotonic() + 120
    while head(log_vault)[0] < start + 40:
        assert time.monotonic() < deadline, "the writers made no progress"
        assert all(p.is_alive() for p in procs)
        time.sleep(0.02)
    for proc in procs:  # one dies first while the other keeps appending
        proc.kill()
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
    result = log_vault.admin.verify_log(workers=0)
    assert result.ok, result
    log_vault.bob.reveal(CUSTOMER_PATH, reason="after the crash")  # appends still work
    assert log_vault.admin.verify_log(workers=0).ok

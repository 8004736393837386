"""Guesses in parallel: the attempt is counted before its key derivation runs (issue 17,
item 8), so N attempts at once get at most the free attempts, on both databases."""

from __future__ import annotations

import threading

import pytest

from custodian import AuthenticationFailed, Custodian, Role
from custodian.service.vault import FREE_ATTEMPTS

PASS = "correct horse battery staple"
PARALLEL = 8


def test_parallel_wrong_passphrases_get_at_most_the_free_attempts(vault):
    vault.admin.add_technician("bob", Role.TECHNICIAN, PASS)
    handles = [Custodian.open(vault.url, clock=vault.clock) for _ in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)
    answers: list[str] = []

    def guess(handle: Custodian) -> None:
        start.wait()
        try:
            handle.unlock("bob", "a wrong guess")
        except AuthenticationFailed as exc:
            answers.append(str(exc))

    threads = [threading.Thread(target=guess, args=(h,)) for h in handles]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for h in handles:
            h.close()
    assert len(answers) == PARALLEL  # every guess was refused
    whys = [
        e.detail or ""
        for e in vault.admin.events()
        if e.action == "unlock" and e.actor == "bob" and e.outcome == "failed"
    ]
    tried = sum("wrong passphrase" in w for w in whys)
    held_back = sum("backoff" in w for w in whys)
    assert tried == FREE_ATTEMPTS  # the key derivation ran for the free attempts only
    assert held_back == PARALLEL - FREE_ATTEMPTS
    assert sum("try again" in a for a in answers) == PARALLEL - FREE_ATTEMPTS
    with pytest.raises(AuthenticationFailed, match="try again"):
        vault.vault.unlock("bob", PASS)  # the right passphrase waits too

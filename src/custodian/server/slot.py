"""The signing slot: one remote signer at a time, per server process.

A member's client signs an event over the log head it will follow (`audit.append`), so
a reveal takes two requests: prepare (the head to sign after) and commit (append if the
head has not moved). Without a slot, fifty clients preparing at once would all sign
over the same head and all but one would sign again, and again. The slot lets one
prepare-to-commit run at a time: the others wait at prepare (at most `WAIT` seconds),
and a holder that never commits loses the slot after `LEASE` seconds. Events appended
outside this process (another instance, a failed login) still move the head: that
commit then answers 409 and the client prepares again.
"""

from __future__ import annotations

import secrets
import threading
import time

LEASE = 2.0  # seconds a prepared signer holds the slot without committing
WAIT = 10.0  # seconds a prepare waits for the slot before it answers "busy"


class SigningSlot:
    def __init__(self, lease: float = LEASE) -> None:
        self._lease = lease
        self._cond = threading.Condition()
        self._holder: str | None = None
        self._until = 0.0

    def acquire(self, wait: float = WAIT) -> str | None:
        """A lease id for the slot, or None if it stayed taken for `wait` seconds."""
        deadline = time.monotonic() + wait
        with self._cond:
            while self._holder is not None and time.monotonic() < self._until:
                left = min(deadline, self._until) - time.monotonic()
                if time.monotonic() >= deadline:
                    return None
                self._cond.wait(max(left, 0.001))
            self._holder = secrets.token_hex(16)
            self._until = time.monotonic() + self._lease
            return self._holder

    def holds(self, lease: str) -> bool:
        """Whether `lease` still holds the slot (it has not expired and been taken)."""
        with self._cond:
            return self._holder is not None and secrets.compare_digest(self._holder, lease)

    def release(self, lease: str | None) -> None:
        with self._cond:
            held = self._holder
            if lease is not None and held is not None and secrets.compare_digest(held, lease):
                self._holder = None
                self._cond.notify()

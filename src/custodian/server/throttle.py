"""Failed logins, counted per client address and account: after `FREE_FAILURES` in a
row each further attempt waits twice as long as the last (at most `MAX_WAIT`)."""

from __future__ import annotations

import threading
import time

FREE_FAILURES = 5
MAX_WAIT = 900.0
MAX_KEYS = 100_000  # addresses and accounts remembered; the oldest are forgotten first


class Throttle:
    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds `key` must still wait before its next attempt (0: it may try now)."""
        with self._lock:
            failures, last = self._failures.get(key, (0, 0.0))
        if failures < FREE_FAILURES:
            return 0.0
        delay = min(2.0 ** (failures - FREE_FAILURES), MAX_WAIT)
        return max(0.0, last + delay - time.monotonic())

    def failed(self, key: str) -> None:
        with self._lock:
            failures, _ = self._failures.pop(key, (0, 0.0))
            if len(self._failures) >= MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))
            self._failures[key] = (failures + 1, time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

"""Failed logins, counted per client address and account: after `FREE_FAILURES` in a
row each further attempt waits twice as long as the last (at most `MAX_WAIT`). And the
request rate of each logged-in member (`RateLimit`)."""

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


RATE = 100.0  # requests per second a member may send, on average (`serve --rate-limit`) ...
BURST = 500.0  # ... and at once


class RateLimit:
    """A token bucket per member: `allow` spends one request, refilled at `RATE`."""

    def __init__(self, rate: float = RATE, burst: float = BURST) -> None:
        self._rate, self._burst = rate, burst
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, member: int) -> bool:
        if self._rate <= 0:
            return True  # no limit (`serve --rate-limit 0`)
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(member, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate)
            if tokens < 1.0:
                self._buckets[member] = (tokens, now)
                return False
            if len(self._buckets) >= MAX_KEYS and member not in self._buckets:
                self._buckets.pop(next(iter(self._buckets)))
            self._buckets[member] = (tokens - 1.0, now)
            return True

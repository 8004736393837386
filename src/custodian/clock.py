"""Time, injectable: services take a `Clock` so tests pass one instead of sleeping.

Also the one reading of the times a person types (`parse_span`, `parse_time`), which the
CLI's `--until`/`--since`/`--ttl` and the TUI's filters and expiries share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .errors import UsageError

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Rows read back from SQLite lose their zone; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_SPAN = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> timedelta | None:
    """`20s`, `30m`, `12h`, `7d`, `2w` as a timedelta; None for anything else."""
    m = _SPAN.fullmatch(text.strip())
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}) if m else None


def parse_time(text: str, now: datetime, *, future: bool) -> datetime:
    """An ISO date/time (UTC when it names no zone), or a span such as 30m, 12h, 7d, 2w
    after `now` (`future`) or before it."""
    span = parse_span(text)
    if span is not None:
        return now + span if future else now - span
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"invalid time {text[:40]!r}: use an ISO date such as 2026-12-31, or 30s, 30m, 12h, 7d"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)

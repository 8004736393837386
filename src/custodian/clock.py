"""Time, injectable: services take a `Clock` so tests pass one instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Rows read back from SQLite lose their zone; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)

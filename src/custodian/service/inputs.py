"""Checks on text a user gives the service (names, notes, reasons, patterns)."""

from __future__ import annotations

import re

from ..errors import UsageError


def check_text(value: str | None, what: str, limit: int) -> str:
    """A non-empty single-line text of at most `limit` characters, stripped."""
    if value is None or not value.strip():
        raise UsageError(f"the {what} is empty")
    if len(value) > limit:
        raise UsageError(f"the {what} is longer than {limit} characters")
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise UsageError(f"the {what} contains control characters")
    return value.strip()


def check_pattern(pattern: str | None) -> None:
    """A reason pattern must compile as a regular expression."""
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"invalid reason pattern: {exc.msg}") from None

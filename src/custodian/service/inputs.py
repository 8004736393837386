"""Checks on text a user gives the service (names, notes, reasons, patterns, secrets)."""

from __future__ import annotations

import re

from ..errors import UsageError
from ..secret import SecretPayload

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks allowed


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


def size_text(limit: int) -> str:
    """`1 MiB`, `64 KiB` or `100 bytes`: a limit as messages state it."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def check_value(value: str, what: str, limit: int) -> str:
    """Free text or a secret value: UTF-8 text of at most `limit` bytes, with no NUL or
    other control character (tab and line breaks allowed). Never echoes the value."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise UsageError(f"the {what} is not UTF-8 text (store binary data with --file)") from None
    if size > limit:
        raise UsageError(f"the {what} is larger than {size_text(limit)}")
    if _CONTROL.search(value):
        raise UsageError(f"the {what} contains control characters (store binary data with --file)")
    return value


def check_payload(payload: SecretPayload, limit: int) -> SecretPayload:
    """Every field of a version about to be written: the rule of every write path (add,
    set, import, the TUI), so a handover can always write what the vault holds. A file
    field (`Secret.from_bytes`) holds any bytes; either holds at most `limit` bytes, the
    vault's field limit (`secret_policy.field_limit_of`), which the error names."""
    for name, secret in payload.items():
        if secret.is_file:
            if len(secret.reveal_bytes()) > limit:
                raise UsageError(f"the file {name!r} is {over_limit(limit)}")
        elif len(secret.reveal().encode("utf-8", "surrogatepass")) > limit:
            raise UsageError(f"the field {name!r} is {over_limit(limit)}")
        else:
            check_value(secret.reveal(), f"field {name!r}", limit)
    return payload


def over_limit(limit: int) -> str:
    """How every write path words a field over the vault's limit."""
    return f"larger than {size_text(limit)}, this vault's field limit (`custodian field-limit`)"

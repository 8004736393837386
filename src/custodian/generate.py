"""Strong random secrets, shaped to what each kind of device accepts."""

from __future__ import annotations

import secrets
import string

from .db.models import SystemKind

_SYMBOLS = "!#%+-.:=?@_~"


def generate_password(kind: SystemKind | str | None = None, length: int | None = None) -> str:
    """Printers and switches often accept only letters and digits up to 16 characters;
    everything else gets 24 characters with every character class (AD complexity)."""
    alnum_only = kind in (SystemKind.PRINTER, SystemKind.SWITCH)
    alphabet = string.ascii_letters + string.digits + ("" if alnum_only else _SYMBOLS)
    size = length or (16 if alnum_only else 24)
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    if not alnum_only:
        classes.append(_SYMBOLS)
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(size))
        if all(any(c in cls for c in value) for cls in classes):
            return value

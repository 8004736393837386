"""`Context`: what a blob belongs to, bound into every seal as associated data."""

from __future__ import annotations

import json
from dataclasses import dataclass

FORMAT_VERSION = 1  # the first byte of every blob this package writes


@dataclass(frozen=True)
class Context:
    """What a blob belongs to. Encoded canonically into HPKE's `info` or AES-GCM's
    associated data, so a blob moved to another row, slot or purpose fails to open."""

    purpose: str
    fields: tuple[tuple[str, str | int], ...] = ()

    @classmethod
    def of(cls, purpose: str, **fields: str | int) -> Context:
        return cls(purpose, tuple(sorted(fields.items())))

    def encode(self) -> bytes:
        return json.dumps(
            ["custodian", self.purpose, list(self.fields)], separators=(",", ":")
        ).encode()

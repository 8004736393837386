"""Names and paths: `customer-slug/system/credential`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@+()-]{0,127}")


def check_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise UsageError(
            f"invalid customer slug {slug[:70]!r}: use lower-case letters, digits and -,"
            " starting with a letter or digit"
        )
    return slug


def check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name) or name != name.strip():
        raise UsageError(
            f"invalid {what} name {name[:130]!r}: use letters, digits, spaces and . _ @ + ( ) -"
        )
    return name


@dataclass(frozen=True)
class SystemPath:
    customer: str
    system: str

    @classmethod
    def parse(cls, text: str) -> SystemPath:
        parts = text.split("/")
        if len(parts) != 2:
            raise UsageError(f"malformed system path {text[:200]!r}: expected CUSTOMER/SYSTEM")
        return cls(check_slug(parts[0]), check_name(parts[1], "system"))

    def __str__(self) -> str:
        return f"{self.customer}/{self.system}"


@dataclass(frozen=True)
class CredentialPath:
    customer: str
    system: str
    name: str

    @classmethod
    def parse(cls, text: str) -> CredentialPath:
        parts = text.split("/")
        if len(parts) != 3:
            raise UsageError(
                f"malformed credential path {text[:200]!r}: expected CUSTOMER/SYSTEM/NAME"
            )
        return cls(
            check_slug(parts[0]), check_name(parts[1], "system"), check_name(parts[2], "credential")
        )

    @property
    def system_path(self) -> SystemPath:
        return SystemPath(self.customer, self.system)

    def __str__(self) -> str:
        return f"{self.customer}/{self.system}/{self.name}"

"""`Secret`, a string that will not print itself, and `SecretPayload`, a credential's fields."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Iterator, Mapping

from .errors import IntegrityError, UsageError

MASK = "********"
PRIMARY_FIELD = "password"
# One secret field, on every write path: each vault sets its own limit (`field-limit`,
# service/secret_policy.py), DEFAULT_FIELD_BYTES unless an admin changes it, never more
# than MAX_FIELD_BYTES (what a CSV cell, a handover and a Vault KV write still carry).
DEFAULT_FIELD_BYTES = 1024 * 1024
MAX_FIELD_BYTES = 16 * 1024 * 1024
MIN_FIELD_BYTES = 1024
FILE_PREFIX = "\x00file:base64:"  # a file field's stored value: this, then its base64


class Secret:
    """A secret value. `repr`, `str` and formatting show a mask; `reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret takes a str")
        self._value = value

    @classmethod
    def from_bytes(cls, data: bytes) -> Secret:
        """A file as a secret (`cred set --field NAME --file FILE`): binary-safe, kept as
        its base64 behind a prefix that no text value can hold (text never holds NUL)."""
        return cls(FILE_PREFIX + base64.b64encode(data).decode("ascii"))

    @property
    def is_file(self) -> bool:
        return self._value.startswith(FILE_PREFIX)

    def reveal(self) -> str:
        return self._value

    def reveal_bytes(self) -> bytes:
        """The value as bytes: a file's own bytes, a text's UTF-8."""
        if not self.is_file:
            return self._value.encode("utf-8")
        try:
            return base64.b64decode(self._value[len(FILE_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise IntegrityError("a stored file field is malformed") from None

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


class SecretPayload(Mapping[str, Secret]):
    """The fields of one secret version: `password` plus optional ones (`otp`, `ssh-key`, ...)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Secret | str]) -> None:
        clean: dict[str, Secret] = {}
        for name, value in fields.items():
            secret = value if isinstance(value, Secret) else Secret(value)
            check_field_name(name)
            if not secret.reveal():
                raise UsageError(f"the secret field {name!r} is empty")
            clean[name] = secret
        if not clean:
            raise UsageError("a secret needs at least one field")
        self._fields = clean

    def __getitem__(self, name: str) -> Secret:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"SecretPayload(fields={sorted(self._fields)!r})"

    def to_bytes(self) -> bytes:
        plain = {k: v.reveal() for k, v in sorted(self._fields.items())}
        return json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> SecretPayload:
        try:
            plain = json.loads(data.decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IntegrityError("a secret payload is malformed") from exc
        if not isinstance(plain, dict) or not all(isinstance(v, str) for v in plain.values()):
            raise IntegrityError("a secret payload is malformed")
        return cls(plain)

    def merged(self, newer: Mapping[str, Secret]) -> SecretPayload:
        return SecretPayload({**self._fields, **newer})


def check_field_name(name: str) -> None:
    if not (0 < len(name) <= 64) or not all(c.isalnum() or c in "-_." for c in name):
        raise UsageError(f"invalid field name {name[:64]!r}: use letters, digits, - _ .")
    if name == "otp-seed":  # derived on reveal from `otp` (see totp.py)
        raise UsageError("the field name 'otp-seed' is reserved: store a TOTP seed as 'otp'")

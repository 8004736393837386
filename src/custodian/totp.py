"""TOTP (RFC 6238) codes from a stored seed, with cryptography's `TOTP`.

A credential keeps its seed in the secret field `otp`, in any of the forms password
managers export: an `otpauth://totp/...?secret=...` URI (KeePassXC, Bitwarden), KeePassXC's
legacy `key=...&step=30&size=6`, or a bare base32 secret (Hudu, IT Glue). `custodian get
--field otp` prints the current code; `--field otp-seed` prints the seed itself.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from .crypto import totp_code
from .errors import IntegrityError, UsageError
from .secret import Secret

SEED_FIELD = "otp"  # the stored field
CODE_FIELD = "otp"  # what `get --field otp` derives: the current code
SEED_ALIAS = "otp-seed"  # what `get --field otp-seed` reveals: the stored seed

_ALGORITHMS = ("SHA1", "SHA256", "SHA512")


def stored_field(requested: str) -> str:
    """The stored field a requested one reads: `otp` and `otp-seed` both read `otp`."""
    return SEED_FIELD if requested == SEED_ALIAS else requested


def derive(requested: str, value: Secret, at: datetime) -> Secret:
    """What `get --field requested` prints: the current code for `otp`, else the value.
    A stored seed that cannot be read is an integrity failure of that record."""
    if requested != CODE_FIELD:
        return value
    try:
        return code_at(value, at)
    except UsageError as exc:
        raise IntegrityError(f"the stored TOTP seed is unusable: {exc}") from None


@dataclass(frozen=True, repr=False)
class TotpSpec:
    key: bytes
    digits: int = 6
    period: int = 30
    algorithm: str = "SHA1"

    def __repr__(self) -> str:
        return f"TotpSpec(digits={self.digits}, period={self.period}, {self.algorithm})"


def parse_seed(text: str) -> TotpSpec:
    """Read a seed in any supported form. Raises `UsageError` (never echoing the seed)."""
    text = text.strip()
    if text.lower().startswith("otpauth://"):
        parts = urlsplit(text)
        if parts.netloc.lower() != "totp":
            raise UsageError("the otp field is not a TOTP seed (only otpauth://totp/ is supported)")
        query = parse_qs(parts.query)
    elif "key=" in text:
        query = parse_qs(text)
        query = {
            "secret": query.get("key", [""]),
            "period": query.get("step", ["30"]),
            "digits": query.get("size", ["6"]),
        }
    else:
        query = {"secret": [text]}
    secret = (query.get("secret") or [""])[0]
    try:
        digits = int((query.get("digits") or ["6"])[0])
        period = int((query.get("period") or ["30"])[0])
    except ValueError:
        raise UsageError("the otp field has a malformed digits or period") from None
    algorithm = (query.get("algorithm") or ["SHA1"])[0].upper()
    if algorithm not in _ALGORITHMS or not 6 <= digits <= 8 or not 1 <= period <= 3600:
        raise UsageError("the otp field has unsupported parameters")
    return TotpSpec(_base32(secret), digits, period, algorithm)


def _base32(secret: str) -> bytes:
    compact = "".join(secret.split()).replace("-", "").upper()
    try:
        key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    except (binascii.Error, ValueError):
        raise UsageError("the otp field's secret is not valid base32") from None
    if len(key) < 10:
        raise UsageError("the otp field's secret is shorter than 80 bits")
    return key


def code_at(seed: Secret, at: datetime) -> Secret:
    """The code valid at `at`."""
    spec = parse_seed(seed.reveal())
    code = totp_code(spec.key, spec.digits, spec.algorithm, spec.period, int(at.timestamp()))
    return Secret(code)

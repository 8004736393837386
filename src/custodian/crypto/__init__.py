"""Custodian's safe cryptographic API. Callers never see nonces, salts or suites.

- `KeyPair` / `PublicKey`: hybrid post-quantum HPKE key pairs (ML-KEM-768 + X25519).
- `seal(plaintext, public_key, context)` / `open_sealed(blob, key_pair, context)`: HPKE
  with the `Context` bound through HPKE's `info`; a blob moved to another row fails.
- `seal_with_key(key, plaintext, context)` / `open_with_key(blob, key, context)`:
  AES-256-GCM under a random key from `new_symmetric_key()`, the `Context` as associated
  data (the session cache).
- `PassphraseLock`: Argon2id + AES-256-GCM around a technician's private keys;
  `PassphraseKey`: what a passphrase derives for one lock, which opens it and gives the
  login key that proves the passphrase to a server (its public half is the verifier).
- `RecoveryCode`: the break-glass code shown once at `init`; it derives a key pair.
- `SigningKey`, `verify_signature`, `first_bad_signature`: Ed25519 over access events.
- `totp_code`: an RFC 6238 code from a seed (the `otp` field).

Errors: every failure to open is one `IntegrityError`, whatever the cause; a passphrase
that does not open a `PassphraseLock` is `WrongPassphrase` (an `AuthenticationFailed`).
No exception of the `cryptography` library leaves this package.

Modules: `context`, `keys` (HPKE, recovery code), `symmetric`, `passphrase`, `signing`,
`stream` (passphrase-sealed backups), and `_hazmat`, the primitives, which nothing outside
this package imports.
"""

from __future__ import annotations

from ..errors import WrongPassphrase
from ._hazmat import totp_code
from .context import Context
from .keys import KeyPair, PublicKey, RecoveryCode, open_sealed, seal
from .passphrase import KdfParams, PassphraseKey, PassphraseLock, decoy_header
from .signing import SigningKey, first_bad_signature, verify_signature
from .symmetric import derive_key, new_symmetric_key, open_with_key, seal_with_key

__all__ = [
    "Context",
    "KdfParams",
    "KeyPair",
    "PassphraseKey",
    "PassphraseLock",
    "PublicKey",
    "RecoveryCode",
    "SigningKey",
    "WrongPassphrase",
    "decoy_header",
    "derive_key",
    "first_bad_signature",
    "new_symmetric_key",
    "open_sealed",
    "open_with_key",
    "seal",
    "seal_with_key",
    "totp_code",
    "verify_signature",
]

"""Custodian's exceptions, all rooted at `CustodianError`.

    CustodianError                 exit 1
    ├── UsageError                 exit 2  bad input: malformed path, empty secret, duplicate slug
    │   └── AlreadyExists
    ├── NotFound                   exit 3
    ├── AccessDenied               exit 4  no grant, wrong role, reason missing
    ├── AuthenticationFailed       exit 5  wrong passphrase, disabled account
    │   ├── SessionLocked                  no unlocked session where one is required
    │   └── WrongPassphrase                `crypto`: a passphrase does not open its lock
    ├── IntegrityError             exit 6  a ciphertext, wrapped key or record fails to verify
    ├── BackendUnavailable         exit 1  database or secret store cannot be reached
    │   └── RateLimited                    a server asks this client to slow down (HTTP 429)
    └── Conflict                   exit 7  a concurrent writer changed the data first (CAS,
                                           `cred set --if-version`)

Messages are shown to users as they are: they never carry secret values or key material.
Library exceptions (SQLAlchemy, hvac, cryptography) are translated at the boundary
where they occur, with `raise ... from exc`.
"""

from __future__ import annotations


class CustodianError(Exception):
    """Root of every error custodian raises on purpose."""

    exit_code = 1
    title = "error"


class UsageError(CustodianError):
    exit_code = 2
    title = "invalid input"


class AlreadyExists(UsageError):
    title = "already exists"


class NotFound(CustodianError):
    exit_code = 3
    title = "not found"


class AccessDenied(CustodianError):
    exit_code = 4
    title = "access denied"


class AuthenticationFailed(CustodianError):
    exit_code = 5
    title = "authentication failed"


class SessionLocked(AuthenticationFailed):
    title = "locked"


class WrongPassphrase(AuthenticationFailed):
    """A passphrase does not open a key or a backup (raised by `custodian.crypto` only;
    the service turns it into an `AuthenticationFailed` naming the account)."""


class IntegrityError(CustodianError):
    exit_code = 6
    title = "integrity failure"


class BackendUnavailable(CustodianError):
    exit_code = 1
    title = "backend unavailable"


class RateLimited(BackendUnavailable):
    title = "rate limited"


class Conflict(CustodianError):
    exit_code = 7
    title = "conflict"

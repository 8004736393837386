"""custodian: a credentials vault for managed-service providers.

The public API is what this module exports; the CLI and the TUI use nothing else.
Importing it is cheap: names load on first use.
"""

from __future__ import annotations

# Not `from typing import ...`: typing costs milliseconds, and `custodian get` through the
# session agent imports this package and the stdlib fast path only (docs/performance.md).
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "ActorSession",
    "AlertPolicy",
    "AlreadyExists",
    "AuthenticationFailed",
    "BackendUnavailable",
    "CredentialInfo",
    "Custodian",
    "CustodianError",
    "CustomerDetail",
    "CustomerInfo",
    "EventFilter",
    "EventInfo",
    "GrantInfo",
    "InitResult",
    "IntegrityError",
    "KdfParams",
    "NotFound",
    "Role",
    "Secret",
    "SecretPayload",
    "SessionLocked",
    "SystemInfo",
    "SystemKind",
    "TechnicianInfo",
    "UsageError",
    "VersionInfo",
    "resume_cached_session",
]

_WHERE = {
    "ActorSession": "custodian.service",
    "Custodian": "custodian.service",
    "InitResult": "custodian.service",
    "KdfParams": "custodian.crypto",
    "Role": "custodian.db.models",
    "SystemKind": "custodian.db.models",
    "Secret": "custodian.secret",
    "SecretPayload": "custodian.secret",
    "resume_cached_session": "custodian.agent.cache",
    "EventFilter": "custodian.audit.query",
    "AlertPolicy": "custodian.audit.alerts",
    **{
        n: "custodian.records"
        for n in (
            "CredentialInfo",
            "CustomerDetail",
            "CustomerInfo",
            "EventInfo",
            "GrantInfo",
            "SystemInfo",
            "TechnicianInfo",
            "VersionInfo",
        )
    },
    **{
        n: "custodian.errors"
        for n in (
            "AccessDenied",
            "AlreadyExists",
            "AuthenticationFailed",
            "BackendUnavailable",
            "CustodianError",
            "IntegrityError",
            "NotFound",
            "SessionLocked",
            "UsageError",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'custodian' has no attribute {name!r}")


if TYPE_CHECKING:
    from typing import Any

    from .agent.cache import resume_cached_session
    from .audit.alerts import AlertPolicy
    from .audit.query import EventFilter
    from .crypto import KdfParams
    from .db.models import Role, SystemKind
    from .errors import (
        AccessDenied,
        AlreadyExists,
        AuthenticationFailed,
        BackendUnavailable,
        CustodianError,
        IntegrityError,
        NotFound,
        SessionLocked,
        UsageError,
    )
    from .records import (
        CredentialInfo,
        CustomerDetail,
        CustomerInfo,
        EventInfo,
        GrantInfo,
        SystemInfo,
        TechnicianInfo,
        VersionInfo,
    )
    from .secret import Secret, SecretPayload
    from .service import ActorSession, Custodian, InitResult

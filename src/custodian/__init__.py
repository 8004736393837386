"""custodian: a credentials vault for managed-service providers.

The public API is what this module exports (`__all__`, pinned by
tests/architecture/test_layout.py); the CLI and the TUI import nothing else but
`custodian.service` (import-linter checks it). Importing it is cheap: names load on first
use, and this module itself imports nothing of custodian's.
"""

from __future__ import annotations

# Not `from typing import ...`: typing costs milliseconds, and `custodian get` through the
# session agent imports this package and the stdlib fast path only (docs/performance.md).
TYPE_CHECKING = False

__version__ = "0.1.0"

__all__ = [
    "MAX_FIELD_BYTES",
    "PRIMARY_FIELD",
    "AccessDenied",
    "AccessInfo",
    "ActorSession",
    "AlertPolicy",
    "AlreadyExists",
    "AuthenticationFailed",
    "BackendConfig",
    "BackendUnavailable",
    "CredentialDetail",
    "CredentialEdit",
    "CredentialInfo",
    "Custodian",
    "CustodianError",
    "CustomerDetail",
    "CustomerInfo",
    "EventFilter",
    "EventInfo",
    "GrantInfo",
    "ImportItem",
    "ImportReport",
    "InitResult",
    "IntegrityError",
    "KdfParams",
    "Manifest",
    "NotFound",
    "Parsed",
    "PolicyChange",
    "RecoveryCode",
    "Role",
    "Rule",
    "SchemaStatus",
    "Secret",
    "SecretPayload",
    "SessionLocked",
    "SystemEdit",
    "SystemInfo",
    "SystemKind",
    "TechnicianInfo",
    "UsageError",
    "VersionInfo",
    "check_handover_passphrase",
    "check_handover_target",
    "check_out_target",
    "clean_name",
    "generate_password",
    "parse_kind_map",
    "parse_span",
    "parse_time",
    "read_csv",
    "read_kdbx",
    "restore_backup",
    "resume_cached_session",
    "utcnow",
    "verify_backup",
    "write_private_file",
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
    "SchemaStatus": "custodian.service",
    "BackendConfig": "custodian.storage.config",
    "RecoveryCode": "custodian.crypto",
    "PRIMARY_FIELD": "custodian.secret",
    "MAX_FIELD_BYTES": "custodian.secret",
    "generate_password": "custodian.generate",
    "ImportReport": "custodian.service.imports",
    "restore_backup": "custodian.service.restore",
    "Manifest": "custodian.exchange.backup",
    "verify_backup": "custodian.exchange.backup",
    "check_handover_passphrase": "custodian.exchange.handover",
    "check_handover_target": "custodian.exchange.handover",
    "check_out_target": "custodian.files",
    "write_private_file": "custodian.files",
    **{n: "custodian.clock" for n in ("parse_span", "parse_time", "utcnow")},
    **{
        n: "custodian.exchange.importers"
        for n in (
            "ImportItem",
            "Parsed",
            "Rule",
            "clean_name",
            "parse_kind_map",
            "read_csv",
            "read_kdbx",
        )
    },
    **{
        n: "custodian.records"
        for n in (
            "AccessInfo",
            "CredentialDetail",
            "CredentialEdit",
            "CredentialInfo",
            "CustomerDetail",
            "CustomerInfo",
            "EventInfo",
            "GrantInfo",
            "PolicyChange",
            "SystemEdit",
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
    from .clock import parse_span, parse_time, utcnow
    from .crypto import KdfParams, RecoveryCode
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
    from .exchange.backup import Manifest, verify_backup
    from .exchange.handover import check_handover_passphrase, check_handover_target
    from .exchange.importers import (
        ImportItem,
        Parsed,
        Rule,
        clean_name,
        parse_kind_map,
        read_csv,
        read_kdbx,
    )
    from .files import check_out_target, write_private_file
    from .generate import generate_password
    from .records import (
        AccessInfo,
        CredentialDetail,
        CredentialEdit,
        CredentialInfo,
        CustomerDetail,
        CustomerInfo,
        EventInfo,
        GrantInfo,
        PolicyChange,
        SystemEdit,
        SystemInfo,
        TechnicianInfo,
        VersionInfo,
    )
    from .secret import MAX_FIELD_BYTES, PRIMARY_FIELD, Secret, SecretPayload
    from .service import ActorSession, Custodian, InitResult, SchemaStatus
    from .service.imports import ImportReport
    from .service.restore import restore_backup
    from .storage.config import BackendConfig

"""The service layer: the one API that the CLI and the TUI both call.

Public: `Custodian` (`vault.py`: open, init, unlock, resume) and `ActorSession`
(`session.py`: a thin facade); for `custodian serve`, `Served` (`served.py`: the server's
side) and `Member` (`member.py`: a client's keys and trust), with `custodian.wire`
between them. Behind them, one module per use case (`technicians`, `customers`,
`grants`, `credentials`, `reveal`, `rotation`, `revocation`, `offboarding`, `purge`,
`access_log`, `store_admin`, `store_migration`, imports and backups), each a set of
functions over an `Actor` (`actor.py`), with every authorization rule stated once in
`policy.py`. Other packages import only this module (import-linter's "protected"
contract).

May import: `custodian.audit`, `custodian.storage`, `custodian.db`, `custodian.crypto` and
the shared value modules (errors, records, secret, paths, clock); never a front end.
"""

from ..audit.append import HeadMoved, SigningHead
from .device_targets import TargetSettings
from .log_review import (
    VerifiedLog,
    access_report,
    reads_whole_log,
    review_event,
    review_probe,
)
from .member import Member, auth_message
from .reveal import RevealTarget
from .served import Account, Login, Probe, Refusal, RevealRequest, Served, key_tag
from .served_log import (
    VERIFY_PROBE,
    prepare_verification,
    record_verification,
    record_verification_refusal,
    verification_event,
)
from .served_read import (
    PAGE_SIZE,
    CredentialListing,
    list_credentials,
    list_customers,
    list_probe,
    record_list_refusal,
)
from .served_review import (
    ReviewRequest,
    check_review,
    prepare_review,
    record_review,
    record_review_refusal,
)
from .served_system import (
    PreparedSystem,
    SystemRequest,
    commit_system,
    prepare_system,
    record_system_refusal,
    system_event,
)
from .served_write import (
    NewCredential,
    PreparedWrite,
    WriteRequest,
    WriteTarget,
    commit_write,
    prepare_write,
    record_write_refusal,
)
from .session import ActorSession
from .vault import Custodian, InitResult, SchemaStatus

__all__ = [
    "PAGE_SIZE",
    "VERIFY_PROBE",
    "Account",
    "ActorSession",
    "CredentialListing",
    "Custodian",
    "HeadMoved",
    "InitResult",
    "Login",
    "Member",
    "NewCredential",
    "PreparedSystem",
    "PreparedWrite",
    "Probe",
    "Refusal",
    "RevealRequest",
    "RevealTarget",
    "ReviewRequest",
    "SchemaStatus",
    "Served",
    "SigningHead",
    "SystemRequest",
    "TargetSettings",
    "VerifiedLog",
    "WriteRequest",
    "WriteTarget",
    "access_report",
    "auth_message",
    "check_review",
    "commit_system",
    "commit_write",
    "key_tag",
    "list_credentials",
    "list_customers",
    "list_probe",
    "prepare_review",
    "prepare_system",
    "prepare_verification",
    "prepare_write",
    "reads_whole_log",
    "record_list_refusal",
    "record_review",
    "record_review_refusal",
    "record_system_refusal",
    "record_verification",
    "record_verification_refusal",
    "record_write_refusal",
    "review_event",
    "review_probe",
    "system_event",
    "verification_event",
]

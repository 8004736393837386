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
from .credential_admin import Edited
from .device_targets import TargetSettings
from .log_review import (
    VerifiedLog,
    access_report,
    reads_whole_log,
    review_event,
    review_probe,
)
from .member import Member, auth_message
from .member_admin import check_edit, verified_detail
from .reveal import RevealTarget
from .served import Account, Login, Probe, Refusal, RevealRequest, Served, key_tag
from .served_admin import (
    CredentialRead,
    EditRequest,
    commit_edit,
    edit_event,
    prepare_edit,
    read_credential,
    read_probe,
    record_edit_refusal,
    record_read_refusal,
)
from .served_delete import (
    check_delete,
    commit_delete,
    delete_probe,
    prepare_delete,
    record_delete_refusal,
)
from .served_log import (
    VERIFY_PROBE,
    prepare_verification,
    record_verification,
    record_verification_refusal,
    verification_event,
)
from .served_login import (
    check_proof,
    lock_header,
    login_public,
    passphrase_proof,
    register_login_key,
    verifier_message,
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
    "CredentialRead",
    "Custodian",
    "EditRequest",
    "Edited",
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
    "check_delete",
    "check_edit",
    "check_proof",
    "check_review",
    "commit_delete",
    "commit_edit",
    "commit_system",
    "commit_write",
    "delete_probe",
    "edit_event",
    "key_tag",
    "list_credentials",
    "list_customers",
    "list_probe",
    "lock_header",
    "login_public",
    "passphrase_proof",
    "prepare_delete",
    "prepare_edit",
    "prepare_review",
    "prepare_system",
    "prepare_verification",
    "prepare_write",
    "read_credential",
    "read_probe",
    "reads_whole_log",
    "record_delete_refusal",
    "record_edit_refusal",
    "record_list_refusal",
    "record_read_refusal",
    "record_review",
    "record_review_refusal",
    "record_system_refusal",
    "record_verification",
    "record_verification_refusal",
    "record_write_refusal",
    "register_login_key",
    "review_event",
    "review_probe",
    "system_event",
    "verification_event",
    "verified_detail",
    "verifier_message",
]

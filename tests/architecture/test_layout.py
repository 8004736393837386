"""The codebase's shape, pinned: the public API, module sizes, package docstrings.

The layer rules themselves (which package may import which) are import-linter contracts in
pyproject.toml, checked by `make lint`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import custodian
from custodian import service

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "src" / "custodian", ROOT / "tui"]
MAX_LINES = 400


PINNED_PUBLIC_API = [
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
    "MAX_FIELD_BYTES",
    "Manifest",
    "NotFound",
    "PRIMARY_FIELD",
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

PINNED_SESSION_METHODS = [
    "add_credential",
    "add_customer",
    "add_system",
    "add_technician",
    "alerts",
    "backup",
    "certify_directory",
    "change_passphrase",
    "checkpoint",
    "customer_report",
    "delete",
    "doctor",
    "edit",
    "edit_customer",
    "events",
    "export",
    "field_limit",
    "grant",
    "hand_over",
    "hand_over_json",
    "handover",
    "harden_database",
    "history",
    "import_items",
    "iter_events",
    "last_seq",
    "list_credentials",
    "list_customers",
    "list_technicians",
    "maintenance",
    "migrate",
    "offboard",
    "preview_certification",
    "purge",
    "reapply_deletions",
    "reapply_purges",
    "record_restore",
    "recover",
    "remove_technician",
    "report",
    "reset_passphrase",
    "retention_days",
    "retire_credential",
    "reveal",
    "revoke",
    "rotation_list",
    "rotator",
    "secret_policy",
    "set_role",
    "set_secret",
    "show_credential",
    "show_customer",
    "verify_log",
    "whoami",
]


def _modules() -> list[Path]:
    return sorted(p for root in SOURCES for p in root.rglob("*.py") if "migrations" not in p.parts)


def test_the_public_api_is_what_was_pinned() -> None:
    assert sorted(custodian.__all__) == PINNED_PUBLIC_API
    for name in custodian.__all__:
        assert getattr(custodian, name) is not None, name


def test_the_service_facade_is_what_was_pinned() -> None:
    assert sorted(service.__all__) == [
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
        "PAGE_SIZE",
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
        "VERIFY_PROBE",
        "VerifiedLog",  # `log` through a server: the client reviews what it verified
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
    methods = sorted(
        name
        for name, member in inspect.getmembers(service.ActorSession)
        if not name.startswith("_") and callable(member)
    )
    assert methods == PINNED_SESSION_METHODS


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_longer_than_one_sitting(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (split it)"


@pytest.mark.parametrize(
    "package",
    sorted(
        p.parent
        for root in SOURCES
        for p in root.rglob("__init__.py")
        if "migrations" not in p.parts
    ),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_each_package_says_what_it_holds_and_may_import(package: Path) -> None:
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert doc, f"{package.relative_to(ROOT)}/__init__.py has no docstring"
    assert "import" in doc, f"{package.relative_to(ROOT)}: say what the package may import"


def test_the_facade_hides_no_logic() -> None:
    """Each public method of ActorSession hands its call to one use-case function: most
    are `name = delegate(module.function)`; the few written out have one statement."""
    source = inspect.getsource(importlib.import_module("custodian.service.session"))
    tree = ast.parse(source)
    facade = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ActorSession")
    delegated = 0
    for node in facade.body:
        if isinstance(node, ast.Assign):
            call = node.value
            assert isinstance(call, ast.Call) and ast.unparse(call.func) == "delegate", (
                f"ActorSession.{ast.unparse(node.targets[0])} is not a delegation"
            )
            assert len(call.args) == 1 and isinstance(call.args[0], ast.Attribute)
            delegated += 1
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            statements = [
                s
                for s in node.body
                if not isinstance(s, ast.Expr) or not isinstance(s.value, ast.Constant)
            ]
            assert len(statements) == 1, f"ActorSession.{node.name} does more than delegate"
    assert delegated >= 40


def test_a_delegated_method_keeps_its_use_case_signature_and_docstring() -> None:
    from custodian.service import credentials

    method = service.ActorSession.set_secret
    assert method.__doc__ == credentials.set_secret.__doc__
    assert (
        list(inspect.signature(method).parameters)[1:]
        == list(inspect.signature(credentials.set_secret).parameters)[1:]
    )

"""Credentials: versions, carried-over fields, history, and who sees which list."""

from __future__ import annotations

import pytest

from custodian.db.models import SystemKind
from custodian.errors import AccessDenied, AlreadyExists, NotFound, UsageError
from custodian.secret import SecretPayload
from tests.conftest import VaultKit


def test_set_secret_carries_over_the_other_fields(vault: VaultKit) -> None:
    path = vault.customer("acme", extra={"pin": "4711-2207", "enable": "en-1"})
    vault.admin.grant("admin", "acme")
    assert vault.admin.set_secret(path, SecretPayload({"password": "pw-2"})) == 2
    assert vault.admin.reveal(path).reveal() == "pw-2"
    assert vault.admin.reveal(path, field="pin").reveal() == "4711-2207"
    assert vault.admin.reveal(path, field="enable").reveal() == "en-1"
    assert vault.admin.reveal(path, version=1).reveal() == vault.secret


def test_set_secret_without_carry_over_drops_the_other_fields(vault: VaultKit) -> None:
    path = vault.customer("acme", extra={"pin": "4711-2207"})
    vault.admin.grant("admin", "acme")
    vault.admin.set_secret(path, SecretPayload({"password": "pw-2"}), keep_other_fields=False)
    with pytest.raises(NotFound):
        vault.admin.reveal(path, field="pin")


def test_carrying_fields_over_needs_read_access(vault: VaultKit) -> None:
    path = vault.customer("acme", extra={"pin": "4711-2207"})
    with pytest.raises(AccessDenied):
        vault.admin.set_secret(path, SecretPayload({"password": "pw-2"}))
    # replacing every field needs none
    assert (
        vault.admin.set_secret(path, SecretPayload({"password": "pw-2", "pin": "0000-1111"})) == 2
    )


def test_history_lists_every_version(vault: VaultKit) -> None:
    path = vault.customer("acme", grant=("admin",))
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    vault.clock.advance()
    alice.set_secret(path, SecretPayload({"password": "v2", "pin": "1234"}))
    history = alice.history(path)
    assert [(v.version, v.key_version, v.created_by) for v in history] == [
        (1, 1, "admin"),
        (2, 1, "alice"),
    ]
    assert history[1].fields == ("password", "pin")
    assert history[1].created_at > history[0].created_at
    assert [(v.version, v.key_version) for v in vault.admin.history(path)] == [(1, 1), (2, 1)]


def test_list_credentials_hides_ungranted_customers_from_technicians(vault: VaultKit) -> None:
    vault.customer("acme")
    vault.customer("globex", system="sw01", kind=SystemKind.SWITCH, cred="enable")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")

    mine = alice.list_credentials()
    assert [c.path for c in mine] == ["acme/dc01/admin"]
    shown = repr(mine) + repr(alice.list_customers())
    assert "globex" not in shown.lower()
    with pytest.raises(AccessDenied):
        alice.list_credentials("globex")
    with pytest.raises(AccessDenied):
        alice.history("globex/sw01/enable")
    # admins and auditors see every customer's metadata
    assert [c.path for c in vault.admin.list_credentials()] == [
        "acme/dc01/admin",
        "globex/sw01/enable",
    ]
    carol = vault.tech("carol", role="auditor")
    assert len(carol.list_credentials()) == 2


def test_bad_input_is_refused_without_half_written_data(vault: VaultKit) -> None:
    path = vault.customer("acme")
    events = len(vault.events())
    with pytest.raises(AlreadyExists):
        vault.admin.add_customer("acme", "Acme again")
    with pytest.raises(AlreadyExists):
        vault.admin.add_credential(path, SecretPayload({"password": "x"}))
    with pytest.raises(UsageError):
        vault.admin.add_credential("acme//admin", SecretPayload({"password": "x"}))
    with pytest.raises(UsageError):
        SecretPayload({"password": ""})
    with pytest.raises(NotFound):
        vault.admin.add_credential("acme/nosuch/admin", SecretPayload({"password": "x"}))
    with pytest.raises(NotFound):
        vault.admin.show_customer("nosuch")
    assert len(vault.admin.list_credentials()) == 1
    # Refused probes are events (issue 19): a missing system and a missing customer.
    refused = [(e.action, e.outcome) for e in vault.events()[events:]]
    assert refused == [("cred-add", "failed"), ("customer-show", "failed")]

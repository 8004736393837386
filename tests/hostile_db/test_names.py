"""A database writer who moves one credential's row to another credential's path: the
reader asked for the path gets the log's refusal, not the other credential's value
(docs/threat-model.md). The access log names each credential's path (`Directory.names`),
from the signed events that add, rename and move credentials and rename systems, so a
rename made through custodian is followed, and one made in the tables is refused."""

from __future__ import annotations

import pytest

from custodian import CredentialEdit, SystemEdit, SystemKind
from custodian.errors import IntegrityError
from custodian.secret import SecretPayload
from custodian.service.directory import Directory
from tests.conftest import PASS
from tests.hostile_db.hostilekit import Attacker

ADMIN_PATH, SA_PATH = "acme/dc01/admin", "acme/sql01/sa"


def _two_credentials(vault) -> None:
    vault.customer("acme", secret="the-domain-admin-secret")
    vault.admin.add_system("acme/sql01", SystemKind.DATABASE)
    vault.admin.add_credential(SA_PATH, SecretPayload({"password": "the-sa-secret"}))
    vault.tech("bob")
    vault.admin.grant("bob", "acme")


def test_a_credential_moved_to_another_path_in_the_tables_is_refused(vault, attacker: Attacker):
    _two_credentials(vault)
    bob = vault.vault.unlock("bob", PASS)
    assert bob.reveal(ADMIN_PATH).reveal() == "the-domain-admin-secret"
    # the writer parks the domain admin elsewhere and puts the sa row at its path
    attacker.sql("UPDATE credential SET name = 'parked' WHERE name = 'admin'")
    attacker.sql(
        "UPDATE credential SET name = 'admin', system_id = (SELECT id FROM system"
        " WHERE name = 'dc01') WHERE name = 'sa'"
    )
    for session in (bob, vault.vault.unlock("bob", PASS)):  # a warm and a fresh session
        with pytest.raises(IntegrityError, match="swapped") as caught:
            session.reveal(ADMIN_PATH)
        assert caught.value.exit_code == 6 and "the-sa-secret" not in str(caught.value)
    refused = [e for e in vault.events() if e.action == "reveal" and e.outcome == "integrity"]
    assert refused and refused[-1].target == ADMIN_PATH


def test_renames_and_moves_made_through_custodian_are_followed(vault):
    _two_credentials(vault)
    bob = vault.vault.unlock("bob", PASS)
    assert bob.reveal(SA_PATH).reveal() == "the-sa-secret"
    vault.admin.edit(SA_PATH, CredentialEdit(name="sysadmin"))
    assert bob.reveal("acme/sql01/sysadmin").reveal() == "the-sa-secret"
    vault.admin.edit("acme/sql01/sysadmin", CredentialEdit(system="dc01"))
    assert bob.reveal("acme/dc01/sysadmin").reveal() == "the-sa-secret"
    vault.admin.edit("acme/dc01", SystemEdit(name="dc02"))
    for session in (bob, vault.vault.unlock("bob", PASS)):
        assert session.reveal("acme/dc02/sysadmin").reveal() == "the-sa-secret"
        assert session.reveal("acme/dc02/admin").reveal() == "the-domain-admin-secret"


def test_a_saved_client_state_without_names_is_not_used(vault):
    """A trust state saved before the log's names were kept does not load (`from_json`
    needs them): the client replays the log from its pinned root and learns every name."""
    _two_credentials(vault)
    bob = vault.vault.unlock("bob", PASS)
    assert bob.reveal(ADMIN_PATH).reveal() == "the-domain-admin-secret"
    state = bob._actor.trust.view().to_json()
    assert set(state["names"].values()) >= {ADMIN_PATH, SA_PATH}
    del state["names"]
    with pytest.raises(KeyError):
        Directory.from_json(state)

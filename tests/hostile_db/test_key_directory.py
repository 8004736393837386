"""A database writer against the key directory (issue 17, attacks 1-5 and 7): each attack
is plain SQL, on SQLite and on PostgreSQL (there as the hardened application role a team
member's client connects as). The client refuses with an integrity error (exit 6), the
refusal is in the log, and nothing written afterwards opens with the attacker's key."""

from __future__ import annotations

import psycopg
import pytest

from custodian.crypto import KeyPair
from custodian.db.models import Role
from custodian.errors import AccessDenied, IntegrityError
from custodian.secret import SecretPayload
from tests.conftest import PASS
from tests.hostile_db.hostilekit import Attacker, opens_with


def _refusals(vault) -> list[str]:
    return [
        row.detail
        for row in vault.events()
        if row.outcome == "integrity" and row.detail and "directory" in row.detail
    ]


def test_1_a_substituted_customer_key_is_never_sealed_to(vault, attacker: Attacker):
    path = vault.customer("acme", grant=())
    evil = KeyPair.generate()
    attacker.sql(
        "UPDATE customer_key SET public_key = :k WHERE customer_id ="
        " (SELECT id FROM customer WHERE slug = 'acme')",
        k=evil.public_key.to_bytes(),
    )
    with pytest.raises(IntegrityError) as caught:
        vault.admin.set_secret(path, SecretPayload({"password": "new-secret-after-attack"}))
    assert caught.value.exit_code == 6
    assert _refusals(vault), "the refusal is recorded"
    versions = vault.sql(
        "SELECT count(*) FROM secret_version sv JOIN credential c ON c.id = sv.credential_id"
    )
    assert versions[0][0] == 1  # nothing was written
    assert not opens_with(vault, evil)


def test_2_a_substituted_technician_key_gets_no_wrap(vault, attacker: Attacker):
    path = vault.customer("acme")
    vault.tech("carol")
    evil = KeyPair.generate()
    attacker.sql(
        "UPDATE technician SET public_key = :k WHERE username = 'carol'",
        k=evil.public_key.to_bytes(),
    )
    with pytest.raises(IntegrityError):
        vault.admin.grant("carol", "acme")
    with pytest.raises(IntegrityError):
        vault.admin.set_role("carol", Role.ADMIN)
    assert (
        vault.sql(
            "SELECT count(*) FROM key_wrap WHERE recipient_id ="
            " (SELECT id FROM technician WHERE username = 'carol')"
            " AND recipient_kind = 'technician'"
        )[0][0]
        == 0
    )
    assert not opens_with(vault, evil)
    assert path


def test_3_a_substituted_recovery_key_gets_no_org_key(vault, attacker: Attacker):
    vault.customer("acme")
    vault.tech("dave", "admin")
    evil = KeyPair.generate()
    attacker.sql("UPDATE vault_info SET recovery_public_key = :k", k=evil.public_key.to_bytes())
    with pytest.raises(IntegrityError):
        vault.admin.set_role("dave", Role.TECHNICIAN)  # rotates the organization key
    assert not opens_with(vault, evil)


def test_4_a_rolled_back_version_is_refused_and_numbers_are_not_reused(vault, attacker: Attacker):
    path = vault.customer("acme")
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    vault.admin.set_secret(path, SecretPayload({"password": "version-two"}))
    assert bob.reveal(path).reveal() == "version-two"
    attacker.sql("UPDATE credential SET current_version = 1")
    with pytest.raises(IntegrityError, match="rolled back"):
        bob.reveal(path)
    attacker.sql("DELETE FROM secret_version WHERE version = 2")
    with pytest.raises(IntegrityError):
        bob.reveal(path)
    with pytest.raises(IntegrityError):
        vault.admin.set_secret(path, SecretPayload({"password": "would-reuse-two"}))
    assert vault.sql("SELECT max(version) FROM secret_version")[0][0] == 1


def test_5_a_role_raised_in_the_table_is_not_acted_on(vault, attacker: Attacker):
    mallory = vault.tech("mallory")
    attacker.sql("UPDATE technician SET role = 'admin' WHERE username = 'mallory'")
    with pytest.raises(AccessDenied):  # her session acts with the directory's role
        mallory.add_customer("evil", "Evil Ltd")
    with pytest.raises(IntegrityError, match="key directory"):
        vault.vault.unlock("mallory", PASS)  # a new session is refused outright
    assert vault.sql("SELECT count(*) FROM customer WHERE slug = 'evil'")[0][0] == 0


def test_7_kdf_parameters_changed_in_the_table_are_refused(vault, attacker: Attacker):
    attacker.sql("UPDATE vault_info SET kdf_iterations = 10000")
    with pytest.raises(IntegrityError, match="key-derivation"):
        vault.admin.add_technician("erin", Role.TECHNICIAN, PASS)
    attacker.sql("UPDATE vault_info SET kdf_iterations = 1, kdf_memory_kib = 8")
    with pytest.raises(IntegrityError, match="key-derivation"):
        vault.admin.add_technician("erin", Role.TECHNICIAN, PASS)


def test_7_a_lock_header_past_the_ceiling_is_refused(vault, attacker: Attacker):
    vault.tech("frank")
    blob = vault.sql("SELECT locked_private FROM technician WHERE username = 'frank'")[0][0]
    raised = bytearray(blob)
    raised[6:10] = (5000).to_bytes(4, "big")  # t=5000: minutes per unlock
    attacker.sql(
        "UPDATE technician SET locked_private = :b WHERE username = 'frank'", b=bytes(raised)
    )
    with pytest.raises(IntegrityError, match="out of bounds"):
        vault.vault.unlock("frank", PASS)


def test_a_forged_directory_event_is_refused_by_every_client(vault, attacker: Attacker):
    """A technician who signs a key-directory change they may not make (here: make
    themselves admin) poisons nobody: every client's catch-up refuses it."""
    from custodian.audit.append import EventDraft, append
    from custodian.service import directory

    mallory = vault.tech("mallory")
    me = vault.sql(
        "SELECT id, public_key, signing_public_key FROM technician WHERE username = 'mallory'"
    )[0]
    with vault.vault.db.transaction() as tx:
        append(
            tx,
            EventDraft(
                "tech-role",
                "ok",
                "mallory",
                me[0],
                detail={
                    "dir": [
                        directory.tech_change(
                            me[0], "mallory", "admin", True, bytes(me[1]), bytes(me[2])
                        )
                    ]
                },
            ),
            vault.clock(),
            mallory._actor.signer,
        )
    with pytest.raises(IntegrityError, match="not allowed"):
        vault.admin.list_technicians()


def test_a_log_that_goes_back_is_refused(vault):
    path = vault.customer("acme")
    vault.admin.list_customers()  # the admin's client has verified the log so far
    (head,) = vault.sql("SELECT seq FROM log_head")[0]
    # A DBA (owner of the schema: the application role cannot) cuts the tail.
    if vault.backend == "postgres":
        vault.sql("ALTER TABLE access_event DISABLE TRIGGER USER")
    else:
        for name in ("access_event_no_update", "access_event_no_delete"):
            vault.sql(f"DROP TRIGGER IF EXISTS {name}")
    prev = vault.sql("SELECT hash FROM access_event WHERE seq = :s", s=head - 2)[0][0]
    vault.sql("DELETE FROM access_event WHERE seq > :s", s=head - 2)
    vault.sql("UPDATE log_head SET seq = :s, head = :h", s=head - 2, h=prev)
    with pytest.raises(IntegrityError, match=r"went back|is gone"):
        vault.admin.list_customers()
    assert path


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_application_role_cannot_rewrite_the_log(vault, attacker: Attacker):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        attacker.sql("DELETE FROM access_event")

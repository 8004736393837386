"""Stored ciphertexts and locked keys fail closed when tampered with or moved (both databases)."""

from __future__ import annotations

import re
import struct

import pytest

from custodian.crypto import KdfParams
from custodian.errors import AuthenticationFailed, IntegrityError
from custodian.secret import SecretPayload
from tests.conftest import PASS, VaultKit


def _version_row(vault: VaultKit, path: str, version: int) -> tuple[int, bytes]:
    """(secret_version.id, ciphertext) of `path`'s `version`."""
    slug, system, name = path.split("/")
    row = vault.sql(
        "SELECT sv.id, sv.ciphertext FROM secret_version sv"
        " JOIN credential c ON c.id = sv.credential_id"
        " JOIN system s ON s.id = c.system_id"
        " JOIN customer cu ON cu.id = c.customer_id"
        " WHERE cu.slug = :slug AND s.name = :system AND c.name = :name"
        " AND sv.version = :version",
        slug=slug,
        system=system,
        name=name,
        version=version,
    )
    assert len(row) == 1
    return row[0][0], bytes(row[0][1])


def _set_ciphertext(vault: VaultKit, row_id: int, blob: bytes) -> None:
    vault.sql("UPDATE secret_version SET ciphertext = :blob WHERE id = :id", blob=blob, id=row_id)


def _last_event(vault: VaultKit):  # type: ignore[no-untyped-def]
    return vault.events()[-1]


@pytest.fixture
def granted(vault: VaultKit):  # type: ignore[no-untyped-def]
    """alice, granted acme (two credentials) and globex."""
    alice = vault.tech("alice")
    acme = vault.customer("acme", secret="acme-one", grant=("alice",))
    vault.admin.add_credential(
        "acme/dc01/backup", SecretPayload({"password": "acme-two"}), username="backup"
    )
    globex = vault.customer("globex", secret="globex-one", grant=("alice",))
    return alice, acme, globex


def test_untouched_rows_open(vault: VaultKit, granted) -> None:  # type: ignore[no-untyped-def]
    alice, acme, globex = granted
    assert alice.reveal(acme).reveal() == "acme-one"
    assert alice.reveal("acme/dc01/backup").reveal() == "acme-two"
    assert alice.reveal(globex).reveal() == "globex-one"


def test_a_flipped_bit_in_the_database_is_an_integrity_error(
    vault: VaultKit,
    granted,  # type: ignore[no-untyped-def]
) -> None:
    alice, acme, _ = granted
    row_id, blob = _version_row(vault, acme, 1)
    tampered = bytearray(blob)
    tampered[len(tampered) // 2] ^= 0x80
    _set_ciphertext(vault, row_id, bytes(tampered))
    with pytest.raises(IntegrityError):
        alice.reveal(acme)
    event = _last_event(vault)
    assert (event.action, event.outcome, event.target) == ("reveal", "integrity", acme)


def test_a_ciphertext_moved_to_another_credential_fails(
    vault: VaultKit,
    granted,  # type: ignore[no-untyped-def]
) -> None:
    alice, acme, _ = granted
    _, blob = _version_row(vault, acme, 1)
    other_id, _ = _version_row(vault, "acme/dc01/backup", 1)
    _set_ciphertext(vault, other_id, blob)
    with pytest.raises(IntegrityError):
        alice.reveal("acme/dc01/backup")
    assert alice.reveal(acme).reveal() == "acme-one"


def test_a_ciphertext_moved_to_another_customer_fails(
    vault: VaultKit,
    granted,  # type: ignore[no-untyped-def]
) -> None:
    alice, acme, globex = granted
    _, blob = _version_row(vault, acme, 1)
    other_id, _ = _version_row(vault, globex, 1)
    _set_ciphertext(vault, other_id, blob)
    with pytest.raises(IntegrityError):
        alice.reveal(globex)


def test_a_ciphertext_moved_to_another_version_fails(
    vault: VaultKit,
    granted,  # type: ignore[no-untyped-def]
) -> None:
    alice, acme, _ = granted
    vault.admin.set_secret(acme, SecretPayload({"password": "acme-one-v2"}))
    _, old = _version_row(vault, acme, 1)
    new_id, _ = _version_row(vault, acme, 2)
    _set_ciphertext(vault, new_id, old)
    with pytest.raises(IntegrityError):
        alice.reveal(acme)
    assert alice.reveal(acme, version=1).reveal() == "acme-one"


def test_a_relabelled_key_version_fails(vault: VaultKit, granted) -> None:  # type: ignore[no-untyped-def]
    alice, acme, _ = granted
    vault.admin.grant("admin", "acme")
    vault.admin.revoke("admin", "acme")  # rotates acme's key to version 2
    vault.admin.set_secret(acme, SecretPayload({"password": "sealed-to-key-2"}))
    row_id, _ = _version_row(vault, acme, 2)
    assert alice.reveal(acme).reveal() == "sealed-to-key-2"
    vault.sql("UPDATE secret_version SET key_version = 1 WHERE id = :id", id=row_id)
    with pytest.raises(IntegrityError):
        alice.reveal(acme)


def test_a_missing_ciphertext_is_an_integrity_error(
    vault: VaultKit,
    granted,  # type: ignore[no-untyped-def]
) -> None:
    alice, acme, _ = granted
    row_id, _ = _version_row(vault, acme, 1)
    vault.sql("UPDATE secret_version SET ciphertext = NULL WHERE id = :id", id=row_id)
    with pytest.raises(IntegrityError):
        alice.reveal(acme)


# --- the technician's passphrase-locked key --------------------------------------------


def _locked(vault: VaultKit, name: str) -> bytes:
    rows = vault.sql("SELECT locked_private FROM technician WHERE username = :n", n=name)
    return bytes(rows[0][0])


@pytest.mark.parametrize(
    ("offset", "value"), [(2, 8 * 1024), (6, 1), (10, 1)], ids=["memory", "iterations", "lanes"]
)
def test_a_stored_lock_below_the_argon2_floor_is_refused(
    vault: VaultKit, offset: int, value: int
) -> None:
    vault.tech("alice")
    blob = bytearray(_locked(vault, "alice"))
    blob[offset : offset + 4] = struct.pack(">I", value)
    vault.sql("UPDATE technician SET locked_private = :b WHERE username = 'alice'", b=bytes(blob))
    with pytest.raises(IntegrityError):
        vault.vault.unlock("alice", PASS)
    event = _last_event(vault)
    assert (event.action, event.outcome, event.actor) == ("unlock", "failed", "alice")


def test_a_wrong_passphrase_fails_is_recorded_and_leaks_nothing(vault: VaultKit) -> None:
    vault.tech("alice")
    wrong = "not the right passphrase"
    with pytest.raises(AuthenticationFailed) as info:
        vault.vault.unlock("alice", wrong)
    message = str(info.value)
    assert info.value.exit_code == 5
    assert "alice" in message
    assert wrong not in message and PASS not in message
    assert not re.search(r"[0-9a-fA-F]{16,}|[A-Za-z0-9+/=]{24,}", message), message
    event = _last_event(vault)
    assert (event.action, event.outcome, event.actor) == ("unlock", "failed", "alice")
    stored = " ".join(str(v) for v in event)
    assert wrong not in stored and PASS not in stored
    # the right passphrase still works, and the failure left the key untouched
    assert vault.vault.unlock("alice", PASS).username == "alice"


def test_an_unknown_technician_fails_like_a_wrong_passphrase(vault: VaultKit) -> None:
    with pytest.raises(AuthenticationFailed):
        vault.vault.unlock("mallory", PASS)
    event = _last_event(vault)
    assert (event.action, event.outcome, event.actor) == ("unlock", "failed", "mallory")


def test_the_vault_refuses_kdf_params_below_the_floor(db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    from custodian.errors import UsageError
    from custodian.service import Custodian

    with Custodian.open(db_url, create=True, clock=clock) as custodian, pytest.raises(UsageError):
        custodian.init("admin", PASS, kdf=KdfParams(memory_kib=1024, iterations=1, lanes=1))

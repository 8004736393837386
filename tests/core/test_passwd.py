"""`change_passphrase`: the old passphrase stops working, the new one works, keys stay."""

from __future__ import annotations

import pytest

from custodian.errors import AuthenticationFailed, UsageError
from tests.conftest import PASS, VaultKit

NEW = "a brand new passphrase"


def _key_rows(vault: VaultKit) -> list:  # type: ignore[type-arg]
    return vault.sql(
        "SELECT public_key, signing_public_key FROM technician WHERE username = 'alice'"
    ) + vault.sql("SELECT * FROM key_wrap ORDER BY id")


def test_change_passphrase_replaces_the_old_one_and_keeps_the_keys(vault: VaultKit) -> None:
    path = vault.customer("acme")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    keys_before, bundle_before = _key_rows(vault), alice.export()

    alice.change_passphrase(NEW)

    with pytest.raises(AuthenticationFailed):
        vault.vault.unlock("alice", PASS)
    again = vault.vault.unlock("alice", NEW)
    assert again.export() == bundle_before
    assert _key_rows(vault) == keys_before
    assert again.reveal(path).reveal() == vault.secret
    passwd = [e for e in vault.events() if e.action == "passwd"]
    assert [(e.actor, e.outcome) for e in passwd] == [("alice", "ok")]
    assert not any(NEW in str(v) for e in vault.events() for v in e)


def test_a_too_short_new_passphrase_is_refused(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    with pytest.raises(UsageError):
        alice.change_passphrase("short")
    assert vault.vault.unlock("alice", PASS).username == "alice"


def test_changing_ones_passphrase_leaves_others_alone(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    vault.tech("bob")
    alice.change_passphrase(NEW)
    assert vault.vault.unlock("bob", PASS).username == "bob"

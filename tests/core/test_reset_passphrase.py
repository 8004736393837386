"""An admin resets a technician's lost passphrase: new keys, the same access, the old
passphrase and cached sessions dead, and a log that still verifies (the new signing key
is bound by the reset event)."""

from __future__ import annotations

import pytest

from custodian.errors import AccessDenied, AuthenticationFailed, UsageError
from tests.conftest import PASS, VaultKit

NEW = "a brand new passphrase"


def test_reset_gives_new_keys_and_keeps_the_grants(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    vault.customer("globex")  # not alice's: stays out of reach
    assert alice.reveal(path).reveal() == vault.secret
    old_bundle = alice.export()
    vault.clock.advance()

    assert vault.admin.reset_passphrase("alice", NEW) == 1  # acme's one key version

    with pytest.raises(AuthenticationFailed):
        vault.vault.unlock("alice", PASS)
    with pytest.raises(AuthenticationFailed):
        vault.vault.resume("alice", old_bundle)  # a cached session of the old keys
    again = vault.vault.unlock("alice", NEW)
    assert again.reveal(path).reveal() == vault.secret
    with pytest.raises(AccessDenied):
        again.reveal("globex/dc01/admin")
    again.change_passphrase(PASS)  # and the new keys are theirs to re-lock
    assert vault.vault.unlock("alice", PASS).reveal(path).reveal() == vault.secret

    for every in (True, False):  # the fast pass checks alice's newest, new-key signature
        result = vault.admin.verify_log(workers=0, every_signature=every)
        assert result.ok and result.warnings == ()
    [event] = [e for e in vault.admin.events() if e.action == "tech-reset"]
    assert (event.actor, event.target) == ("admin", "alice")


def test_reset_an_admin_rewraps_the_organization_key(vault: VaultKit) -> None:
    vault.tech("bob", "admin")
    vault.customer("acme")
    vault.admin.reset_passphrase("bob", NEW)
    bob = vault.vault.unlock("bob", NEW)
    bob.grant("bob", "acme")  # needs the organization key
    assert bob.reveal("acme/dc01/admin").reveal() == vault.secret
    assert vault.admin.verify_log(workers=0, every_signature=True).ok


def test_only_admins_reset_and_not_their_own(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    vault.tech("bob")
    with pytest.raises(AccessDenied):
        alice.reset_passphrase("bob", NEW)
    with pytest.raises(UsageError, match="custodian passwd"):
        vault.admin.reset_passphrase("admin", NEW)
    with pytest.raises(UsageError):
        vault.admin.reset_passphrase("bob", "short")
    assert vault.vault.unlock("bob", PASS).username == "bob"  # nothing changed

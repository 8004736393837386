"""The set-based listings (service/_listing.py) show exactly what the per-customer rule
(`_may_see`, as `show_customer` applies it) allows, on both databases."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from custodian.errors import AccessDenied
from custodian.secret import SecretPayload
from tests.conftest import VaultKit


@pytest.fixture
def mixed(vault: VaultKit) -> VaultKit:
    """alice: a grant on a, an expiring one on b, none on c; d offboarded after her grant."""
    vault.tech("alice")
    vault.tech("audrey", "auditor")
    for slug in "abcd":
        vault.customer(slug)
    vault.admin.add_credential(
        "a/dc01/svc", SecretPayload({"password": "x", "otp": "y"}), username="svc"
    )
    vault.admin.grant("alice", "a")
    vault.admin.grant("alice", "b", until=vault.clock() + timedelta(hours=1))
    vault.admin.grant("alice", "d")
    vault.admin.offboard("d")
    return vault


def _shown(session, slugs) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for slug in slugs:
        try:
            session.show_customer(slug)
            out.append(slug)
        except AccessDenied:
            pass
    return out


def test_technician_lists_only_live_grants_on_active_customers(mixed: VaultKit) -> None:
    alice = mixed.vault.unlock("alice", mixed.passphrase)
    assert [c.slug for c in alice.list_customers()] == ["a", "b"] == _shown(alice, "abcd")
    creds = alice.list_credentials()
    assert [c.path for c in creds] == ["a/dc01/admin", "a/dc01/svc", "b/dc01/admin"]
    svc = creds[1]
    assert (svc.customer, svc.system, svc.system_kind, svc.username) == (
        "a",
        "dc01",
        "active-directory",
        "svc",
    )
    assert svc.fields == ("otp", "password") and svc.version == 1
    assert svc.updated_at.tzinfo is UTC
    counts = {c.slug: c.credentials for c in alice.list_customers()}
    assert counts == {"a": 2, "b": 1}

    mixed.clock.advance(timedelta(hours=2))  # b's grant lapses
    assert [c.slug for c in alice.list_customers()] == ["a"] == _shown(alice, "abcd")
    assert {c.customer for c in alice.list_credentials()} == {"a"}
    with pytest.raises(AccessDenied):
        alice.list_credentials("b")


def test_readers_list_every_customer_and_credential(mixed: VaultKit) -> None:
    audrey = mixed.vault.unlock("audrey", mixed.passphrase)
    for reader in (mixed.admin, audrey):
        listed = reader.list_customers()
        assert [c.slug for c in listed] == list("abcd")
        assert {c.slug: c.status for c in listed}["d"] == "offboarded"
        assert len(reader.list_credentials()) == 5
        assert [c.path for c in reader.list_credentials("a")] == ["a/dc01/admin", "a/dc01/svc"]

"""The reveal's joined read path and its customer-key cache refuse exactly as before:
same order, same messages, same events; the cache never outlives a grant or a wrap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custodian.errors import AccessDenied, IntegrityError, NotFound
from custodian.secret import SecretPayload

from ..conftest import VaultKit


def _last(vault: VaultKit) -> dict[str, object]:
    return dict(vault.events()[-1]._mapping)


def test_granted_reveal_records_one_event_with_version(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    before = len(vault.events())
    assert alice.reveal(path).reveal() == vault.secret
    events = vault.events()
    assert len(events) == before + 1
    last = _last(vault)
    assert (last["action"], last["outcome"], last["target"]) == ("reveal", "ok", path)
    assert last["detail"] == '{"version":1}' and last["credential_id"] is not None


def test_technician_gets_the_same_refusal_for_ungranted_and_missing_customers(
    vault: VaultKit,
) -> None:
    bob = vault.tech("bob")
    vault.customer("acme")
    messages = []
    for path in ("acme/dc01/admin", "nosuch/dc01/admin"):
        with pytest.raises(AccessDenied) as err:
            bob.reveal(path)
        messages.append(str(err.value).replace("acme", "X").replace("nosuch", "X"))
        last = _last(vault)
        assert (last["outcome"], last["customer_id"], last["credential_id"]) == (
            "denied",
            None,
            None,
        )
    assert messages[0] == messages[1]


def test_admin_without_grant_is_denied_and_missing_customer_is_not_found(
    vault: VaultKit,
) -> None:
    path = vault.customer("acme")
    with pytest.raises(AccessDenied):
        vault.admin.reveal(path)
    assert _last(vault)["customer_id"] is not None  # admins may see the customer exists
    with pytest.raises(NotFound):
        vault.admin.reveal("nosuch/dc01/admin")
    assert _last(vault)["outcome"] == "failed"


def test_missing_credential_version_and_field_are_not_found(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    vault.admin.set_secret(path, SecretPayload({"password": "second-version"}))
    assert alice.reveal(path, version=1).reveal() == vault.secret
    assert alice.reveal(path).reveal() == "second-version"
    for kwargs, target in (
        ({"path": "acme/dc01/nosuch"}, "acme/dc01/nosuch"),
        ({"path": "acme/nosys/admin"}, "acme/nosys/admin"),
        ({"path": path, "version": 7}, path),
        ({"path": path, "field": "otp"}, path + "#otp"),
    ):
        with pytest.raises(NotFound):
            alice.reveal(**kwargs)  # type: ignore[arg-type]
        last = _last(vault)
        assert (last["outcome"], last["target"]) == ("failed", target)


def test_reason_rules_apply(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    vault.admin.add_customer("strict", "Strict Ltd", reason_pattern=r"T-\d+")
    vault.admin.add_system("strict/db", vault_kind())
    vault.admin.add_credential("strict/db/sa", SecretPayload({"password": "pw-strict"}))
    vault.admin.grant("alice", "strict")
    with pytest.raises(AccessDenied):
        alice.reveal("strict/db/sa")
    with pytest.raises(AccessDenied):
        alice.reveal("strict/db/sa", reason="because")
    assert alice.reveal("strict/db/sa", reason="T-42").reveal() == "pw-strict"
    assert _last(vault)["reason"] == "T-42"


def vault_kind():  # type: ignore[no-untyped-def]
    from custodian.db.models import SystemKind

    return SystemKind.DATABASE


def test_cached_customer_key_does_not_outlive_a_revoke(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    assert alice.reveal(path).reveal() == vault.secret  # key now cached in the session
    vault.admin.revoke("alice", "acme")
    with pytest.raises(AccessDenied):
        alice.reveal(path)
    vault.admin.grant("alice", "acme")
    assert alice.reveal(path).reveal() == vault.secret


def test_cached_customer_key_needs_the_wrap_to_still_exist(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    alice.reveal(path)
    vault.sql(
        "DELETE FROM key_wrap WHERE recipient_kind = 'technician' AND recipient_id = "
        "(SELECT id FROM technician WHERE username = 'alice')"
    )
    with pytest.raises(AccessDenied, match="no key"):
        alice.reveal(path)


def test_grant_expiry_is_honoured_with_a_warm_cache(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme")
    vault.admin.grant("alice", "acme", until=vault.clock.now + timedelta(hours=1))
    assert alice.reveal(path).reveal() == vault.secret
    vault.clock.advance(timedelta(hours=1))
    with pytest.raises(AccessDenied):
        alice.reveal(path)


def test_disabled_account_is_refused_on_the_read_path(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    alice.reveal(path)
    vault.sql("UPDATE technician SET active = false WHERE username = 'alice'")
    with pytest.raises(AccessDenied, match="disabled"):
        alice.reveal(path)
    with pytest.raises(AccessDenied, match="disabled"):
        alice.list_credentials()


def test_tampered_wrap_is_an_integrity_failure(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", grant=("alice",))
    (blob,) = vault.sql(
        "SELECT wrapped FROM key_wrap WHERE recipient_kind = 'technician' AND recipient_id = "
        "(SELECT id FROM technician WHERE username = 'alice')"
    )[0]
    flipped = bytes(blob[:-1]) + bytes([blob[-1] ^ 1])
    vault.sql(
        "UPDATE key_wrap SET wrapped = :b WHERE recipient_kind = 'technician' AND "
        "recipient_id = (SELECT id FROM technician WHERE username = 'alice')",
        b=flipped,
    )
    with pytest.raises(IntegrityError):
        alice.reveal(path)
    assert _last(vault)["outcome"] == "integrity"


def test_set_secret_keeps_fields_through_the_cached_key(vault: VaultKit) -> None:
    alice = vault.tech("alice")
    path = vault.customer("acme", extra={"enable": "en-able-9"}, grant=("alice",))
    alice.reveal(path)
    alice.set_secret(path, SecretPayload({"password": "rotated-pw"}))
    assert alice.reveal(path, field="enable").reveal() == "en-able-9"
    assert alice.reveal(path).reveal() == "rotated-pw"

"""Vault itself refuses a technician's own token for customers they are not granted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import hvac.exceptions
import pytest

from custodian.errors import AccessDenied, AuthenticationFailed
from custodian.secret import SecretPayload
from custodian.storage import SecretRef
from custodian.storage.hashicorp import VaultSecretStore
from tests.conftest import FakeClock
from tests.vault.baokit import VaultKit


def _read(client, kit: VaultKit, path: str) -> str:
    result = client.secrets.kv.v2.read_secret_version(
        path=kit.kv_path(path), mount_point=kit.store.mount, raise_on_deleted_version=True
    )
    return str(result["data"]["data"]["password"])


def test_userpass_token_reads_only_granted_customers_and_loses_them_on_revoke(
    vkit: VaultKit,
) -> None:
    vkit.tech("alice")
    acme = vkit.customer("acme", grant=("alice",))
    globex = vkit.customer("globex", secret="globex-secret")
    client = vkit.bao.client(vkit.userpass_login("alice"))
    assert _read(client, vkit, acme) == vkit.secret
    with pytest.raises(hvac.exceptions.Forbidden):
        _read(client, vkit, globex)

    vkit.admin.revoke("alice", "acme")
    with pytest.raises(hvac.exceptions.Forbidden):
        _read(client, vkit, acme)
    assert not client.is_authenticated()  # the outstanding login token itself is revoked
    fresh = vkit.bao.client(vkit.userpass_login("alice"))
    with pytest.raises(hvac.exceptions.Forbidden):
        _read(fresh, vkit, acme)


def test_token_role_token_follows_grants(vkit: VaultKit) -> None:
    vkit.tech("bob")
    acme = vkit.customer("acme")
    token = vkit.store.technician_token("bob").reveal()
    client = vkit.bao.client(token)
    with pytest.raises(hvac.exceptions.Forbidden):
        _read(client, vkit, acme)
    vkit.admin.grant("bob", "acme")
    assert _read(client, vkit, acme) == vkit.secret  # entity policies apply at once
    vkit.admin.revoke("bob", "acme")
    assert not client.is_authenticated()


def test_vault_refuses_the_technicians_token_whatever_custodian_does(vkit: VaultKit) -> None:
    """Custodian's own checks bypassed: the store, on alice's token, asked for globex."""
    alice = vkit.tech("alice")
    vkit.customer("acme", grant=("alice",))
    globex = vkit.customer("globex")
    token = vkit.userpass_login("alice")
    as_alice = VaultSecretStore(
        vkit.store.addr,
        token,
        mount=vkit.store.mount,
        prefix=vkit.store.prefix,
        auth_mount=vkit.store.auth_mount,
    )
    ref = SecretRef(0, "globex", vkit.credential_id(globex), 1, 1, 1)  # KV version 1
    with vkit.vault.db.transaction() as tx, pytest.raises(AccessDenied, match="Vault denied"):
        as_alice.read(tx, ref)()
    assert alice.username == "alice"


def test_custodian_on_a_technicians_own_token(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    acme = vkit.customer("acme", grant=("alice",))
    token = vkit.userpass_login("alice")
    vkit.vault.store = VaultSecretStore(
        vkit.store.addr,
        token,
        mount=vkit.store.mount,
        prefix=vkit.store.prefix,
        auth_mount=vkit.store.auth_mount,
    )
    alice = vkit.vault.unlock("alice", "correct horse battery staple")
    assert alice.reveal(acme).reveal() == vkit.secret
    vkit.bao.client().auth.token.revoke(token)
    with pytest.raises(AuthenticationFailed, match="expired or revoked"):
        alice.reveal(acme)


def test_grant_and_revoke_are_recorded_and_attach_one_policy(vkit: VaultKit) -> None:
    vkit.tech("alice")
    vkit.customer("acme", grant=("alice",))
    assert vkit.store.attached() == {"alice": {"acme"}}
    policy = vkit.bao.client().sys.read_policy(vkit.store.policy_name("acme"))
    assert f"{vkit.store.prefix}/acme/*" in policy["data"]["rules"]
    vkit.admin.revoke("alice", "acme")
    assert vkit.store.attached() == {"alice": set()}
    actions = [e.action for e in vkit.admin.events()]
    assert "grant" in actions and "revoke" in actions


def test_the_documented_admin_policy_is_enough_for_every_admin_operation(
    vkit: VaultKit, clock: FakeClock
) -> None:

    clock.now = datetime.now(UTC)  # time-limited grants expire by the server's clock

    root = vkit.bao.client()
    root.sys.create_or_update_policy(name="custodian-admin", policy=vkit.store.admin_policy_text())
    token = root.auth.token.create(policies=["custodian-admin"], ttl="1h")["auth"]["client_token"]
    admin_store = VaultSecretStore(
        vkit.store.addr,
        token,
        mount=vkit.store.mount,
        prefix=vkit.store.prefix,
        auth_mount=vkit.store.auth_mount,
    )
    vkit.vault.store = admin_store
    alice = vkit.tech("alice")
    acme = vkit.customer("acme", grant=("alice",))
    alice.set_secret(acme, SecretPayload({"password": "second-value"}))
    assert alice.history(acme)[-1].version == 2
    assert admin_store.technician_token("alice").reveal()
    vkit.admin.revoke("alice", "acme")
    vkit.admin.grant("alice", "acme", until=clock.now + timedelta(hours=1))  # own policy
    vkit.admin.grant("alice", "acme")
    assert vkit.admin.doctor(repair=True) == []
    with vkit.vault.db.transaction() as tx:
        assert admin_store.destroy_customer(tx, 1, "acme") == 2
    assert admin_store.stored_paths() == {}


def test_the_customer_key_check_refuses_while_the_read_is_in_flight(vkit: VaultKit) -> None:
    """The KV read starts before the cryptographic check: a refused check still returns
    nothing and records `denied`."""
    alice = vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    assert alice.reveal(path).reveal() == vkit.secret  # the customer key is cached now
    mine = (
        "FROM key_wrap WHERE recipient_kind = 'technician' AND recipient_id ="
        " (SELECT id FROM technician WHERE username = 'alice')"
    )
    assert vkit.sql(f"SELECT count(*) {mine}")[0][0] > 0
    vkit.sql(f"DELETE {mine}")
    with pytest.raises(AccessDenied, match="no key for customer 'acme'"):
        alice.reveal(path)
    (outcome,) = vkit.sql("SELECT outcome FROM access_event ORDER BY seq DESC LIMIT 1")[0]
    assert outcome == "denied"

"""A time-limited grant is ended by Vault itself at its expiry, with no `custodian
maintenance` run: the grant's own policy carries OpenBao's policy `expiration`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import hvac.exceptions
import pytest

from tests.conftest import FakeClock
from tests.vault.baokit import VaultKit


def _read(client, kit: VaultKit, path: str) -> str:  # type: ignore[no-untyped-def]
    result = client.secrets.kv.v2.read_secret_version(
        path=kit.kv_path(path), mount_point=kit.store.mount, raise_on_deleted_version=True
    )
    return str(result["data"]["data"]["password"])


def _policy(kit: VaultKit, name: str) -> dict | None:  # type: ignore[type-arg]
    found = kit.bao.client().read(f"sys/policies/acl/{name}")
    return found["data"] if found else None


def _real_time(clock: FakeClock) -> datetime:
    """Custodian's clock set to the Vault server's (real) time: expiry is judged by both."""
    clock.now = datetime.now(UTC)
    return clock.now


def test_the_technicians_own_tokens_get_403_once_the_grant_expires(
    vkit: VaultKit, clock: FakeClock
) -> None:
    _real_time(clock)
    vkit.tech("alice")
    acme = vkit.customer("acme")
    globex = vkit.customer("globex", secret="globex-secret", grant=("alice",))
    until = datetime.now(UTC) + timedelta(seconds=3)
    vkit.admin.grant("alice", "acme", until=until)
    login = vkit.bao.client(vkit.userpass_login("alice"))
    role = vkit.bao.client(vkit.store.technician_token("alice").reveal())
    for client in (login, role):
        assert _read(client, vkit, acme) == vkit.secret
    assert vkit.store.attached() == {"alice": {"acme", "globex"}}
    assert _policy(vkit, vkit.store.grant_policy_name("acme", "alice"))["expiration"]

    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)

    for client in (login, role):  # no maintenance, no doctor: Vault ended it
        with pytest.raises(hvac.exceptions.Forbidden):
            _read(client, vkit, acme)
        assert _read(client, vkit, globex) == "globex-secret"  # the standing grant stays
        assert client.is_authenticated()
    assert vkit.sql('SELECT count(*) FROM "grant"')[0][0] == 2  # custodian did nothing yet
    assert vkit.store.attached() == {"alice": {"globex"}}

    clock.now = datetime.now(UTC)
    assert vkit.admin.maintenance()["lapsed_grants_ended"] == 1  # then tidies up the entity
    assert vkit.admin.doctor() == []
    entity = vkit.bao.client().read(f"identity/entity/name/{vkit.store.entity_name('alice')}")
    assert entity["data"]["policies"] == [vkit.store.policy_name("globex")]


def test_a_time_limited_grant_attaches_its_own_policy_and_a_standing_one_replaces_it(
    vkit: VaultKit, clock: FakeClock
) -> None:
    now = _real_time(clock)
    vkit.tech("alice")
    vkit.tech("bob")
    vkit.customer("acme", grant=("bob",))
    own = vkit.store.grant_policy_name("acme", "alice")
    vkit.admin.grant("alice", "acme", until=now + timedelta(hours=2))
    assert _policy(vkit, own)["expiration"].startswith(
        (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    assert vkit.store.attached() == {"alice": {"acme"}, "bob": {"acme"}}

    vkit.admin.grant("alice", "acme")  # made standing: the shared policy, no expiry
    assert _policy(vkit, own) is None
    assert vkit.store.attached() == {"alice": {"acme"}, "bob": {"acme"}}

    vkit.admin.grant("alice", "acme", until=now + timedelta(hours=1))
    vkit.admin.revoke("alice", "acme")  # revoking removes the grant's policy too
    assert _policy(vkit, own) is None
    assert vkit.store.attached() == {"alice": set(), "bob": {"acme"}}
    assert vkit.admin.doctor() == []


def test_doctor_restores_a_time_limited_grant_with_its_expiry(
    vkit: VaultKit, clock: FakeClock
) -> None:
    now = _real_time(clock)
    vkit.tech("alice")
    vkit.customer("acme")
    vkit.admin.grant("alice", "acme", until=now + timedelta(hours=1))
    own = vkit.store.grant_policy_name("acme", "alice")
    vkit.bao.client().sys.delete_policy(own)  # lost in Vault (say, an old snapshot)
    assert vkit.store.attached() == {"alice": set()}
    drift = vkit.admin.doctor(repair=True)
    assert [(d.kind, d.target) for d in drift] == [("access", "alice@acme")]
    assert _policy(vkit, own)["expiration"]
    assert vkit.store.attached() == {"alice": {"acme"}}


def test_a_grant_already_past_by_vaults_clock_attaches_nothing(vkit: VaultKit) -> None:
    """The fixture's clock is months behind the server's: by Vault's clock this grant has
    already ended, and Vault refuses to keep a policy that expired."""
    vkit.tech("alice")
    acme = vkit.customer("acme")
    vkit.admin.grant("alice", "acme", until=vkit.vault.clock() + timedelta(days=1))
    assert vkit.store.attached() == {"alice": set()}
    with pytest.raises(hvac.exceptions.Forbidden):
        _read(vkit.bao.client(vkit.userpass_login("alice")), vkit, acme)

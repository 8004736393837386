"""Vault stopped, sealed, token revoked, mount missing, SQL failing halfway: each a clear
error, nothing half-written, never a fallback to local storage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from custodian.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    Conflict,
)
from custodian.secret import SecretPayload
from custodian.storage import SecretRef
from custodian.storage.hashicorp import VaultSecretStore
from tests.vault.baokit import BaoServer, VaultKit, make_kit, make_store


@pytest.fixture
def private_kit(db_url: str, bao_factory: Callable[[], BaoServer], clock: Any):
    server = bao_factory()
    kit = make_kit(db_url, server, make_store(server), clock)
    yield kit
    kit.vault.close()


def _count(kit: VaultKit, table: str) -> int:
    return int(kit.sql(f"SELECT count(*) FROM {table}")[0][0])


def test_server_stopped_mid_test(private_kit: VaultKit) -> None:
    kit = private_kit
    alice = kit.tech("alice")
    path = kit.customer("acme", grant=("alice",))
    kit.bao.stop()
    with pytest.raises(BackendUnavailable, match=r"cannot reach Vault at http://127\.0\.0\.1:"):
        alice.reveal(path)
    before = (_count(kit, "credential"), _count(kit, "secret_version"))
    with pytest.raises(BackendUnavailable):
        kit.admin.add_credential("acme/dc01/other", SecretPayload({"password": "x" * 12}))
    with pytest.raises(BackendUnavailable):
        kit.admin.set_secret(path, SecretPayload({"password": "y" * 12}))
    assert (_count(kit, "credential"), _count(kit, "secret_version")) == before
    assert kit.sql("SELECT ciphertext FROM secret_version") == [(None,)]  # no local copy
    with pytest.raises(BackendUnavailable):
        kit.admin.grant("alice", "acme")  # re-grant needs Vault: refused, not half-done


def test_a_read_failing_after_the_event_committed_is_recorded_too(
    private_kit: VaultKit,
) -> None:
    """The KV read overlaps the commit of the access event: when it then fails, nothing
    is revealed and the log shows the attempt and its failure (it errs towards "seen")."""
    kit = private_kit
    alice = kit.tech("alice")
    path = kit.customer("acme", grant=("alice",))
    assert alice.reveal(path, reason="T-1").reveal() == kit.secret
    kit.bao.stop()
    with pytest.raises(BackendUnavailable):
        alice.reveal(path, reason="T-2")
    events = kit.sql(
        "SELECT reason, outcome FROM access_event WHERE actor = 'alice'"
        " AND action = 'reveal' ORDER BY seq"
    )
    assert [tuple(e) for e in events] == [("T-1", "ok"), ("T-2", "ok"), ("T-2", "failed")]


def test_sealed_server(private_kit: VaultKit) -> None:
    kit = private_kit
    alice = kit.tech("alice")
    path = kit.customer("acme", grant=("alice",))
    kit.bao.seal()
    with pytest.raises(BackendUnavailable, match="is sealed"):
        alice.reveal(path)


def test_revoked_token(private_kit: VaultKit) -> None:
    kit = private_kit
    alice = kit.tech("alice")
    path = kit.customer("acme", grant=("alice",))
    child = kit.bao.client().auth.token.create(policies=["root"], ttl="1h")["auth"]
    token = child["client_token"]
    kit.vault.store = VaultSecretStore(kit.bao.addr, token, prefix=kit.store.prefix)
    assert alice.reveal(path).reveal() == kit.secret
    kit.bao.client().auth.token.revoke(token)
    with pytest.raises(AuthenticationFailed, match="expired or revoked") as info:
        alice.reveal(path)
    assert token not in str(info.value) and token not in repr(kit.vault.store)


def test_missing_mount(vkit: VaultKit) -> None:
    vkit.vault.store = VaultSecretStore(vkit.bao.addr, vkit.bao.root_token, mount="nowhere")
    vkit.admin.add_customer("acme", "Acme")
    vkit.admin.add_system("acme/dc01", "other")  # type: ignore[arg-type]
    with pytest.raises(BackendUnavailable, match="no KV version 2 engine mounted at 'nowhere'"):
        vkit.admin.add_credential("acme/dc01/admin", SecretPayload({"password": "p" * 12}))
    assert _count(vkit, "credential") == 0


def _fail_audit(kit: VaultKit) -> None:
    """Make every access-event insert fail inside the database (a real SQL error)."""
    if kit.vault.db.dialect == "sqlite":
        kit.sql(
            "CREATE TRIGGER no_log BEFORE INSERT ON access_event"
            " BEGIN SELECT RAISE(ABORT, 'log disk full'); END"
        )
    else:
        kit.sql(
            "CREATE FUNCTION no_log() RETURNS trigger AS $$ BEGIN"
            " RAISE EXCEPTION 'log disk full'; END $$ LANGUAGE plpgsql"
        )
        kit.sql(
            "CREATE TRIGGER no_log BEFORE INSERT ON access_event"
            " FOR EACH ROW EXECUTE FUNCTION no_log()"
        )


def _heal_audit(kit: VaultKit) -> None:
    kit.sql(
        "DROP TRIGGER no_log" + ("" if kit.vault.db.dialect == "sqlite" else " ON access_event")
    )


def test_sql_failing_after_the_kv_write_leaves_no_orphan(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    kv = vkit.bao.client().secrets.kv.v2
    _fail_audit(vkit)
    with pytest.raises(BackendUnavailable, match="database error"):
        vkit.admin.add_credential("acme/dc01/new", SecretPayload({"password": "n" * 12}))
    with pytest.raises(BackendUnavailable, match="database error"):
        alice.set_secret(path, SecretPayload({"password": "second-value"}))
    with pytest.raises(BackendUnavailable):
        alice.reveal(path)  # fail closed: the access event cannot be written
    _heal_audit(vkit)
    assert sorted(vkit.store.stored_paths()["acme"]) == [vkit.credential_id(path)]
    meta = kv.read_secret_metadata(path=vkit.kv_path(path), mount_point="secret")["data"]
    assert meta["versions"]["2"]["destroyed"] is True  # the rolled-back write, taken out
    assert alice.set_secret(path, SecretPayload({"password": "third-value"})) == 2
    assert [v.version for v in alice.history(path)] == [1, 2]
    assert alice.reveal(path).reveal() == "third-value"


def test_concurrent_writer_is_refused_not_overwritten(vkit: VaultKit) -> None:
    vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    vkit.bao.bao("kv", "put", "-mount=secret", vkit.kv_path(path), "password=racer")
    cred_id = vkit.credential_id(path)
    with vkit.vault.db.transaction() as tx, pytest.raises(Conflict, match="changed in Vault"):
        vkit.sql("SELECT 1")
        # a writer that has not seen the outside version 2 tries to write its own
        vkit.store.put(
            tx, SecretRef(1, "acme", cred_id, 2, 1), SecretPayload({"password": "mine"}).to_bytes()
        )
    kv = vkit.bao.client().secrets.kv.v2.read_secret_version(
        path=vkit.kv_path(path), mount_point="secret", raise_on_deleted_version=True
    )
    assert kv["data"]["data"] == {"password": "racer"}

"""The secret store contract. Every store (memory, SQL, Vault) passes it, on SQLite and
PostgreSQL (the `store` fixture, in conftest.py).

A store keeps payloads, as bytes, by (customer, credential, version); the service owns
everything else, sealing included (`service/payloads.py`). These tests drive each store
directly and through the service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from custodian.crypto import KeyPair
from custodian.errors import AccessDenied, BackendUnavailable, IntegrityError
from custodian.secret import SecretPayload
from custodian.service import payloads
from custodian.storage import SecretRef, SecretStore


@pytest.fixture
def kit(vault: Any, store: SecretStore) -> Iterator[Any]:
    """The shared vault kit (SQLite and PostgreSQL) with `store` holding the payloads."""
    vault.vault.store = store
    vault.tech("alice")
    yield vault


def _ref(kit: Any, path: str, version: int = 1) -> SecretRef:
    slug, system, name = path.split("/")
    row = kit.sql(
        "SELECT credential.id, customer.id, secret_version.key_version,"
        " secret_version.kv_version FROM credential"
        " JOIN customer ON customer.id = credential.customer_id"
        " JOIN system ON system.id = credential.system_id"
        " JOIN secret_version ON secret_version.credential_id = credential.id"
        " WHERE customer.slug = :c AND system.name = :s AND credential.name = :n"
        " AND secret_version.version = :v",
        c=slug,
        s=system,
        n=name,
        v=version,
    )[0]
    kv_version = int(row[3]) if row[3] is not None else None
    return SecretRef(int(row[1]), slug, int(row[0]), version, int(row[2]), kv_version)


def test_round_trip_of_every_field(kit: Any) -> None:
    path = kit.customer(
        "acme",
        grant=("alice",),
        extra={"ssh-key": "-----BEGIN KEY-----\nAAAA\n", "enable": "ünïcode ✓"},
    )
    alice = kit._techs["alice"]
    assert alice.reveal(path).reveal() == kit.secret
    assert alice.reveal(path, field="ssh-key").reveal() == "-----BEGIN KEY-----\nAAAA\n"
    assert alice.reveal(path, field="enable").reveal() == "ünïcode ✓"


def test_versions_are_kept_and_read_independently(kit: Any) -> None:
    path = kit.customer("acme", grant=("alice",))
    alice = kit._techs["alice"]
    for n in range(2, 5):
        assert alice.set_secret(path, SecretPayload({"password": f"value-{n}"})) == n
    assert alice.reveal(path).reveal() == "value-4"
    assert alice.reveal(path, version=1).reveal() == kit.secret
    assert alice.reveal(path, version=3).reveal() == "value-3"
    assert [v.version for v in alice.history(path)] == [1, 2, 3, 4]


def test_a_version_never_stored_is_an_integrity_error(kit: Any, store: SecretStore) -> None:
    path = kit.customer("acme", grant=("alice",))
    ref = _ref(kit, path)
    missing = SecretRef(ref.customer_id, ref.customer_slug, ref.credential_id, 7, 1)
    with kit.vault.db.transaction() as tx, pytest.raises(IntegrityError):
        store.read(tx, missing)()


def test_the_key_loader_is_required_before_any_payload(kit: Any, store: SecretStore) -> None:
    path = kit.customer("acme", grant=("alice",))

    def refuse() -> KeyPair:
        raise AccessDenied("no key")

    with kit.vault.db.transaction() as tx, pytest.raises(AccessDenied):
        payloads.read(store, tx, _ref(kit, path), refuse)()


def test_a_write_rolled_back_with_its_transaction_is_not_stored(
    kit: Any, store: SecretStore
) -> None:
    path = kit.customer("acme", grant=("alice",))
    ref = _ref(kit, path)
    second = SecretRef(ref.customer_id, ref.customer_slug, ref.credential_id, 2, ref.key_version)
    from custodian.crypto import PublicKey
    from custodian.db.models import CustomerKey, SecretVersion

    class Abort(Exception):
        pass

    with pytest.raises(Abort), kit.vault.db.transaction() as tx:
        tx.add(
            SecretVersion(
                credential_id=ref.credential_id,
                version=2,
                key_version=ref.key_version,
                field_names="password",
                created_by=1,
                created_at=kit.clock(),
            )
        )
        tx.flush()
        payloads.write(
            store,
            tx,
            second,
            SecretPayload({"password": "never"}),
            PublicKey(tx.get(CustomerKey, (ref.customer_id, ref.key_version)).public_key),
        )
        raise Abort
    alice = kit._techs["alice"]
    assert [v.version for v in alice.history(path)] == [1]
    assert alice.set_secret(path, SecretPayload({"password": "real-2"})) == 2
    assert alice.reveal(path).reveal() == "real-2"


def test_destroy_customer_removes_that_customers_payloads_only(
    kit: Any, store: SecretStore
) -> None:
    acme = kit.customer("acme", grant=("alice",))
    globex = kit.customer("globex", grant=("alice",))
    alice = kit._techs["alice"]
    alice.set_secret(acme, SecretPayload({"password": "acme-2"}))
    with kit.vault.db.transaction() as tx:
        assert store.destroy_customer(tx, _ref(kit, acme).customer_id, "acme") == 2
    for version in (1, 2):
        with kit.vault.db.transaction() as tx, pytest.raises(IntegrityError):
            store.read(tx, _ref(kit, acme, version))()
    assert alice.reveal(globex).reveal() == kit.secret


def test_nothing_written_behind_the_stores_back_means_no_sync(kit: Any, store: SecretStore) -> None:
    path = kit.customer("acme", grant=("alice",))
    with kit.vault.db.transaction() as tx:
        assert store.sync(tx, _ref(kit, path)) == []
        store.on_grant(tx, "alice", "acme")
        store.on_revoke(tx, "alice", "acme")
        store.on_offboard(tx, "acme")


def test_errors_are_custodians_own(kit: Any, store: SecretStore) -> None:
    """Whatever a store's library raises reaches the service as a CustodianError."""
    path = kit.customer("acme", grant=("alice",))
    if store.name == "vault":
        store._hvac = None  # type: ignore[attr-defined]
        store.addr = "http://127.0.0.1:9"  # type: ignore[attr-defined]  # discard port
        with pytest.raises(BackendUnavailable):
            kit._techs["alice"].reveal(path)
    else:
        kit.sql("UPDATE secret_version SET ciphertext = :b", b=b"\x00" * 64)
        blobs = getattr(store, "_blobs", {})  # the memory store's dict
        for slot in blobs:
            blobs[slot] = b"\x00" * 64
        with pytest.raises(IntegrityError):
            kit._techs["alice"].reveal(path)


def test_a_store_sees_only_what_the_service_hands_it(kit: Any, store: SecretStore) -> None:
    """A store that keeps sealed blobs holds no plaintext; a plaintext store (Vault) gets
    and returns the payload's plain encoding. Either way it reads back the same bytes."""
    ref = _ref(kit, kit.customer("acme", grant=("alice",)))
    with kit.vault.db.transaction() as tx:
        stored = store.read(tx, ref)()
        if store.plaintext:
            assert SecretPayload.from_bytes(stored)["password"].reveal() == kit.secret
        else:
            assert kit.secret.encode() not in stored
            with pytest.raises(IntegrityError):  # sealed: another key opens nothing
                payloads.read(store, tx, ref, KeyPair.generate)()

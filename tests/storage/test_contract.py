"""The secret store contract. Every store (SQL, Vault) passes it, on SQLite and PostgreSQL.

A store keeps payloads by (customer, credential, version); the service owns everything
else. These tests drive each store directly and through the service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from custodian.crypto import KeyPair
from custodian.errors import AccessDenied, BackendUnavailable, IntegrityError
from custodian.secret import SecretPayload
from custodian.storage import SecretRef, SecretStore, SqlSecretStore
from tests.vault.baokit import make_store

STORES = ["sql", "vault"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> SecretStore:
    if request.param == "sql":
        return SqlSecretStore()
    return make_store(request.getfixturevalue("bao"))


@pytest.fixture
def kit(vault: Any, store: SecretStore) -> Iterator[Any]:
    """The shared vault kit (SQLite and PostgreSQL) with `store` holding the payloads."""
    vault.vault.store = store
    vault.tech("alice")
    yield vault


def _ref(kit: Any, path: str, version: int = 1) -> SecretRef:
    slug, system, name = path.split("/")
    row = kit.sql(
        "SELECT credential.id, customer.id, secret_version.key_version FROM credential"
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
    return SecretRef(int(row[1]), slug, int(row[0]), version, int(row[2]))


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
        store.get(tx, missing, KeyPair.generate)


def test_the_key_loader_is_required_before_any_payload(kit: Any, store: SecretStore) -> None:
    path = kit.customer("acme", grant=("alice",))

    def refuse() -> KeyPair:
        raise AccessDenied("no key")

    with kit.vault.db.transaction() as tx, pytest.raises(AccessDenied):
        store.get(tx, _ref(kit, path), refuse)


def test_a_write_rolled_back_with_its_transaction_is_not_stored(
    kit: Any, store: SecretStore
) -> None:
    path = kit.customer("acme", grant=("alice",))
    ref = _ref(kit, path)
    second = SecretRef(ref.customer_id, ref.customer_slug, ref.credential_id, 2, ref.key_version)
    from custodian.db.models import SecretVersion
    from custodian.service import keys

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
        store.put(
            tx,
            second,
            SecretPayload({"password": "never"}),
            keys.customer_public(tx, ref.customer_id, ref.key_version),
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
        assert store.destroy_customer(tx, _ref(kit, acme).customer_id) == 2
    for version in (1, 2):
        with kit.vault.db.transaction() as tx, pytest.raises(IntegrityError):
            store.get(tx, _ref(kit, acme, version), KeyPair.generate)
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
        with pytest.raises(IntegrityError):
            kit._techs["alice"].reveal(path)

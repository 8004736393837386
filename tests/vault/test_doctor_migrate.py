"""`custodian doctor` finds and repairs drift; `custodian migrate` moves every payload."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from custodian.crypto import KdfParams
from custodian.db.models import Role, SecretVersion, SystemKind
from custodian.errors import AccessDenied, IntegrityError, UsageError
from custodian.secret import SecretPayload
from custodian.service import Custodian
from custodian.storage import config
from tests.vault.baokit import PASS, BaoServer, VaultKit, make_store


def _kinds(drift: list[Any]) -> list[tuple[str, bool]]:
    return sorted((d.kind, d.repaired) for d in drift)


def test_doctor_on_a_consistent_vault_finds_nothing(vkit: VaultKit) -> None:
    vkit.tech("alice")
    vkit.customer("acme", grant=("alice",))
    assert vkit.admin.doctor() == []


def test_doctor_reports_then_repairs_each_kind_of_drift(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    bob = vkit.tech("bob")
    path = vkit.customer("acme", grant=("alice", "bob"))
    alice.set_secret(path, SecretPayload({"password": "second-value"}))
    kv = vkit.bao.client().secrets.kv.v2
    # 1: a payload with no credential (a write whose rollback could not reach Vault)
    kv.create_or_update_secret(path=vkit.store.path("acme", 9999), secret={"password": "o"})
    # 2: a version deleted in Vault behind custodian's back
    kv.destroy_secret_versions(path=vkit.kv_path(path), versions=[1])
    # 3: a version written in Vault that custodian has not recorded
    kv.create_or_update_secret(path=vkit.kv_path(path), secret={"password": "third"})
    # 4: access drift: a policy detached by hand, and one attached without a grant
    vkit.store.set_access("bob", "acme", attach=False)
    vkit.tech("mallory")
    vkit.store.set_access("mallory", "acme", attach=True)

    found = vkit.admin.doctor()
    assert _kinds(found) == [
        ("access", False),
        ("access", False),
        ("missing-payload", False),
        ("orphan-payload", False),
        ("unrecorded-version", False),
    ]
    repaired = vkit.admin.doctor(repair=True)
    assert all(d.repaired for d in repaired), repaired
    assert vkit.admin.doctor() == []
    assert [v.version for v in alice.history(path)] == [2, 3]
    assert alice.reveal(path).reveal() == "third"
    assert bob.reveal(path).reveal() == "third"
    assert vkit.store.attached()["mallory"] == set()
    assert [e.action for e in vkit.admin.events()].count("doctor") == 3


def test_doctor_reports_a_credential_with_no_payload_left(vkit: VaultKit) -> None:
    vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    vkit.bao.client().secrets.kv.v2.delete_metadata_and_all_versions(path=vkit.kv_path(path))
    found = vkit.admin.doctor(repair=True)
    assert _kinds(found) == [("missing-payload", False)]
    assert "cred set" in found[0].detail


def test_doctor_needs_an_admin(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    with pytest.raises(AccessDenied):
        alice.doctor()


def test_migrate_sql_to_vault_and_back(db_url: str, bao: BaoServer, clock: Any) -> None:
    custodian = Custodian.open(db_url, create=True, clock=clock)
    custodian.init("admin", PASS, kdf=KdfParams.floor())
    admin = custodian.unlock("admin", PASS)
    admin.add_technician("alice", Role.TECHNICIAN, PASS)
    paths = []
    for slug in ("acme", "globex"):
        admin.add_customer(slug, slug)
        admin.add_system(f"{slug}/sw", SystemKind.SWITCH)
        for n in range(3):
            path = f"{slug}/sw/c{n}"
            admin.add_credential(path, SecretPayload({"password": f"{slug}-{n}-v1"}))
            admin.set_secret(path, SecretPayload({"password": f"{slug}-{n}-v2", "enable": "en"}))
            paths.append(path)
        admin.grant("alice", slug)
    store = make_store(bao)
    target = config.BackendConfig("vault", bao.addr, store.mount, store.prefix, store.auth_mount)
    seen: list[tuple[int, int]] = []
    result = admin.migrate(target, progress=lambda d, t: seen.append((d, t)))
    assert (result.credentials, result.versions) == (6, 12) and seen[-1] == (6, 6)
    assert custodian.store.name == "vault"
    assert store.attached() == {"alice": {"acme", "globex"}}  # grants now enforced by Vault
    alice = custodian.unlock("alice", PASS)
    for path in paths:
        assert alice.reveal(path).reveal() == f"{path.split('/')[0]}-{path[-1]}-v2"
        assert alice.reveal(path, version=1).reveal().endswith("-v1")
    with custodian.db.engine.begin() as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT count(*) FROM secret_version WHERE ciphertext IS NOT NULL"
            ).scalar()
            == 0
        )
    reopened = Custodian.open(db_url, clock=clock)
    assert reopened.store.name == "vault"
    reopened.close()

    back = admin.migrate(config.BackendConfig("sql"))
    assert (back.to, back.credentials, back.versions) == ("sql", 6, 12)
    assert store.stored_paths() == {}
    assert store.attached() == {"alice": set()}
    for path in paths:
        assert alice.reveal(path).reveal().endswith("-v2")
    events = [e for e in admin.events() if e.action == "migrate"]
    assert len(events) == 2 * 3  # start, one per batch of credentials, finish; both ways
    custodian.close()


def test_interrupted_migration_resumes(db_url: str, bao: BaoServer, clock: Any) -> None:
    custodian = Custodian.open(db_url, create=True, clock=clock)
    custodian.init("admin", PASS, kdf=KdfParams.floor())
    admin = custodian.unlock("admin", PASS)
    admin.add_customer("acme", "Acme")
    admin.add_system("acme/sw", SystemKind.SWITCH)
    for n in range(4):
        admin.add_credential(f"acme/sw/c{n}", SecretPayload({"password": f"value-{n}"}))
    # Credential 3's sealed payload is damaged: the migration stops there.
    with custodian.db.engine.begin() as conn:
        last = conn.exec_driver_sql("SELECT max(credential_id) FROM secret_version").scalar()
        good = conn.exec_driver_sql(
            f"SELECT ciphertext FROM secret_version WHERE credential_id = {int(last)}"
        ).scalar()
        conn.execute(
            update(SecretVersion)
            .where(SecretVersion.credential_id == last)
            .values(ciphertext=b"\x00" * 40)
        )
    store = make_store(bao)
    target = config.BackendConfig("vault", bao.addr, store.mount, store.prefix)
    with pytest.raises(IntegrityError):
        admin.migrate(target, batch=2)  # c0, c1 committed; c2 written, then c3 fails
    with pytest.raises(UsageError, match="migration to vault is unfinished"):
        Custodian.open(db_url, clock=clock)
    with custodian.db.engine.begin() as conn:
        ids = [
            int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM credential ORDER BY id").all()
        ]
    assert store.stored_paths() == {"acme": ids[:2]}  # c2's write was taken back
    # Once the damage is repaired (the good ciphertext restored), it resumes.
    with custodian.db.engine.begin() as conn:
        conn.execute(
            update(SecretVersion).where(SecretVersion.credential_id == last).values(ciphertext=good)
        )
    result = admin.migrate(target, batch=2)
    assert (result.credentials, result.versions, result.already_done) == (2, 2, 2)
    assert store.stored_paths() == {"acme": ids}
    admin.grant("admin", "acme")
    viewer = custodian.unlock("admin", PASS)
    assert [viewer.reveal(f"acme/sw/c{n}").reveal() for n in range(4)] == [
        f"value-{n}" for n in range(4)
    ]
    reopened = Custodian.open(db_url, clock=clock)
    assert reopened.store.name == "vault"
    reopened.close()
    custodian.close()


def test_doctor_on_the_sql_store_reports_versions_without_payload(db_url: str, clock: Any) -> None:
    custodian = Custodian.open(db_url, create=True, clock=clock)
    custodian.init("admin", PASS, kdf=KdfParams.floor())
    admin = custodian.unlock("admin", PASS)
    admin.add_customer("acme", "Acme")
    admin.add_system("acme/sw", SystemKind.SWITCH)
    admin.add_credential("acme/sw/c0", SecretPayload({"password": "value-0"}))
    assert admin.doctor() == []
    with custodian.db.engine.begin() as conn:
        conn.execute(update(SecretVersion).values(ciphertext=None))
    assert _kinds(admin.doctor(repair=True)) == [("missing-payload", False)]
    custodian.close()

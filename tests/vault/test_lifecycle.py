"""Offboarding and purge on the Vault backend: policies detached, KV paths destroyed."""

from __future__ import annotations

from pathlib import Path

import hvac.exceptions
import pytest

from custodian.secret import SecretPayload
from tests.vault.baokit import VaultKit


def test_offboard_detaches_access_and_purge_destroys_every_version(
    vkit: VaultKit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTODIAN_SHRED_LIST", str(tmp_path / "shredded.jsonl"))
    alice = vkit.tech("alice")
    acme = vkit.customer("acme", grant=("alice",))
    globex = vkit.customer("globex", grant=("alice",))
    alice.set_secret(acme, SecretPayload({"password": "acme-second"}))
    token = vkit.userpass_login("alice")
    kv = vkit.bao.client(token).secrets.kv.v2
    kv.read_secret_version(
        path=vkit.kv_path(acme), mount_point="secret", raise_on_deleted_version=True
    )

    vkit.admin.offboard("acme")
    assert vkit.store.attached() == {"alice": {"globex"}}
    fresh = vkit.bao.client(vkit.userpass_login("alice")).secrets.kv.v2
    with pytest.raises(hvac.exceptions.Forbidden):
        fresh.read_secret_version(
            path=vkit.kv_path(acme), mount_point="secret", raise_on_deleted_version=True
        )
    assert fresh.read_secret_version(
        path=vkit.kv_path(globex), mount_point="secret", raise_on_deleted_version=True
    )

    acme_path = vkit.kv_path(acme)
    vkit.admin.purge("acme", now=True)
    root = vkit.bao.client().secrets.kv.v2
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.read_secret_metadata(path=acme_path, mount_point="secret")
    assert set(vkit.store.stored_paths()) == {"globex"}
    assert (
        vkit.bao.client()
        .sys.list_acl_policies()["data"]["keys"]
        .count(vkit.store.policy_name("acme"))
        == 0
    )

    assert vkit.admin.doctor() == []

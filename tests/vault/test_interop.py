"""Custodian and Vault's own CLI read and write the same KV v2 secrets."""

from __future__ import annotations

import json

from custodian.secret import SecretPayload
from tests.vault.baokit import VaultKit


def test_secret_written_by_custodian_is_read_by_bao_kv_get(vkit: VaultKit) -> None:
    vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    done = vkit.bao.bao(
        "kv", "get", "-format=json", f"-mount={vkit.store.mount}", vkit.kv_path(path)
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["data"] == {"password": vkit.secret}


def test_payload_lives_only_in_vault_not_in_sql(vkit: VaultKit) -> None:
    path = vkit.customer("acme")
    rows = vkit.sql("SELECT ciphertext, kv_version FROM secret_version")
    assert rows == [(None, 1)]
    assert vkit.credential_id(path) > 0


def test_bao_kv_put_at_a_custodian_path_shows_up_as_a_new_version(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    done = vkit.bao.bao(
        "kv",
        "put",
        f"-mount={vkit.store.mount}",
        vkit.kv_path(path),
        "password=-",
        input="changed-in-bao",
    )
    assert done.returncode == 0, done.stderr
    history = alice.history(path)
    assert [(v.version, v.created_by) for v in history] == [(1, "admin"), (2, "(vault)")]
    assert alice.reveal(path).reveal() == "changed-in-bao"
    assert alice.reveal(path, version=1).reveal() == vkit.secret
    assert any(e.action == "cred-sync" for e in vkit.admin.events())


def test_set_after_an_outside_write_builds_on_it(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    vkit.bao.bao(
        "kv",
        "put",
        f"-mount={vkit.store.mount}",
        vkit.kv_path(path),
        "password=outside",
        "enable=en-able-9",
    )
    version = alice.set_secret(path, SecretPayload({"password": "newer"}))
    assert version == 3
    assert alice.reveal(path, field="enable").reveal() == "en-able-9"
    kv = vkit.bao.client().secrets.kv.v2.read_secret_version(
        path=vkit.kv_path(path), mount_point=vkit.store.mount, raise_on_deleted_version=True
    )
    assert kv["data"]["metadata"]["version"] == 3

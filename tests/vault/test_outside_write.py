"""A device password changed by an outside tool (`bao kv put`, `bao kv patch`) is what
the next `get` returns: the reveal picks the newer KV version up and records the sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from custodian.secret import SecretPayload
from tests.vault.baokit import BaoServer, VaultKit
from tests.vault.test_cli import Cli


def test_get_returns_what_bao_kv_put_and_patch_wrote(
    bao_factory: Callable[[], BaoServer], tmp_path: Path
) -> None:
    cli = Cli(bao_factory(), tmp_path / "vault.db")
    cli.ok("init", "--admin", "alice", "--kdf-seconds", "0", "--backend", "vault")
    cli.ok("customer", "add", "acme", "--name", "Acme")
    cli.ok("system", "add", "acme/sw1", "--kind", "switch")
    fields = {"password": "first-1", "enable": "enable-1"}
    cli.ok("cred", "add", "acme/sw1/admin", "--fields-json", input=json.dumps(fields))
    cli.ok("grant", "alice", "acme")
    assert cli.ok("get", "acme/sw1/admin") == "first-1\n"
    kv = "custodian/acme/1"
    assert cli.server.bao("kv", "put", "-mount=secret", kv, "password=outside-2").returncode == 0
    assert cli.ok("get", "acme/sw1/admin") == "outside-2\n"
    assert cli.server.bao("kv", "patch", "-mount=secret", kv, "enable=en-3").returncode == 0
    assert cli.ok("get", "acme/sw1/admin", "--field", "enable") == "en-3\n"
    assert cli.ok("get", "acme/sw1/admin") == "outside-2\n"
    events = json.loads(cli.ok("log", "--customer", "acme", "--format", "json"))
    synced = [e["detail"]["version"] for e in events if e["action"] == "cred-sync"]
    assert synced == [2, 3]
    reveals = [e["detail"]["version"] for e in events if e["action"] == "reveal"]
    assert reveals[-2:] == [3, 3]
    history = json.loads(cli.ok("cred", "history", "acme/sw1/admin", "--format", "json"))
    assert [v["created_by"] for v in history] == ["alice", "(vault)", "(vault)"]


def test_the_reveal_syncs_on_both_databases(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    assert alice.reveal(path).reveal() == vkit.secret
    done = vkit.bao.bao(
        "kv", "put", f"-mount={vkit.store.mount}", vkit.kv_path(path), "password=x2"
    )
    assert done.returncode == 0, done.stderr
    assert alice.reveal(path).reveal() == "x2"
    assert alice.reveal(path, version=1).reveal() == vkit.secret
    actions = [
        (e.action, json.loads(e.detail or "{}").get("version")) for e in vkit.admin.events()
    ][-3:]
    assert actions == [("cred-sync", 2), ("reveal", 2), ("reveal", 1)]
    assert alice.set_secret(path, SecretPayload({"password": "x3"})) == 3


def test_deleting_a_credential_destroys_its_kv_versions(vkit: VaultKit) -> None:
    alice = vkit.tech("alice")
    path = vkit.customer("acme", grant=("alice",))
    alice.set_secret(path, SecretPayload({"password": "second"}))
    kv = vkit.kv_path(path)
    counts = vkit.admin.delete(path)
    assert counts == {"credentials": 1, "secret_versions": 2, "payloads": 2}
    gone = vkit.bao.bao("kv", "metadata", "get", f"-mount={vkit.store.mount}", kv)
    assert gone.returncode != 0
    assert vkit.admin.doctor() == []


def test_a_deletion_re_applied_by_a_restore_destroys_the_kv_versions_too(vkit: VaultKit) -> None:
    from custodian.service.deletion import DeletionRecord

    path = vkit.customer("acme")
    kv, cid = vkit.kv_path(path), vkit.credential_id(path)
    (customer_id,) = vkit.sql("SELECT customer_id FROM credential WHERE id = :c", c=cid)[0]
    # What a restored backup holds after the deletion: the row, and here its KV versions.
    record = DeletionRecord(
        vkit.vault.vault_id(), customer_id, path, (cid,), None, "2100-01-01T00:00:00+00:00", "a"
    )
    assert vkit.admin.reapply_deletions([record]) == [path]
    gone = vkit.bao.bao("kv", "metadata", "get", f"-mount={vkit.store.mount}", kv)
    assert gone.returncode != 0
    assert vkit.admin.reapply_deletions([record]) == []  # KV and rows gone: nothing to redo
    assert vkit.admin.doctor() == []


def test_a_file_field_round_trips_through_kv_byte_for_byte(vkit: VaultKit) -> None:
    from custodian.secret import Secret

    blob = bytes(range(256)) * 64 + b"\x00\xff tail"  # NUL and invalid UTF-8
    path = vkit.customer("acme", grant=("admin",))
    fields = {"password": "pw", "cert.p12": Secret.from_bytes(blob)}
    assert vkit.admin.set_secret(path, SecretPayload(fields)) == 2
    got = vkit.admin.reveal(path, field="cert.p12")
    assert got.is_file and got.reveal_bytes() == blob
    assert vkit.admin.reveal(path).reveal() == "pw"
    assert vkit.admin.doctor() == []

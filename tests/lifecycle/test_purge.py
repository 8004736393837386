"""Destruction: crypto-shredding, the certificate, the destruction list, break-glass."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from custodian.crypto import RecoveryCode
from custodian.errors import AccessDenied, AuthenticationFailed, NotFound, UsageError
from custodian.secret import SecretPayload
from custodian.service import Custodian
from custodian.service.shredding import ShredRecord, load_shred_list, shred_list

from .helpers import add_creds, ids


def customer_material(vault: Any, cid: int) -> list[bytes]:
    """Every ciphertext, wrapped key and key of customer `cid` as stored now."""
    rows = vault.sql("SELECT wrapped FROM key_wrap WHERE customer_id = :c", c=cid)
    rows += vault.sql("SELECT public_key FROM customer_key WHERE customer_id = :c", c=cid)
    rows += vault.sql(
        "SELECT ciphertext FROM secret_version WHERE ciphertext IS NOT NULL AND credential_id"
        " IN (SELECT id FROM credential WHERE customer_id = :c)",
        c=cid,
    )
    return [bytes(r[0]) for r in rows]


def every_value(vault: Any) -> list[tuple[str, str, Any]]:
    """(table, column, value) for every cell of every table in the database."""
    engine = vault.vault.db.engine
    out = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            result = conn.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                out += [(table, c, v) for c, v in zip(columns, row, strict=True)]
    return out


def build(vault: Any) -> tuple[str, list[str]]:
    """acme with history worth destroying: versions, rotations, grants, a worklist entry."""
    path = vault.customer("acme", secret="CANARY-purge-acme")
    paths = [path, *add_creds(vault, "acme", ["sa", "backup"], system="sql01")]
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    vault.admin.grant("admin", "acme")
    bob.reveal(paths[1])
    vault.admin.set_secret(path, SecretPayload({"password": "CANARY-purge-acme-v2"}))
    vault.admin.revoke("bob", "acme")
    vault.customer("globex")  # must survive untouched
    vault.admin.grant("admin", "globex")
    return path, paths


def test_purge_leaves_nothing_decryptable_and_recovery_cannot_bring_it_back(vault):
    path, _ = build(vault)
    cid = ids(vault, "acme")
    material = customer_material(vault, cid)
    assert len(material) >= 10
    vault.clock.advance()

    (cert,) = vault.admin.purge("acme", now=True)
    assert cert.customer == "acme" and cert.shredded_by == "admin"
    assert cert.destroyed["key_versions"] == 2 and cert.destroyed["secret_versions"] == 4
    assert cert.destroyed["credentials"] == 3 and cert.destroyed["systems"] == 2

    # No row of any table holds a ciphertext or key of acme (nor a piece of one).
    probes = [m[i : i + 48] for m in material for i in (0, len(m) // 2, len(m) - 48)]
    for table, column, value in every_value(vault):
        if isinstance(value, (bytes, memoryview)):
            blob = bytes(value)
            assert not any(p in blob for p in probes), f"{table}.{column} holds acme material"
    for table in ("key_wrap", "customer_key", "credential", "system", "grant", "rotation_item"):
        column = "customer_id"
        assert vault.sql(f'SELECT count(*) FROM "{table}" WHERE {column} = :c', c=cid)[0][0] == 0
    assert (
        vault.sql(
            "SELECT count(*) FROM secret_version WHERE credential_id NOT IN"
            " (SELECT id FROM credential)"
        )[0][0]
        == 0
    )
    # Names and usernames of acme's credentials survive only in the append-only log.
    for table, column, value in every_value(vault):
        if isinstance(value, str) and table != "access_event":
            assert "user-sa" not in value and "sql01" not in value, (table, column)
    if vault.backend == "sqlite":
        raw = Path(vault.url.removeprefix("sqlite:///"))
        disk = b"".join(p.read_bytes() for p in (raw, Path(f"{raw}-wal")) if p.exists())
        assert not any(p in disk for p in probes), "deleted key material left in the file"

    # The recovery code opens the organization key, which reaches nothing of acme.
    with pytest.raises(NotFound, match="purged"):
        vault.admin.recover("acme", vault.recovery)
    with pytest.raises(AccessDenied):
        vault.admin.reveal(path)
    with pytest.raises(UsageError, match="already purged"):
        vault.admin.purge("acme", now=True)
    # The rest of the vault is intact, and the certificate is on record.
    assert vault.admin.reveal("globex/dc01/admin").reveal() == vault.secret
    report = vault.admin.customer_report("acme")
    assert report.status == "purged" and report.credentials == () and report.systems == ()
    assert report.certificate is not None and report.certificate.destroyed == cert.destroyed
    event = [e for e in vault.admin.events() if e.action == "purge"][-1]
    assert event.seq == cert.event_seq and json.loads(event.detail)["destroyed"] == cert.destroyed
    actions = [e.action for e in vault.admin.events()]
    assert actions.count("reveal") >= 1  # the log keeps every event


def test_purge_waits_for_the_retention_date(vault):
    vault.customer("acme")
    vault.customer("globex")
    with pytest.raises(UsageError, match="not offboarded"):
        vault.admin.purge("acme")
    vault.admin.offboard("acme", retention_days=5)
    with pytest.raises(UsageError, match="kept until"):
        vault.admin.purge("acme")
    assert vault.admin.purge() == []
    vault.clock.advance(timedelta(days=5, seconds=1))
    assert vault.admin.maintenance()["purges_due"] == 1
    assert [c.customer for c in vault.admin.purge()] == ["acme"]
    assert vault.admin.show_customer("globex").customer.status == "active"
    assert vault.admin.purge() == []
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied):
        bob.purge("globex", now=True)


def test_recover_with_the_recovery_code_is_loud_and_needs_the_right_code(vault):
    path = vault.customer("acme")
    wrong = RecoveryCode.generate()
    with pytest.raises(AuthenticationFailed):
        vault.admin.recover("acme", wrong)
    # Break the normal path: the admin's own organization-key wrap is gone.
    me = vault.sql("SELECT id FROM technician WHERE username = 'admin'")[0][0]
    vault.sql(
        "DELETE FROM key_wrap WHERE customer_id IS NULL AND recipient_kind = 'technician'"
        " AND recipient_id = :i",
        i=me,
    )
    with pytest.raises(AccessDenied):
        vault.admin.grant("admin", "acme")
    assert vault.admin.recover("acme", vault.recovery) == 1
    assert vault.admin.reveal(path).reveal() == vault.secret
    vault.admin.grant("admin", "acme")  # the org key is reachable again
    events = [(e.action, e.outcome) for e in vault.admin.events() if e.action == "recover"]
    assert events == [("recover", "failed"), ("recover", "ok")]


def test_restore_reapplies_purges_done_after_the_backup(vault, shred_list, request):
    build(vault)
    vault.admin.offboard("acme")
    backup = _backup(vault, request)
    vault.admin.purge("acme", now=True)
    mirrored = load_shred_list(shred_list)
    assert [r.slug for r in mirrored] == ["acme"]
    assert shred_list_of(vault) == mirrored

    restored = _restore(vault, backup, request)
    try:
        acme_keys = (
            "SELECT count(*) FROM customer_key WHERE customer_id ="
            " (SELECT id FROM customer WHERE slug = 'acme')"
        )
        assert _scalar(restored, acme_keys) == 3  # the backup still holds acme's keys
        assert _admin(vault, restored).reapply_purges(mirrored) == ["acme"]
        assert _scalar(restored, acme_keys) == 0
        assert _scalar(restored, "SELECT status FROM customer WHERE slug = 'acme'") == "purged"
        assert _scalar(restored, "SELECT count(*) FROM shredded_customer") == 1
        assert (
            _scalar(restored, "SELECT count(*) FROM access_event WHERE action = 'purge-reapply'")
            == 1
        )
        assert _admin(vault, restored).reapply_purges(mirrored) == []  # idempotent
    finally:
        restored.close()
    # The mirror file outside the database is enough on its own.
    again = _restore(vault, backup, request)
    try:
        assert _admin(vault, again).reapply_purges() == ["acme"]
    finally:
        again.close()


def test_reapply_ignores_a_new_customer_reusing_the_slug(vault):
    vault.customer("acme")
    vault.admin.purge("acme", now=True)
    (record,) = shred_list_of(vault)
    # A record from before this customer existed does not touch it.
    old = ShredRecord(record.vault_id, 99, "globex", "2000-01-01T00:00:00+00:00", "admin")
    vault.customer("globex")
    assert vault.admin.reapply_purges([old]) == []
    vault.admin.grant("admin", "globex")
    assert vault.admin.reveal("globex/dc01/admin").reveal() == vault.secret


# --- backup and restore, as issue 6's restore would do them ----------------------------


def shred_list_of(vault: Any) -> list[ShredRecord]:
    return shred_list(vault.vault)


def _scalar(custodian: Custodian, sql: str) -> Any:
    with custodian.db.transaction() as tx:
        return tx.connection().execute(text(sql)).scalar()


def _backup(vault: Any, request: Any) -> str:
    """A full copy of the database as it is now: a file, or a PostgreSQL database."""
    engine = vault.vault.db.engine
    if vault.backend == "sqlite":
        import sqlite3

        src_path = vault.url.removeprefix("sqlite:///")
        dst_path = src_path + ".backup"
        src, dst = sqlite3.connect(src_path), sqlite3.connect(dst_path)
        src.backup(dst)
        src.close()
        dst.close()
        return dst_path
    engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the source idle
    return request.getfixturevalue("pg_server").create("custodian_bk", template=engine.url.database)


def _admin(vault: Any, restored: Custodian) -> Any:
    """The admin, acting on the restored copy."""
    return restored.resume("admin", vault.admin.export())


def _restore(vault: Any, backup: str, request: Any) -> Custodian:
    """A fresh database restored from `backup`."""
    if vault.backend == "sqlite":
        import shutil
        import uuid

        target = f"{backup}.restored-{uuid.uuid4().hex[:6]}"
        shutil.copyfile(backup, target)
        return Custodian.open(target, clock=vault.clock)
    from tests.conftest import pg_url

    name = request.getfixturevalue("pg_server").create("custodian_rs", template=backup)
    return Custodian.open(pg_url(name), clock=vault.clock)

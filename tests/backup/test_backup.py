"""Backup and restore: round trips on both databases, damage refused, purges re-applied."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from custodian import CredentialEdit, SystemKind
from custodian.audit.verify import verify_log
from custodian.crypto import KdfParams
from custodian.crypto.stream import _HEADER, MAGIC
from custodian.db.engine import create_db_engine
from custodian.errors import (
    AccessDenied,
    AuthenticationFailed,
    IntegrityError,
    NotFound,
    UsageError,
)
from custodian.exchange.backup import create_backup, verify_backup
from custodian.exchange.importers import ImportItem
from custodian.secret import Secret, SecretPayload
from custodian.service import Custodian
from custodian.service.restore import restore_backup
from tests.conftest import ADMIN, PASS, _need_pg, pg_url

BACKUP_PASS = "backup passphrase 1"
N = 1000


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path, monkeypatch):
    # the destruction-list mirror file lives in the user data dir (lifecycle.py)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def target_url(backend, request, tmp_path):
    """An empty database without any schema, on the same kind of server."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    server = request.getfixturevalue("pg_server")
    _need_pg(server)
    name = server.create("custodian_restore")
    try:
        yield pg_url(name)
    finally:
        server.drop(name)


def _fill(vault, n: int = N) -> None:
    items = [
        ImportItem(
            f"gen:{i}",
            f"c{i % 10}",
            f"sys{i % 7}",
            f"cred{i}",
            {"password": Secret(f"pw-{i}"), "note": Secret(f"extra {i}")},
            username=f"user{i}",
        )
        for i in range(n)
    ]
    vault.admin.import_items(items, source="generated")


def _counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            tables = (
                "customer",
                "system",
                "credential",
                "secret_version",
                "key_wrap",
                "access_event",
                "technician",
                "customer_key",
            )
            return {
                t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables
            }
    finally:
        engine.dispose()


def _backup_bytes(vault) -> bytes:
    buf = io.BytesIO()
    vault.admin.backup(buf, BACKUP_PASS, params=KdfParams.floor())
    return buf.getvalue()


def test_round_trip_with_1000_credentials(vault, target_url, tmp_path):
    _fill(vault)
    data = _backup_bytes(vault)
    assert b"pw-1" not in data and b"cred1" not in data  # sealed, names included
    f = tmp_path / "vault.cbk"
    f.write_bytes(data)
    before = _counts(vault.url)
    manifest, redone = restore_backup(
        f, BACKUP_PASS, target_url, admin=ADMIN, admin_passphrase=PASS
    )
    assert manifest.tables["credential"] == N and redone.purged == redone.deleted == []
    after = _counts(target_url)
    # the source logged its backup after the snapshot; the target logged the restore
    assert {**after, "access_event": after["access_event"] - 1} == {
        **before,
        "access_event": before["access_event"] - 1,
    }
    with Custodian.open(target_url, clock=vault.clock) as restored:
        assert restored.vault_id() == vault.vault.vault_id()
        admin = restored.unlock("admin", vault.passphrase)
        for slug in {f"c{i % 10}" for i in range(N)}:
            admin.grant("admin", slug)
        for i in range(0, N, 97):
            path = f"c{i % 10}/sys{i % 7}/cred{i}"
            assert admin.reveal(path).reveal() == f"pw-{i}"
            assert admin.reveal(path, field="note").reveal() == f"extra {i}"
        admin.add_credential("c0/sys0/after-restore", SecretPayload({"password": "new"}))
        report = verify_log(restored.db.engine, vault_id=restored.vault_id(), workers=0)
        assert report.ok, report


@pytest.mark.postgres
def test_sqlite_backup_restores_into_postgres(tmp_path, request, clock):
    src = Custodian.open(tmp_path / "src.db", create=True, clock=clock)
    src.init("admin", PASS, kdf=KdfParams.floor())
    admin = src.unlock("admin", PASS)
    admin.import_items(
        [ImportItem("x:1", "acme", "dc01", "admin", {"password": Secret("pw")})], source="x"
    )
    f = tmp_path / "b.cbk"
    with f.open("wb") as out:
        admin.backup(out, BACKUP_PASS, params=KdfParams.floor())
    src.close()
    server = request.getfixturevalue("pg_server")
    _need_pg(server)
    name = server.create("custodian_cross")
    try:
        restore_backup(f, BACKUP_PASS, pg_url(name), admin=ADMIN, admin_passphrase=PASS)
        with Custodian.open(pg_url(name), clock=clock) as pg:
            a = pg.unlock("admin", PASS)
            a.grant("admin", "acme")
            assert a.reveal("acme/dc01/admin").reveal() == "pw"
    finally:
        server.drop(name)


def test_backup_is_consistent_while_technicians_write(vault, tmp_path, target_url):
    _fill(vault, 50)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        n = 0
        try:
            while not stop.is_set():
                vault.admin.add_credential(f"c0/sys0/live{n}", SecretPayload({"password": "x"}))
                n += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    t = threading.Thread(target=writer)
    t.start()
    try:
        f = tmp_path / "live.cbk"
        with f.open("wb") as out:
            create_backup(vault.vault.db.engine, out, BACKUP_PASS, params=KdfParams.floor())
    finally:
        stop.set()
        t.join()
    assert not errors
    restore_backup(f, BACKUP_PASS, target_url, admin=ADMIN, admin_passphrase=PASS)
    with Custodian.open(target_url) as restored:
        report = verify_log(restored.db.engine, vault_id=restored.vault_id(), workers=0)
        assert report.ok, report  # chain, head and rows from one instant


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> bytes:
    """One backup of a small SQLite vault (several chunks), shared by the damage tests:
    damage is about the file, whatever database it came from."""
    from tests.conftest import FakeClock

    d = tmp_path_factory.mktemp("sealed")
    with Custodian.open(d / "v.db", create=True, clock=FakeClock()) as v:
        v.init("admin", PASS, kdf=KdfParams.floor())
        admin = v.unlock("admin", PASS)
        admin.import_items(
            [
                ImportItem(f"g:{i}", "acme", "dc01", f"c{i}", {"password": Secret(f"pw{i}")})
                for i in range(120)
            ],
            source="g",
        )
        buf = io.BytesIO()
        admin.backup(buf, BACKUP_PASS, params=KdfParams.floor())
    data = buf.getvalue()
    assert len(data) > 3 * 65536
    return data


@pytest.mark.parametrize(
    "damage",
    [
        "flip-chunk",
        "flip-header",
        "truncate-end",
        "truncate-chunk",
        "drop-final",
        "swap-chunks",
        "append",
    ],
)
def test_damaged_backup_is_refused_and_nothing_written(sealed, tmp_path, damage):
    data = bytearray(sealed)
    header = len(MAGIC) + _HEADER.size + 32
    first = int.from_bytes(data[header : header + 4], "big") + 4  # length + chunk
    if damage == "flip-chunk":
        data[len(data) // 2] ^= 0x01
    elif damage == "flip-header":
        data[20] ^= 0x80
    elif damage == "truncate-end":
        data = data[:-1]
    elif damage == "truncate-chunk":
        data = data[: header + first + 1000]
    elif damage == "drop-final":
        data = data[: header + 2 * first]  # whole chunks, but not the last one
    elif damage == "swap-chunks":
        one, two = data[header : header + first], data[header + first : header + 2 * first]
        data[header : header + 2 * first] = two + one
    else:
        data += b"\x00" * 20
    f = tmp_path / "bad.cbk"
    f.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        verify_backup(f, BACKUP_PASS)
    target = tmp_path / "never.db"
    with pytest.raises(IntegrityError):
        restore_backup(f, BACKUP_PASS, f"sqlite:///{target}", admin=ADMIN, admin_passphrase=PASS)
    assert not target.exists()


def test_wrong_passphrase_and_non_empty_target(vault, tmp_path):
    f = tmp_path / "b.cbk"
    f.write_bytes(_backup_bytes(vault))
    with pytest.raises(AuthenticationFailed):
        verify_backup(f, "not the passphrase")
    with pytest.raises(UsageError, match="not empty"):
        restore_backup(f, BACKUP_PASS, vault.url, admin=ADMIN, admin_passphrase=PASS)


def test_restore_reapplies_the_destruction_list(vault, target_url, tmp_path):
    vault.customer("gone", grant=())
    vault.customer("kept")
    f = tmp_path / "before-purge.cbk"
    f.write_bytes(_backup_bytes(vault))
    vault.admin.offboard("gone")
    vault.admin.purge("gone", now=True)
    _, redone = restore_backup(f, BACKUP_PASS, target_url, admin=ADMIN, admin_passphrase=PASS)
    assert redone.purged == ["gone"]
    with Custodian.open(target_url) as restored:
        admin = restored.unlock("admin", vault.passphrase)
        with pytest.raises(AccessDenied, match="'gone' is offboarded"):
            admin.grant("admin", "gone")
        admin.grant("admin", "kept")
        assert admin.reveal("kept/dc01/admin").reveal() == vault.secret
        report = verify_log(restored.db.engine, vault_id=restored.vault_id(), workers=0)
        assert report.ok, report


def test_restore_deletes_again_what_was_deleted_after_the_backup(vault, target_url, tmp_path):
    vault.customer("acme", grant=("admin",))
    admin = vault.admin
    admin.add_credential("acme/dc01/svc", SecretPayload({"password": "svc-pw"}))
    admin.add_system("acme/sql01", SystemKind.DATABASE)
    admin.add_credential("acme/sql01/sa", SecretPayload({"password": "sa-pw"}))
    f = tmp_path / "before-deletions.cbk"
    f.write_bytes(_backup_bytes(vault))
    vault.clock.advance(timedelta(minutes=5))
    admin.edit("acme/dc01/svc", CredentialEdit(name="svc-old"))  # deleted by its new name
    admin.delete("acme/dc01/svc-old")
    admin.delete("acme/sql01")
    _, again = restore_backup(f, BACKUP_PASS, target_url, admin=ADMIN, admin_passphrase=PASS)
    assert again.purged == [] and again.deleted == ["acme/dc01/svc-old", "acme/sql01"]
    with Custodian.open(target_url, clock=vault.clock) as restored:
        admin = restored.unlock("admin", vault.passphrase)
        with pytest.raises(NotFound):
            admin.show_credential("acme/dc01/svc")
        assert [s.name for s in admin.show_customer("acme").systems] == ["dc01"]
        assert admin.reveal("acme/dc01/admin").reveal() == vault.secret  # the rest stays
        assert admin.reapply_deletions() == []  # idempotent
        report = admin.customer_report("acme")
        assert [d["target"] for d in report.deleted] == ["acme/dc01/svc-old", "acme/sql01"]
        replayed = [e for e in admin.events() if e.action == "delete-reapply"]
        assert [(e.target, e.actor, e.outcome) for e in replayed] == [
            ("acme/dc01/svc-old", "admin", "ok"),
            ("acme/sql01", "admin", "ok"),
        ]
        report = verify_log(restored.db.engine, vault_id=restored.vault_id(), workers=0)
        assert report.ok, report  # every re-applied deletion is signed


def test_a_credential_made_after_a_deletion_is_not_deleted_again(vault):
    from custodian.service.deletion import DeletionRecord

    path = vault.customer("acme", grant=("admin",))
    (cred_id,) = vault.sql("SELECT id FROM credential")[0]
    old = DeletionRecord(
        vault.vault.vault_id(), 1, "acme/dc01/x", (cred_id,), None, "2000-01-01T00:00:00+00:00", "a"
    )
    assert vault.admin.reapply_deletions([old]) == []
    assert vault.admin.reveal(path).reveal() == vault.secret


def test_a_damaged_deletion_list_names_its_file_and_line(tmp_path):
    from custodian.service.deletion import load_deletion_list

    f = tmp_path / "shredded.deletions.jsonl"
    f.write_text('\n{"vault_id": "v", "customer_id": 1}\n')
    with pytest.raises(UsageError, match=r"deletions\.jsonl: line 2 is not a deletion-list entry"):
        load_deletion_list(f)

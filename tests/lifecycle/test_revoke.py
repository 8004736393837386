"""Revocation: keys rotate, leavers' copies open nothing new, the worklist is exact."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from custodian.crypto import KeyPair, open_sealed
from custodian.db.models import Role
from custodian.errors import (
    AccessDenied,
    AuthenticationFailed,
    IntegrityError,
    NotFound,
    UsageError,
)
from custodian.secret import SecretPayload
from custodian.service import keys
from custodian.storage import SecretRef

from .helpers import add_creds, ids, private_key, tech_id

PASS = "correct horse battery staple"
WRAP_COLUMNS = "customer_id, key_version, recipient_kind, recipient_id, wrapped"


def stolen_wraps(vault: Any, tmp_path: Path, where: str) -> list[tuple]:
    """The leaver's copy of the database, taken before the revoke: on SQLite a copy of
    the whole file (read back with sqlite3), on PostgreSQL a dump of the rows."""
    query = f"SELECT {WRAP_COLUMNS} FROM key_wrap WHERE {where}"
    if vault.backend == "sqlite":
        copy = tmp_path / "stolen.db"
        src = sqlite3.connect(vault.url.removeprefix("sqlite:///"))
        dst = sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        rows = dst.execute(query).fetchall()
        dst.close()
        return rows
    return [tuple(r) for r in vault.sql(query)]


def open_all(wraps: list[tuple], key: KeyPair) -> dict[tuple[int | None, int], KeyPair]:
    """Every private key the stolen wraps give to `key`'s holder."""
    out = {}
    for customer_id, version, kind, recipient, blob in wraps:
        ctx = keys.wrap_context(customer_id, version, kind, recipient)
        out[(customer_id, version)] = KeyPair(open_sealed(bytes(blob), key, ctx))
    return out


def latest_ciphertext(vault: Any, path: str) -> tuple[bytes, SecretRef]:
    slug, system, name = path.split("/")
    row = vault.sql(
        "SELECT sv.ciphertext, sv.version, sv.key_version, c.id, c.customer_id"
        " FROM secret_version sv JOIN credential c ON c.id = sv.credential_id"
        " JOIN system s ON s.id = c.system_id JOIN customer cu ON cu.id = c.customer_id"
        " WHERE cu.slug = :slug AND s.name = :system AND c.name = :name"
        " ORDER BY sv.version DESC",
        slug=slug,
        system=system,
        name=name,
    )[0]
    return bytes(row[0]), SecretRef(row[4], slug, row[3], row[1], row[2])


def assert_opens_nothing(stolen: dict, blob: bytes, ref: SecretRef) -> None:
    assert stolen, "the stolen copy gave no key at all: the test would prove nothing"
    for ckey in stolen.values():
        with pytest.raises(IntegrityError):
            open_sealed(blob, ckey, ref.context())


def test_revoked_technician_with_database_copy_cannot_open_new_versions(vault, tmp_path):
    path = vault.customer("acme")
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    vault.admin.grant("admin", "acme")
    assert bob.reveal(path).reveal() == vault.secret
    bob_id = tech_id(vault, "bob")
    where = "recipient_kind = 'technician' AND recipient_id = " + str(bob_id)
    wraps = stolen_wraps(vault, tmp_path, where)
    stolen = {v: k for (_, v), k in open_all(wraps, private_key(bob)).items()}

    # The copy really opens what was written before the revoke.
    old_blob, old_ref = latest_ciphertext(vault, path)
    assert open_sealed(old_blob, stolen[old_ref.key_version], old_ref.context())

    vault.admin.revoke("bob", "acme")
    vault.admin.set_secret(path, SecretPayload({"password": "written-after-revoke"}))
    new_blob, new_ref = latest_ciphertext(vault, path)
    assert new_ref.key_version not in stolen
    assert_opens_nothing(stolen, new_blob, new_ref)
    assert vault.sql(f"SELECT count(*) FROM key_wrap WHERE {where}")[0][0] == 0
    with pytest.raises(AccessDenied):
        bob.reveal(path)
    assert vault.admin.reveal(path).reveal() == "written-after-revoke"


def test_removed_admin_with_database_copy_cannot_open_new_versions(vault, tmp_path):
    path = vault.customer("acme")
    root2 = vault.tech("root2", "admin")
    vault.admin.grant("admin", "acme")
    r2 = tech_id(vault, "root2")
    # root2 keeps its organization-key wrap, and every customer key's org wrap.
    org_wraps = stolen_wraps(
        vault,
        tmp_path,
        f"(customer_id IS NULL AND recipient_kind = 'technician' AND recipient_id = {r2})"
        " OR recipient_kind = 'org'",
    )
    mine = [w for w in org_wraps if w[0] is None]
    org = open_all(mine, private_key(root2))[(None, mine[0][1])]
    customer_wraps = [w for w in org_wraps if w[0] is not None]
    stolen = open_all(customer_wraps, org)
    assert stolen

    vault.admin.remove_technician("root2")
    vault.admin.set_secret(path, SecretPayload({"password": "after-admin-left"}))
    new_blob, new_ref = latest_ciphertext(vault, path)
    assert_opens_nothing(stolen, new_blob, new_ref)
    # The organization key moved on; the recovery key and the remaining admin hold it.
    versions = [r[0] for r in vault.sql("SELECT version FROM org_key ORDER BY version")]
    assert versions[-1] == mine[0][1] + 1
    kinds = sorted(
        r[0]
        for r in vault.sql(
            "SELECT recipient_kind FROM key_wrap WHERE customer_id IS NULL AND key_version = :v",
            v=versions[-1],
        )
    )
    assert kinds == ["recovery", "technician"]
    assert (
        vault.sql(
            "SELECT count(*) FROM key_wrap WHERE recipient_kind = 'org' AND recipient_id <> :v",
            v=versions[-1],
        )[0][0]
        == 0
    )
    # The remaining admin still reaches every customer key: granting works.
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    assert bob.reveal(path).reveal() == "after-admin-left"


def test_worklist_names_exactly_what_the_technician_saw_and_clears_on_rotation(vault):
    vault.customer("acme")
    names = ["seen", "copied", "rotated", "unseen"]
    seen, copied, rotated, unseen = add_creds(vault, "acme", names)
    vault.customer("globex")
    (other,) = add_creds(vault, "globex", ["other"])
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    vault.admin.grant("bob", "globex")
    vault.admin.grant("admin", "acme")
    vault.clock.advance()
    bob.reveal(seen)
    bob.reveal(copied, action="copy")
    bob.reveal(rotated)
    bob.reveal(other)  # another customer: not part of revoking acme
    vault.admin.reveal(unseen)  # seen by someone who keeps access
    with pytest.raises(NotFound, match="no credential"):
        bob.reveal("acme/srv/missing")  # a failed attempt exposes nothing
    vault.clock.advance()
    vault.admin.set_secret(rotated, SecretPayload({"password": "changed-since"}))

    vault.admin.revoke("bob", "acme")
    entries = vault.admin.rotation_list()
    assert sorted(e.path for e in entries) == sorted([seen, copied])
    assert {e.technician for e in entries} == {"bob"}
    assert all(e.cause == "seen" and e.seen_at is not None for e in entries)
    assert all("seen by bob" in e.why for e in entries)
    assert [e.path for e in vault.admin.rotation_list("globex")] == []

    vault.admin.set_secret(seen, SecretPayload({"password": "rotated-on-device"}))
    assert [e.path for e in vault.admin.rotation_list("acme")] == [copied]
    vault.admin.set_secret(copied, SecretPayload({"password": "rotated-too"}))
    assert vault.admin.rotation_list() == []


def test_assume_compromised_marks_every_credential(vault):
    vault.customer("acme")
    paths = ["acme/dc01/admin", *add_creds(vault, "acme", ["a", "b"])]
    vault.tech("bob")
    vault.admin.grant("bob", "acme")
    vault.admin.revoke("bob", "acme", assume_compromised=True)
    entries = vault.admin.rotation_list("acme")
    assert sorted(e.path for e in entries) == sorted(paths)
    assert all(e.cause == "assume-compromised" for e in entries)


def test_technicians_cannot_read_the_worklist(vault):
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied):
        bob.rotation_list()


def test_tech_remove_disables_revokes_everything_and_destroys_key_material(vault):
    acme = vault.customer("acme")
    globex = vault.customer("globex")
    bob = vault.tech("bob")
    for slug in ("acme", "globex"):
        vault.admin.grant("bob", slug)
    bob.reveal(acme)
    bob.reveal(globex)
    versions = {s: vault.admin.show_customer(s).customer.key_version for s in ("acme", "globex")}
    bob_id = tech_id(vault, "bob")

    entries = vault.admin.remove_technician("bob")
    assert sorted(e.path for e in entries) == sorted([acme, globex])
    with pytest.raises(AuthenticationFailed):
        vault.vault.unlock("bob", PASS)
    with pytest.raises(AccessDenied):
        bob.reveal(acme)  # an already unlocked session dies too
    row = vault.sql("SELECT active, locked_private FROM technician WHERE id = :i", i=bob_id)[0]
    assert not row[0] and row[1] is None
    assert (
        vault.sql(
            "SELECT count(*) FROM key_wrap WHERE recipient_kind = 'technician'"
            " AND recipient_id = :i",
            i=bob_id,
        )[0][0]
        == 0
    )
    assert vault.sql('SELECT count(*) FROM "grant" WHERE technician_id = :i', i=bob_id)[0][0] == 0
    for slug, before in versions.items():
        assert vault.admin.show_customer(slug).customer.key_version == before + 1
    # The account and its events stay.
    assert [t.username for t in vault.admin.list_technicians() if not t.active] == ["bob"]
    assert vault.sql("SELECT count(*) FROM access_event WHERE actor = 'bob'")[0][0] >= 2
    actions = [e.action for e in vault.admin.events()]
    assert "tech-remove" in actions


def test_tech_remove_refuses_self_and_second_removal(vault):
    vault.tech("bob")
    with pytest.raises(UsageError, match="your own"):
        vault.admin.remove_technician("admin")
    vault.admin.remove_technician("bob")
    with pytest.raises(UsageError, match="already removed"):
        vault.admin.remove_technician("bob")


def test_demoting_an_admin_rotates_the_organization_key(vault):
    vault.customer("acme")
    vault.tech("root2", "admin")
    r2 = tech_id(vault, "root2")
    before = vault.sql("SELECT max(version) FROM org_key")[0][0]
    key_before = vault.admin.show_customer("acme").customer.key_version
    vault.admin.set_role("root2", Role.TECHNICIAN)
    assert vault.sql("SELECT max(version) FROM org_key")[0][0] == before + 1
    assert (
        vault.sql(
            "SELECT count(*) FROM key_wrap WHERE customer_id IS NULL AND"
            " recipient_kind = 'technician' AND recipient_id = :i",
            i=r2,
        )[0][0]
        == 0
    )
    assert vault.admin.show_customer("acme").customer.key_version == key_before + 1
    demoted = vault.vault.unlock("root2", PASS)
    with pytest.raises(AccessDenied):
        demoted.grant("root2", "acme")
    # Promoting again wraps the current organization key to them.
    vault.admin.set_role("root2", Role.ADMIN)
    again = vault.vault.unlock("root2", PASS)
    again.grant("root2", "acme")
    assert again.reveal("acme/dc01/admin").reveal() == vault.secret


def test_lapsed_grant_loses_its_wraps_at_the_next_admin_action(vault):
    path = vault.customer("acme")
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme", until=vault.clock.now + timedelta(hours=1))
    bob.reveal(path)
    bob_id = tech_id(vault, "bob")
    cid = ids(vault, "acme")
    wraps = (
        "SELECT count(*) FROM key_wrap WHERE recipient_kind = 'technician' AND recipient_id = :i"
    )
    assert vault.sql(wraps, i=bob_id)[0][0] == 1
    vault.clock.advance(timedelta(hours=2))
    with pytest.raises(AccessDenied):
        bob.reveal(path)  # a lapsed grant reads as no grant at once
    assert vault.sql(wraps, i=bob_id)[0][0] == 1  # ... its wraps go at the next admin action
    vault.admin.add_customer("initech", "Initech")
    assert vault.sql(wraps, i=bob_id)[0][0] == 0
    assert vault.sql("SELECT current_key_version FROM customer WHERE id = :c", c=cid)[0][0] == 2
    assert [e.path for e in vault.admin.rotation_list()] == [path]
    assert "grant-lapse" in [e.action for e in vault.admin.events()]


def test_maintenance_ends_lapsed_grants(vault):
    vault.customer("acme")
    vault.tech("bob")
    vault.tech("carol")
    vault.admin.grant("bob", "acme", until=vault.clock.now + timedelta(hours=1))
    vault.admin.grant("carol", "acme", until=vault.clock.now + timedelta(days=2))
    vault.clock.advance(timedelta(hours=3))
    assert vault.admin.maintenance() == {"lapsed_grants_ended": 1, "purges_due": 0}
    assert vault.admin.maintenance() == {"lapsed_grants_ended": 0, "purges_due": 0}
    # carol's live grant got the rotated key: she still reads.
    carol = vault.vault.unlock("carol", PASS)
    assert carol.reveal("acme/dc01/admin").reveal() == vault.secret
    assert (
        vault.sql(
            "SELECT count(*) FROM key_wrap WHERE recipient_kind = 'technician'"
            " AND recipient_id = :i",
            i=tech_id(vault, "bob"),
        )[0][0]
        == 0
    )


def test_a_write_after_a_grant_lapsed_is_not_sealed_to_a_key_the_lapsed_grantee_holds(vault):
    """Issue 17, item 9: a lapsed grant ends at the next write to its customer, in the same
    transaction, even when no admin action or maintenance has run since it lapsed."""
    path = vault.customer("acme")
    vault.tech("bob")
    vault.admin.grant("bob", "acme", until=vault.clock.now + timedelta(hours=1))
    bob_id, cid = tech_id(vault, "bob"), ids(vault, "acme")
    vault.clock.advance(timedelta(hours=2))
    version = vault.admin.set_secret(path, SecretPayload({"password": "set-after-the-lapse"}))
    (sealed_to,) = vault.sql(
        "SELECT sv.key_version FROM secret_version sv JOIN credential c"
        " ON c.id = sv.credential_id WHERE c.customer_id = :c AND sv.version = :v",
        c=cid,
        v=version,
    )[0]
    held = vault.sql(
        "SELECT key_version FROM key_wrap WHERE customer_id = :c"
        " AND recipient_kind = 'technician' AND recipient_id = :i",
        c=cid,
        i=bob_id,
    )
    assert held == []  # bob's wraps went in the write's own transaction
    assert sealed_to == 2  # sealed to the key rotated away from him
    lapse = [e for e in vault.admin.events() if e.action == "grant-lapse"]
    assert [(e.actor, e.target) for e in lapse] == [("admin", "bob@acme")]

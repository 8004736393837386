"""Contract end: offboarding, the handover (KDBX 4, JSON), the customer report."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import timedelta

import pytest

from custodian.errors import AccessDenied, UsageError
from custodian.exchange.handover import write_json, write_kdbx
from custodian.secret import SecretPayload

from .helpers import add_creds

KDBX_PASS = "handover passphrase 42"


def test_offboard_revokes_every_grant_and_makes_the_customer_read_only(vault):
    path = vault.customer("acme")
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    vault.admin.grant("admin", "acme")
    key_version = vault.admin.show_customer("acme").customer.key_version

    result = vault.admin.offboard("acme", retention_days=10)
    assert result.revoked == ("admin", "bob")
    assert result.purge_after == vault.clock.now + timedelta(days=10)
    info = vault.admin.show_customer("acme").customer
    assert info.status == "offboarded" and info.key_version == key_version + 1
    assert (
        vault.sql(
            "SELECT count(*) FROM key_wrap WHERE customer_id = (SELECT id FROM"
            " customer WHERE slug = 'acme') AND recipient_kind = 'technician'"
        )[0][0]
        == 0
    )
    # Hidden from technicians, read-only for everyone.
    assert [c.slug for c in bob.list_customers()] == []
    with pytest.raises(AccessDenied):
        bob.reveal(path)
    with pytest.raises(AccessDenied, match="read-only"):
        vault.admin.set_secret(path, SecretPayload({"password": "x"}))
    with pytest.raises(AccessDenied, match="read-only"):
        vault.admin.grant("bob", "acme")
    with pytest.raises(AccessDenied):
        vault.admin.offboard("acme")


def test_retention_defaults_to_the_vault_setting(vault):
    vault.customer("acme")
    vault.customer("globex")
    assert vault.admin.retention_days() == 30
    assert vault.admin.offboard("acme").purge_after == vault.clock.now + timedelta(days=30)
    assert vault.admin.retention_days(45) == 45
    assert vault.admin.offboard("globex").purge_after == vault.clock.now + timedelta(days=45)
    with pytest.raises(UsageError):
        vault.admin.retention_days(-1)
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied):
        bob.retention_days(1)


def test_handover_needs_a_grant_and_is_recorded_as_an_export(vault):
    vault.customer("acme", extra={"enable": "enable-secret"})
    with pytest.raises(AccessDenied, match="grant"):
        vault.admin.handover("acme")
    denied = [e for e in vault.admin.events() if e.action == "export"]
    assert [e.outcome for e in denied] == ["denied"]

    vault.admin.grant("admin", "acme")
    data = vault.admin.handover("acme")
    assert data.count == 1
    (system,) = data.systems
    (entry,) = system.entries
    assert (system.name, entry.name, entry.username) == ("dc01", "admin", "Administrator")
    assert entry.fields["password"].reveal() == vault.secret
    assert entry.fields["enable"].reveal() == "enable-secret"
    assert vault.secret not in repr(data)
    exports = [e for e in vault.admin.events() if e.action == "export"]
    assert [e.outcome for e in exports] == ["denied", "ok"]
    assert vault.secret not in str([e.to_dict() for e in exports])


@pytest.mark.skipif(shutil.which("keepassxc-cli") is None, reason="keepassxc-cli not installed")
def test_kdbx_handover_opens_in_keepassxc_with_the_right_passwords(vault, tmp_path):
    vault.customer("acme", extra={"totp-seed": "JBSWY3DPEHPK3PXP"})
    paths = add_creds(vault, "acme", ["sa", "backup"], system="sql01")
    vault.admin.grant("admin", "acme")
    vault.admin.set_secret(paths[0], SecretPayload({"password": "sa-version-2"}))
    target = tmp_path / "acme.kdbx"
    write_kdbx(vault.admin.handover("acme"), target, KDBX_PASS)
    assert target.stat().st_mode & 0o777 == 0o600

    out = subprocess.run(
        ["keepassxc-cli", "export", "-q", "-f", "csv", str(target)],
        input=KDBX_PASS + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = {(r["Group"].split("/")[-1], r["Title"]): r for r in csv.DictReader(io.StringIO(out))}
    assert {k: (r["Username"], r["Password"]) for k, r in rows.items()} == {
        ("dc01", "admin"): ("Administrator", vault.secret),
        ("sql01", "sa"): ("user-sa", "sa-version-2"),
        ("sql01", "backup"): ("user-backup", "value-of-backup-1"),
    }
    header = target.read_bytes()[:12]
    assert header[:8] == bytes.fromhex("03d9a29a67fb4bb5") and header[10:12] == b"\x04\x00"
    # The extra field is a protected attribute of the entry.
    shown = subprocess.run(
        ["keepassxc-cli", "show", "-q", "-s", "-a", "totp-seed", str(target), "dc01/admin"],
        input=KDBX_PASS + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.strip() == "JBSWY3DPEHPK3PXP", shown.stderr
    wrong = subprocess.run(
        ["keepassxc-cli", "export", "-q", "-f", "csv", str(target)],
        input="wrong passphrase\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode != 0 and vault.secret not in wrong.stdout


def test_json_handover_has_the_same_content(vault, tmp_path):
    vault.customer("acme")
    vault.admin.grant("admin", "acme")
    target = tmp_path / "acme.json"
    write_json(vault.admin.handover("acme"), target)
    data = json.loads(target.read_text())
    assert data["customer"] == "acme"
    (system,) = data["systems"]
    assert system["credentials"][0]["fields"] == {"password": vault.secret}
    with pytest.raises(UsageError, match="already exists"):
        write_json(vault.admin.handover("acme"), target)


def test_customer_report_lists_what_is_held_and_never_a_secret(vault):
    path = vault.customer("acme", secret="CANARY-report-never")
    add_creds(vault, "acme", ["sa"], system="sql01")
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme", until=vault.clock.now + timedelta(days=3))
    vault.clock.advance()
    bob.reveal(path)
    report = vault.admin.customer_report("acme")
    data = json.dumps(report.to_dict())
    assert "CANARY-report-never" not in data and "value-of-sa" not in data
    assert [s["name"] for s in report.systems] == ["dc01", "sql01"]
    assert {(c.system, c.name, c.username) for c in report.credentials} == {
        ("dc01", "admin", "Administrator"),
        ("sql01", "sa", "user-sa"),
    }
    admin_cred = next(c for c in report.credentials if c.name == "admin")
    assert (admin_cred.last_access, admin_cred.last_access_by) == (vault.clock.now, "bob")
    assert report.last_access_by == "bob"
    access = {(a.technician, a.via) for a in report.access}
    assert ("bob", "grant") in access
    assert ("admin", "organization key (can grant themselves)") in access
    assert report.certificate is None
    with pytest.raises(AccessDenied):
        bob.customer_report("acme")

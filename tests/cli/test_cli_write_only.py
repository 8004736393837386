"""Write-only onboarding (issue 19): a field technician adds the passwords of a new site
and cannot read them back; the key directory gives them no key, whatever the tables say."""

from __future__ import annotations

import pytest

from custodian.errors import AccessDenied
from custodian.secret import SecretPayload
from tests.cli.clikit import Cli

SITE = "initech/fs01/backup-admin"


def test_a_write_only_technician_adds_and_sets_but_never_reads(both: Cli):
    cli = both
    r = cli.run("grant", "ben", "initech", "--write-only")
    assert "write-only" in r.stderr
    table = cli.run("customer", "show", "initech").stdout
    assert "WRITE_ONLY" in table and "ben " in table and table.rstrip().endswith("yes")
    cli.run("cred", "add", SITE, "--username", "backup", user="ben", input="site-pw-1\n")
    cli.run("cred", "set", SITE, "--replace", user="ben", input="site-pw-2\n")
    denied = cli.run("get", SITE, user="ben", expect=4)
    assert "write-only" in denied.stderr and "site-pw" not in denied.stdout
    assert cli.sql(
        "SELECT count(*) FROM key_wrap w JOIN technician t ON t.id = w.recipient_id"
        " WHERE t.username = 'ben' AND w.customer_id ="
        " (SELECT id FROM customer WHERE slug = 'initech')"
    ) == [(0,)]
    cli.run("grant", "ada", "initech")
    assert cli.run("get", SITE).stdout == "site-pw-2\n"  # the second version is current


def test_write_only_needs_the_read_grant_revoked_first(cli: Cli):
    r = cli.run("grant", "ben", "acme", "--write-only", expect=2)
    assert "revoke it first" in r.stderr


def test_a_write_only_grant_row_turned_into_a_read_grant_gets_no_key(vault):
    path = vault.customer("acme")
    carol = vault.tech("carol")
    vault.admin.grant("carol", "acme", write_only=True)
    carol.set_secret(path, SecretPayload({"password": "written blind"}))
    with pytest.raises(AccessDenied, match="write-only"):
        carol.reveal(path)
    vault.sql('UPDATE "grant" SET write_only = :f', f=False)  # a database writer
    with pytest.raises(AccessDenied):
        carol.reveal(path)  # the table says read, but carol holds no wrap
    vault.tech("dave")
    vault.admin.grant("dave", "acme")
    vault.admin.revoke("dave", "acme")  # the rotation wraps to live readers only
    wraps = vault.sql(
        "SELECT count(*) FROM key_wrap WHERE recipient_kind = 'technician' AND recipient_id ="
        " (SELECT id FROM technician WHERE username = 'carol')"
    )
    assert wraps == [(0,)]
    vault.admin.grant("admin", "acme")
    assert vault.admin.reveal(path).reveal() == "written blind"


def test_a_write_only_writer_does_not_rotate_a_key_it_would_then_know(vault):
    from datetime import timedelta

    path = vault.customer("acme")
    erin = vault.tech("erin")
    vault.tech("frank")
    vault.admin.grant("erin", "acme", write_only=True)
    vault.admin.grant("frank", "acme", until=vault.clock() + timedelta(hours=1))
    vault.clock.advance(timedelta(hours=2))  # frank's grant lapses
    with pytest.raises(AccessDenied, match="lapsed"):
        erin.set_secret(path, SecretPayload({"password": "would need a rotation"}))

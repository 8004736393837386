"""The key directory through the CLI (issue 17): the fingerprint members compare out of
band, and a database writer's substitution refused with exit 6 and one clear line."""

from __future__ import annotations

import re

from custodian.crypto import KeyPair
from tests.cli.clikit import ADMIN, CANARY, CRED, Cli, Template

FINGERPRINT = re.compile(r"vault fingerprint ((?:[A-Z2-7]{4}-){7}[A-Z2-7]{4})")


def test_init_tech_add_and_whoami_show_one_fingerprint(cli: Cli, template_vault: Template):
    shown = FINGERPRINT.search(template_vault.init.stderr)
    assert shown, template_vault.init.stderr
    fingerprint = shown.group(1)
    added = cli.run("tech", "add", "erin", input="erin's passphrase\n")
    assert FINGERPRINT.search(added.stderr).group(1) == fingerprint
    for user in (ADMIN, "ben"):
        out = cli.run("whoami", user=user).stdout.strip().split("\t")
        assert out[0] == user and out[2] == fingerprint
    me = cli.run("whoami", "--format", "json", user="ben").json()
    assert me["fingerprint"] == fingerprint and me["role"] == "technician"
    assert me["verified_through"] > 0


def test_a_substituted_customer_key_is_refused_with_exit_6(cli: Cli):
    evil = KeyPair.generate()
    cli.sql(
        "UPDATE customer_key SET public_key = ? WHERE customer_id ="
        " (SELECT id FROM customer WHERE slug = 'acme')",
        (evil.public_key.to_bytes(),),
    )
    r = cli.run("cred", "set", CRED, input="written-after-the-attack\n", expect=6)
    assert "key directory" in r.stderr
    assert cli.run("get", CRED, user="ben", expect=None).stdout in ("", CANARY + "\n")


def test_a_rolled_back_version_is_refused_with_exit_6(cli: Cli):
    cli.run("cred", "set", CRED, input="the second version\n")
    assert cli.run("get", CRED, user="ben").stdout == "the second version\n"
    cli.sql("UPDATE credential SET current_version = 1 WHERE name = 'administrator'")
    r = cli.run("get", CRED, user="ben", expect=6)
    assert "rolled back" in r.stderr
    assert CANARY not in r.stdout

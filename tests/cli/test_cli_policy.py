"""Per-customer TOTP seed policy and password age (issue 19), through the CLI on SQLite
and PostgreSQL."""

from __future__ import annotations

import json

from tests.cli.clikit import CRED, SA, SWITCH, Cli

SEED = "JBSWY3DPEHPK3PXP"


def test_only_admins_reveal_a_totp_seed_unless_the_customer_allows_it(both: Cli) -> None:
    both.run("cred", "set", CRED, "--field", "otp", input=SEED + "\n", user="ben")
    r = both.run("get", CRED, "--field", "otp-seed", user="ben", expect=4)
    assert "only admins reveal TOTP seeds" in r.stderr and SEED not in r.stderr
    code = both.run("get", CRED, "--field", "otp", user="ben").stdout
    assert len(code) == 7 and code[:6].isdigit()  # the current code stays open
    both.run("grant", "ada", "acme", "--until", "1h")
    assert both.run("get", CRED, "--field", "otp-seed").stdout == SEED + "\n"
    both.run("customer", "edit", "acme", "--otp-seed", "granted", user="ben", expect=4)
    r = both.run("customer", "edit", "acme", "--otp-seed", "granted")
    assert "TOTP seeds revealed by granted" in r.stderr
    assert both.run("get", CRED, "--field", "otp-seed", user="ben").stdout == SEED + "\n"
    events = both.run("log", "--tech", "ben", "--format", "json").json()
    seeds = [e["outcome"] for e in events if e["target"] == f"{CRED}#otp-seed"]
    assert seeds == ["denied", "ok"]
    policy = [e for e in both.run("log", "--format", "json").json() if e["action"] == "policy-set"]
    assert [(e["outcome"], e["detail"]) for e in policy] == [
        ("denied", {"error": "policy-set needs the role admin"}),
        ("ok", {"otp_seed": "granted"}),
    ]


def _age(cli: Cli, path: str, days: int) -> None:
    """Make the current version of `path` `days` old, as if it had been set back then."""
    name = path.split("/")[2]
    (cid,) = cli.sql("SELECT id FROM credential WHERE name = ?", (name,))[0]
    cli.sql(
        "UPDATE secret_version SET created_at = created_at - ? * interval '1 day'"
        " WHERE credential_id = ?"
        if cli.db.startswith("postgresql")
        else "UPDATE secret_version SET created_at = datetime(created_at, '-' || ? || ' days')"
        " WHERE credential_id = ?",
        (days, cid),
    )


def test_passwords_past_their_age_are_on_the_worklist_with_cause_age(both: Cli) -> None:
    _age(both, CRED, 100)
    _age(both, SA, 40)
    _age(both, SWITCH, 400)
    assert both.run("rotation", "list", "--format", "json").json() == []
    both.run("customer", "edit", "acme", "--max-age", "90")
    r = both.run("rotation", "max-age", "switch", "365")
    assert "switch" in r.stdout and "365" in r.stdout
    rows = both.run("rotation", "list", "--format", "json").json()
    assert [(e["path"], e["cause"]) for e in rows] == [(CRED, "age"), (SWITCH, "age")]
    assert rows[0]["why"].startswith("older than 90 days")
    both.run("customer", "edit", "acme", "--max-age", "30")  # the customer's age wins
    assert [e["path"] for e in both.run("rotation", "list", "--format", "json").json()] == [
        CRED,
        SA,
        SWITCH,
    ]
    both.run("cred", "set", SA, "--generate")  # a new version: no longer due
    paths = [e["path"] for e in both.run("rotation", "list", "--format", "json").json()]
    assert paths == [CRED, SWITCH]
    both.run("rotation", "max-age", "switch", "365", user="ben", expect=4)
    both.run("customer", "edit", "acme", "--max-age", "0")
    both.run("rotation", "max-age", "switch", "0")
    assert both.run("rotation", "list", "--format", "json").json() == []
    assert json.dumps(rows).count("age") >= 2

"""Everyday operations (issue 19), end to end through the CLI on SQLite and PostgreSQL:
non-secret fields with `get --field`, `cred show`, rename, move, edit and delete."""

from __future__ import annotations

import json

from tests.cli.clikit import CANARY, CRED, SA, Cli


def _cred_id(cli: Cli, name: str) -> int:
    return int(cli.sql("SELECT id FROM credential WHERE name = ?", (name,))[0][0])


def _log(cli: Cli, **filters: str) -> list[dict[str, object]]:
    args = [f"--{k}={v}" for k, v in filters.items()]
    return list(cli.run("log", *args, "--format", "json").json())


def test_get_prints_non_secret_fields_and_logs_them(both: Cli) -> None:
    assert both.run("get", CRED, "--field", "username", user="ben").stdout == "Administrator\n"
    url = both.run("get", CRED, "--field", "url", user="ben").stdout
    assert url == "https://dc01.acme.example.invalid\n"
    assert both.run("get", CRED, "--field", "host", user="ben").stdout == "192.0.2.10\n"
    r = both.run("get", CRED, "--field", "notes", user="ben", expect=3)
    assert "has no notes" in r.stderr
    both.run("get", "initech/fs01/backup", "--field", "username", user="ben", expect=4)
    events = [
        (e["target"], e["outcome"])
        for e in _log(both, tech="ben")
        if e["action"] == "reveal-metadata"
    ]
    assert events == [
        (f"{CRED}#username", "ok"),
        (f"{CRED}#url", "ok"),
        (f"{CRED}#host", "ok"),
        (f"{CRED}#notes", "failed"),
        ("initech/fs01/backup#username", "denied"),
    ]
    # A username seen is no password seen: revoking ben puts nothing on the worklist.
    both.run("revoke", "ben", "acme")
    assert both.run("rotation", "list", "--format", "json").json() == []


def test_cred_show_lists_metadata_fields_versions_and_who_can_open_it(both: Cli) -> None:
    both.run("cred", "set", CRED, user="ben", input="second-value\n")
    table = both.run("cred", "show", CRED, user="ben").stdout
    assert "username: Administrator" in table and "fields:   password" in table
    shown = both.run("cred", "show", CRED, "--format", "json").json()[0]
    assert shown["credential"]["path"] == CRED and shown["credential"]["fields"] == ["password"]
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert [v["created_by"] for v in shown["versions"]] == ["ada", "ben"]
    assert [(a["technician"], a["how"]) for a in shown["access"]] == [
        ("ben", "grant"),
        ("ada", "organization key (can grant themselves)"),
    ]
    assert CANARY not in table + json.dumps(shown) and "second-value" not in table
    both.run("cred", "show", "initech/fs01/backup", user="ben", expect=4)


def test_rename_and_move_keep_the_id_the_versions_and_the_log(both: Cli) -> None:
    before = _cred_id(both, "administrator")
    both.run("cred", "rename", CRED, "domain-admin")
    new = "acme/dc01/domain-admin"
    assert both.run("get", new, user="ben").stdout == CANARY + "\n"
    both.run("get", CRED, user="ben", expect=3)
    assert _cred_id(both, "domain-admin") == before
    both.run("cred", "rename", new, "sa", expect=0)  # another system's name is no clash
    both.run("cred", "move", "acme/dc01/sa", "sql01", expect=2)  # sql01 has an `sa`
    both.run("cred", "move", "acme/dc01/sa", "nosuch", expect=3)
    both.run("cred", "rename", "acme/dc01/sa", "domain-admin")
    both.run("system", "add", "acme/dc02", "--kind", "active-directory")
    both.run("cred", "move", new, "dc02", user="ben")
    moved = "acme/dc02/domain-admin"
    assert both.run("get", moved, user="ben").stdout == CANARY + "\n"
    history = both.run("cred", "history", moved, "--format", "json").json()
    assert [v["version"] for v in history] == [1]
    mine = [e for e in _log(both, customer="acme") if e.get("target") in (moved, new, CRED)]
    assert [e["action"] for e in mine if e["action"].startswith("cred-")][-2:] == [
        "cred-rename",
        "cred-move",
    ]
    both.run("cred", "move", moved, "dc01", user="dora", expect=4)  # auditors change nothing


def test_edit_changes_metadata_and_never_the_secret(both: Cli) -> None:
    both.run(
        "cred", "edit", CRED, "--username", "ACME\\admin", "--notes", "two lines\nok",
        "--tag", "Tier0", "--tag", "dc",
    )  # fmt: skip
    shown = both.run("cred", "show", CRED, "--format", "json").json()[0]
    assert shown["credential"]["username"] == "ACME\\admin"
    assert shown["notes"] == "two lines\nok" and shown["tags"] == ["dc", "tier0"]
    assert shown["credential"]["version"] == 1
    both.run("cred", "edit", CRED, "--url", "", "--no-tags")
    shown = both.run("cred", "show", CRED, "--format", "json").json()[0]
    assert shown["credential"]["url"] is None and shown["tags"] == []
    both.run("cred", "edit", CRED, expect=2)  # nothing to change
    both.run("cred", "edit", CRED, "--notes", "bad\x01", expect=2)
    event = [e for e in _log(both) if e["action"] == "cred-edit"][-1]
    assert event["detail"]["changed"] == ["tags", "url"] and "ACME" not in json.dumps(event)


def test_system_rename_and_edit(both: Cli) -> None:
    both.run("system", "rename", "acme/dc01", "dc-main")
    assert both.run("get", "acme/dc-main/administrator", user="ben").stdout == CANARY + "\n"
    both.run("system", "edit", "acme/dc-main", "--host", "dc.acme.example", "--port", "636")
    both.run("system", "edit", "acme/dc-main", "--kind", "other")
    show = both.run("cred", "show", "acme/dc-main/administrator", "--format", "json").json()[0]
    assert show["credential"]["host"] == "dc.acme.example" and show["port"] == 636
    assert show["credential"]["system_kind"] == "other"
    both.run("system", "rename", "acme/dc-main", "sql01", expect=2)
    both.run("system", "rename", "initech/fs01", "x", user="ben", expect=4)


def test_delete_destroys_the_versions_and_is_kept_in_log_and_report(both: Cli) -> None:
    cid = _cred_id(both, "administrator")
    both.run("cred", "set", CRED, user="ben", input="v2\n")
    r = both.run("cred", "delete", CRED, expect=2)
    assert "--yes" in r.stderr
    both.run("cred", "delete", CRED, "--yes", user="ben", expect=4)  # admins only
    r = both.run("cred", "delete", CRED, "--yes")
    assert "2 version(s) destroyed" in r.stderr
    assert both.sql("SELECT count(*) FROM secret_version WHERE credential_id = ?", (cid,)) == [(0,)]
    both.run("get", CRED, user="ben", expect=3)
    event = [e for e in _log(both, customer="acme") if e["action"] == "cred-delete"]
    assert [(e["target"], e["outcome"]) for e in event] == [(CRED, "ok")]
    both.run("system", "delete", "acme/sql01", "--yes")
    both.run("get", SA, user="ben", expect=3)
    report = both.run("customer", "report", "acme", "--format", "json").json()[0]
    assert [(d["action"], d["target"]) for d in report["deleted"]] == [
        ("cred-delete", CRED),
        ("system-delete", "acme/sql01"),
    ]
    assert report["deleted"][0]["destroyed"]["secret_versions"] == 2
    assert report["systems"] == [{"name": "dc01", "kind": "active-directory", "host": "192.0.2.10"}]
    table = both.run("customer", "report", "acme").stdout
    assert "cred-delete" in table and "system-delete" in table

"""Issue 20, the first hour: what a newcomer meets between the README and the log."""

from __future__ import annotations

import json

from clikit import CRED, SWITCH, Cli

# --- the access log as people read it -------------------------------------------------------


def test_log_table_shows_the_reviewed_columns_and_no_key_material(cli: Cli) -> None:
    cli.run("get", CRED, user="ben")
    table = cli.run("log").stdout.splitlines()
    assert table[0].split() == ["AT", "ACTOR", "ACTION", "OUTCOME", "TARGET", "REASON"]
    assert max(map(len, table)) <= 120, max(table, key=len)
    wide = cli.run("log", "--wide").stdout
    assert "DETAIL" in wide.splitlines()[0]
    every = cli.run("log", "--format", "json").json()
    fingerprints = [
        value
        for e in every
        for value in (e["detail"] or {}).values()
        if isinstance(value, str) and len(value) >= 32
    ]
    assert fingerprints, "the test needs an event whose detail holds key material"
    assert not any(fp in "\n".join(table) for fp in fingerprints)
    assert any(fp in wide for fp in fingerprints)


def test_log_json_carries_detail_as_an_object(cli: Cli) -> None:
    every = cli.run("log", "--format", "json").json()
    details = [e["detail"] for e in every if e["detail"] is not None]
    assert details and all(isinstance(d, dict) for d in details)
    lines = cli.run("log", "--format", "ndjson").stdout.splitlines()
    assert all(isinstance(json.loads(line)["detail"], (dict, type(None))) for line in lines)


def test_a_reveal_refused_for_a_missing_reason_records_that_cause(cli: Cli) -> None:
    r = cli.run("get", SWITCH, user="ben", expect=4)
    assert "requires a reason" in r.stderr
    events = cli.run("log", "--action", "reveal", "--outcome", "denied", "--format", "json").json()
    assert [e["target"] for e in events] == [SWITCH]
    assert "requires a reason" in events[0]["detail"]["error"]

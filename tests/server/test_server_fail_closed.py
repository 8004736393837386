"""No value leaves without its event: when the server cannot append the access event,
`get` through it prints nothing and fails; once it can again, `get` works."""

from __future__ import annotations

from tests.cli.clikit import CANARY, CRED
from tests.server.serverkit import Served

REFUSE = {  # a database that refuses every new access event
    "sqlite": [
        "CREATE TRIGGER refuse_events BEFORE INSERT ON access_event"
        " BEGIN SELECT RAISE(ABORT, 'the access log refuses this event'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'the access log refuses this event'; END $$",
        "CREATE TRIGGER refuse_events BEFORE INSERT ON access_event"
        " FOR EACH ROW EXECUTE FUNCTION refuse_events()",
    ],
}
ALLOW = {
    "sqlite": ["DROP TRIGGER refuse_events"],
    "postgres": ["DROP TRIGGER refuse_events ON access_event"],
}


def reveals(served: Served) -> int:
    rows = served.cli.sql("SELECT count(*) FROM access_event WHERE action = 'reveal'")
    return int(rows[0][0])


def test_get_through_the_server_fails_closed_when_the_event_cannot_be_appended(
    served: Served,
) -> None:
    backend = "postgres" if served.cli.db.startswith("postgresql") else "sqlite"
    before = reveals(served)
    for statement in REFUSE[backend]:
        served.cli.sql(statement)
    r = served.get(CRED, expect=None)
    assert r.code != 0  # one line on stderr, no traceback: Cli.run checks it
    assert r.stdout == ""
    assert CANARY not in r.stderr
    assert reveals(served) == before
    for statement in ALLOW[backend]:
        served.cli.sql(statement)
    assert served.get(CRED).stdout == CANARY + "\n"
    assert reveals(served) == before + 1

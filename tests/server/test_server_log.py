"""`log`, `log report` and `log alerts` through the server behave as against the database:
the same stdout, the same exit codes, the same roles, the same events recorded; and the
client prints only events it verified itself, so a server that alters or drops one is
refused (exit 6) with nothing on stdout.

One suite, parametrized by `route` (through a server, on SQLite and PostgreSQL). Each
review runs the same command twice on the same vault, once through the server and once
against the database, and the two outputs must be equal byte for byte. Reviews end
before `UNTIL`, a time after this module's events, since every command against the
database appends its own unlock.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.cli.clikit import ADMIN, CRED, LOCKED, SWITCH, Result, Template
from tests.server.conftest import SERVER_ROUTES, Route, open_route
from tests.server.proxykit import Proxy
from tests.server.serverkit import Served, via_server

HASH, REASON, TARGET = 12, 9, 7  # columns of an event on the wire (wire.event_out)


@pytest.fixture(scope="module", params=SERVER_ROUTES)
def route(
    request: pytest.FixtureRequest,
    template_vault: Template,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Route]:
    """Through a server only (SQLite and PostgreSQL): each test compares the server's
    answer with the database's own, so a "db" route would compare the database with
    itself (conftest.SERVER_ROUTES)."""
    yield from open_route(request, template_vault, tmp_path_factory)


@pytest.fixture(scope="module")
def until(route: Route) -> str:
    """Events for the module to review: reveals with reasons, a denial; then the time
    every review ends before."""
    cli = route.cli
    cli.run("get", CRED, user="ben")
    cli.run("get", SWITCH, "--reason", "Ticket-42 reboot", user="ben")
    cli.run("get", LOCKED, user="ben", expect=4)
    cli.run("get", SWITCH, "--field", "enable", "--reason", "TICKET-43", user="ben")
    time.sleep(0.05)
    at = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    return at


def run(route: Route, *args: str, user: str, expect: int | None = 0) -> Result:
    """A command through `route`: against the database, or through its server."""
    env = route.cli.env(user) if route.server is None else route.server.env(user)
    return route.cli.run(*args, user=user, expect=expect, env=env)


def on_db(route: Route, *args: str, user: str, expect: int | None = 0) -> Result:
    return route.cli.run(*args, user=user, expect=expect)


def both_ways(route: Route, *args: str, user: str, expect: int | None = 0) -> Result:
    """The command through `route`, and its stdout equal to the database's."""
    got = run(route, *args, user=user, expect=expect)
    want = on_db(route, *args, user=user, expect=expect)
    assert got.stdout == want.stdout
    return got


def events(route: Route, action: str) -> list[tuple[Any, ...]]:
    return route.cli.sql(
        "SELECT actor, outcome, target, detail FROM access_event WHERE action = ? ORDER BY seq",
        (action,),
    )


FILTERS = [  # each with the role that reviews it: admins and auditors see all, ben his own
    (ADMIN, ()),
    ("ben", ()),
    ("dora", ("--wide",)),
    ("dora", ("--format", "json")),
    ("ben", ("--format", "json")),
    (ADMIN, ("--format", "ndjson", "--customer", "acme")),
    ("ben", ("--format", "csv", "--tech", "ben")),
    ("dora", ("--format", "json", "--credential", SWITCH)),
    (ADMIN, ("--action", "reveal", "--outcome", "denied", "--format", "json")),
    ("ben", ("--reason", "ticket", "--format", "csv")),
    ("dora", ("--limit", "3", "--format", "ndjson")),
    ("ben", ("--since", "1d", "--action", "reveal", "--format", "json")),
]


@pytest.mark.parametrize(
    ("user", "args"), FILTERS, ids=[f"{u}-{'-'.join(a).strip('-') or 'plain'}" for u, a in FILTERS]
)
def test_log_prints_what_the_database_prints(
    route: Route, until: str, user: str, args: tuple[str, ...]
) -> None:
    r = both_ways(route, "log", "--until", until, *args, user=user)
    assert r.stdout.strip(), "each review finds events"
    if "json" in args:
        actors = {e["actor"] for e in json.loads(r.stdout)}
        assert actors == {"ben"} if user == "ben" else "ben" in actors


def test_a_technician_reads_their_own_events_and_readers_all(route: Route, until: str) -> None:
    def actors(user: str) -> set[str]:
        r = run(route, "log", "--until", until, "--format", "json", user=user)
        return {e["actor"] for e in json.loads(r.stdout)}

    assert actors("ben") == {"ben"}
    assert actors("dora") == actors(ADMIN) == {a for (a,) in route.cli.sql(_ACTORS, (until,))}
    assert {ADMIN, "ben"} <= actors(ADMIN)


_ACTORS = "SELECT DISTINCT actor FROM access_event WHERE at < ?"


@pytest.mark.parametrize(
    ("user", "customer", "code", "fmt"),
    [("ben", "initech", 4, "table"), (ADMIN, "nowhere", 3, "json")],
    ids=["not-granted", "missing"],
)
def test_a_refused_customer_filter_is_refused_and_recorded(
    route: Route, until: str, user: str, customer: str, code: int, fmt: str
) -> None:
    before = len(events(route, "log"))
    args = ("log", "--customer", customer, "--format", fmt)
    r = run(route, *args, user=user, expect=code)
    assert r.stdout == ""  # not even a JSON array's "["
    assert customer in r.stderr
    logged = events(route, "log")
    assert len(logged) == before + 1
    assert (logged[-1][0], logged[-1][2]) == (user, customer)
    assert on_db(route, *args, user=user, expect=code).stdout == ""
    assert events(route, "log")[-1] == logged[-1]  # the same event either way
    route.cli.run("log", "verify")  # the refusal the client signed verifies


@pytest.mark.parametrize("fmt", ["text", "csv", "json"])
def test_log_report_prints_what_the_database_prints(route: Route, until: str, fmt: str) -> None:
    before = len(events(route, "log-report"))
    args = ("log", "report", "--customer", "globex", "--until", until, "--format", fmt)
    r = both_ways(route, *args, user="dora")
    assert SWITCH in r.stdout
    logged = events(route, "log-report")
    assert [e[:3] for e in logged[before:]] == [("dora", "ok", "globex")] * 2
    route.cli.run("log", "verify")


def test_log_report_is_for_readers(route: Route, until: str) -> None:
    before = len(events(route, "log-report"))
    r = both_ways(route, "log", "report", "--customer", "acme", user="ben", expect=4)
    assert r.stdout == ""
    assert [e[:2] for e in events(route, "log-report")[before:]] == [("ben", "denied")] * 2
    both_ways(route, "log", "report", "--customer", "nowhere", user="dora", expect=3)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_log_alerts_prints_what_the_database_prints(route: Route, until: str, fmt: str) -> None:
    before = len(events(route, "log-alerts"))
    # every reveal is off-hours on no working day: each is flagged
    args = ("log", "alerts", "--since", "1d", "--until", until, "--work-days", "sun")
    r = both_ways(route, *args, "--work-hours", "00-01", "--format", fmt, user=ADMIN)
    assert "off-hours" in r.stdout
    logged = events(route, "log-alerts")[before:]
    assert [e[:2] for e in logged] == [(ADMIN, "ok")] * 2
    assert logged[0][3] == logged[1][3]  # the same count of alerts
    both_ways(route, "log", "alerts", user="ben", expect=4)
    route.cli.run("log", "verify")


def test_log_checkpoint_says_it_needs_the_database(route: Route) -> None:
    if route.server is None:
        pytest.skip("through a server only")
    r = run(route, "log", "checkpoint", user="dora", expect=2)
    assert "--db" in r.stderr


def test_follow_prints_the_events_written_meanwhile(route: Route, until: str) -> None:
    env = route.cli.env("ben") if route.server is None else route.server.env("ben")
    args = ["log", "--follow", "--max-events", "2", "--poll", "0.2", "--follow-for", "60"]
    follower = subprocess.Popen(
        [*_custodian(), *args, "--action", "reveal", "--format", "ndjson"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)  # it printed the newest events and polls
        route.cli.run("get", CRED, user="ben")
        route.cli.run("get", SWITCH, "--reason", "FOLLOW-1", user="ben")
        out, err = follower.communicate(timeout=90)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(e["target"], e["reason"]) for e in lines[-2:]] == [(CRED, None), (SWITCH, "FOLLOW-1")]
    assert len(lines) >= 4  # the newest before, then the two written meanwhile


def _custodian() -> list[str]:
    import sys

    return [sys.executable, "-m", "custodian"]


# --- a lying server ---------------------------------------------------------------------


@pytest.fixture
def proxy(sqlite_served: Served) -> Iterator[Proxy]:
    proxy = Proxy(sqlite_served.url)
    try:
        yield proxy
    finally:
        proxy.close()
    assert proxy.errors == []


def review_via(served: Served, proxy: Proxy, *args: str, user: str = "dora") -> Result:
    env = via_server(served.cli, proxy.url, user)
    return served.cli.run(*args, user=user, expect=None, env=env)


def from_the_start(edit: Any) -> Any:
    """An edit of the log pages a review reads (from the first event), not of those
    each login catches up with."""

    def lie(request: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        found = answer["events"]
        if found and found[0][0] == 1 and len(found) > 8:
            edit(found)
        return answer

    return lie


def test_an_honest_proxy_changes_no_review(sqlite_served: Served, proxy: Proxy) -> None:
    served = sqlite_served
    served.cli.run("get", SWITCH, "--reason", "HONEST-1", user="ben")
    review_via(served, proxy, "log", "--limit", "1")  # this client's trust catches up
    r = review_via(served, proxy, "log", "--action", "reveal", "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)[-1]["reason"] == "HONEST-1"


def _reason_changed(found: list[list[Any]]) -> None:
    event = next(e for e in reversed(found) if e[REASON])
    event[REASON] = "an innocent reason"


def _reason_and_hash_changed(found: list[list[Any]]) -> None:
    """The reason changed, and the event's hash made to match it: the next link breaks."""
    from custodian.audit.append import canonical_values, chain_hash
    from custodian.wire import event_in

    i = next(i for i in range(len(found) - 2, 0, -1) if found[i][REASON])
    found[i][REASON] = "an innocent reason"
    row, before = event_in(found[i]), event_in(found[i - 1])
    canonical = canonical_values(row[0], row[1], *row[2:11])
    found[i][HASH] = chain_hash(row[11], before[13], canonical).hex()


def _dropped(found: list[list[Any]]) -> None:
    del found[len(found) // 2]


def _swapped(found: list[list[Any]]) -> None:
    i = len(found) // 2
    found[i], found[i + 1] = found[i + 1], found[i]


@pytest.mark.parametrize(
    "lie",
    [_reason_changed, _reason_and_hash_changed, _dropped, _swapped],
    ids=["reason", "reason-and-hash", "dropped", "swapped"],
)
@pytest.mark.parametrize(
    "args",
    [
        ("log", "--format", "json"),
        ("log", "--format", "csv"),
        ("log", "report", "--customer", "globex"),
        ("log", "alerts"),
    ],
    ids=["log-json", "log-csv", "report", "alerts"],
)
def test_a_doctored_log_is_refused_and_nothing_printed(
    sqlite_served: Served, proxy: Proxy, lie: Any, args: tuple[str, ...]
) -> None:
    served = sqlite_served
    served.cli.run("get", SWITCH, "--reason", "SECRET-TICKET", user="ben")
    review_via(served, proxy, "log", "--limit", "1")  # this client's trust catches up
    proxy.on_answer("/v1/log", from_the_start(lie))
    r = review_via(served, proxy, *args)
    assert r.code == 6, r
    assert r.stdout == ""
    lies = ("does not link", "does not match its hash", "does not lead to event")
    assert any(said in r.stderr for said in lies), r.stderr  # the review's check refused it
    assert not [p for p, _ in proxy.requests if p == "/v1/log/reviewed"]  # nothing signed

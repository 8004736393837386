"""Commands through `custodian serve` beyond `get` (tests/server): `cred set` (docs/server.md,
"A new version") and the listings. The same results as against the database, the payload
sealed on the client, refusals recorded, and a server whose database lies refused by the
client before anything is written."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.cli.clikit import CANARY, CRED, LOCKED, SWITCH, Cli, Result, clean_env

NEW = "new-value-set-through-the-server"


@dataclass
class Served:
    """The `both` vault behind a real `custodian serve` process."""

    cli: Cli
    url: str

    def run(
        self, *args: str, user: str = "ben", expect: int | None = 0, input: str | None = None
    ) -> Result:
        """A command with CUSTODIAN_URL instead of CUSTODIAN_DB."""
        env = self.cli.env(user)
        del env["CUSTODIAN_DB"]
        env.update(CUSTODIAN_URL=self.url, CUSTODIAN_NO_AGENT="1")
        return self.cli.run(*args, env=env, expect=expect, input=input)

    def write(
        self, path: str, value: str, *extra: str, user: str = "ben", expect: int = 0
    ) -> Result:
        return self.run("cred", "set", path, *extra, user=user, expect=expect, input=value + "\n")

    def events(self, action: str) -> list[tuple[object, ...]]:
        return self.cli.sql(
            "SELECT actor, outcome, target FROM access_event WHERE action = ? ORDER BY seq",
            (action,),
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(both: Cli) -> Iterator[Served]:
    port = _free_port()
    env = clean_env(both.db, both.runtime)
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian", "serve", "--listen", f"127.0.0.1:{port}", "--quiet"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
        yield Served(both, url)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_version_set_through_the_server_is_the_one_the_database_serves(served: Served) -> None:
    r = served.write(CRED, NEW)
    assert r.stderr.strip() == f"stored version 2 of {CRED}"
    assert served.cli.run("get", CRED, user="ben").stdout == NEW + "\n"
    history = served.cli.run("cred", "history", CRED, "--format", "json").json()
    assert [(v["version"], v["created_by"]) for v in history] == [(1, "ada"), (2, "ben")]
    assert served.events("cred-set") == [("ben", "ok", CRED)]
    served.cli.run("log", "verify")  # exit 0: every event links and verifies
    stored = served.cli.sql("SELECT ciphertext FROM secret_version WHERE version = 2")[0][0]
    assert NEW.encode() not in bytes(stored)  # sealed on the client


def test_a_field_not_given_is_kept_from_the_current_version(served: Served) -> None:
    served.write(SWITCH, "enable-2", "--field", "enable")
    get = ("get", SWITCH, "--reason", "T-1")
    assert served.cli.run(*get, user="ben").stdout == "switch-pw-1\n"
    assert served.cli.run(*get, "--field", "enable", user="ben").stdout == "enable-2\n"


def test_a_stale_if_version_is_a_conflict_and_writes_nothing(served: Served) -> None:
    r = served.write(CRED, NEW, "--if-version", "7", expect=7)
    assert "is at version 1, not 7" in r.stderr
    assert served.cli.run("get", CRED, user="ben").stdout == CANARY + "\n"
    assert served.events("cred-set") == []


def test_no_grant_and_the_auditor_are_refused_and_the_probes_recorded(served: Served) -> None:
    """Refused writes are access events, as in database mode (the client signs them, the
    server rebuilds them from its own checks); a missing credential too."""
    served.write(LOCKED, NEW, expect=4)
    r = served.write(CRED, NEW, user="dora", expect=4)
    assert "auditors cannot change customer data" in r.stderr
    served.write("acme/dc01/nobody", NEW, expect=3)
    assert served.events("cred-set") == [
        ("ben", "denied", LOCKED),
        ("dora", "denied", CRED),
        ("ben", "failed", "acme/dc01/nobody"),
    ]
    served.cli.run("log", "verify")


def test_a_write_only_grant_writes_through_the_server_and_cannot_read(served: Served) -> None:
    served.cli.run("tech", "add", "wo", input="technician passphrase\n")
    served.cli.run("grant", "wo", "acme", "--write-only")
    served.write(CRED, NEW, user="wo")
    r = served.run("get", CRED, user="wo", expect=4)
    assert "write-only" in r.stderr and NEW not in r.stdout
    assert served.run("get", CRED).stdout == NEW + "\n"  # ben reads what wo wrote


def test_a_customer_key_substituted_in_the_servers_database_is_refused(served: Served) -> None:
    """The server's database names another public key for the customer's key version:
    the client would seal the new version to a key the writer holds. It refuses (exit 6)
    before sealing anything, and nothing is written."""
    ids = dict(served.cli.sql("SELECT slug, id FROM customer"))
    other = served.cli.sql(
        "SELECT public_key FROM customer_key WHERE customer_id = ?", (ids["initech"],)
    )[0][0]
    served.cli.sql(
        "UPDATE customer_key SET public_key = ? WHERE customer_id = ?", (other, ids["acme"])
    )
    r = served.write(CRED, NEW, expect=6)
    assert "not the one in the key directory" in r.stderr
    assert served.events("cred-set") == []


def test_a_version_rolled_back_in_the_servers_database_is_refused(served: Served) -> None:
    served.write(CRED, "second")
    served.cli.sql("UPDATE credential SET current_version = 1 WHERE name = 'administrator'")
    served.cli.sql(
        "DELETE FROM secret_version WHERE version = 2 AND credential_id ="
        " (SELECT id FROM credential WHERE name = 'administrator')"
    )
    r = served.write(CRED, NEW, expect=6)
    assert "in the access log" in r.stderr
    assert served.events("cred-set") == [("ben", "ok", CRED)]  # the first one only


LISTINGS = [
    ("cred", "list"),
    ("cred", "list", "acme", "--format", "json"),
    ("customer", "list"),
]


def test_a_listing_through_the_server_is_the_databases(served: Served) -> None:
    for user in ("ben", "ada"):
        for args in LISTINGS:
            through = served.run(*args, user=user).stdout
            assert through == served.cli.run(*args, user=user).stdout, (user, args)
            assert through.strip()


def test_a_retired_credential_is_listed_through_the_server_as_in_the_database(
    served: Served,
) -> None:
    served.cli.run("cred", "retire", CRED)
    for args in (("cred", "list"), ("cred", "list", "acme", "--format", "json")):
        for extra in ((), ("--retired",), ("--all",)):
            through = served.run(*args, *extra).stdout
            assert through == served.cli.run(*args, *extra, user="ben").stdout, (args, extra)
            assert (CRED in through) == bool(extra), (args, extra)
    r = served.write(CRED, NEW, expect=2)
    assert r.stderr == (
        f"custodian: {CRED} is retired: un-retire it first with `cred retire {CRED} --undo`\n"
    )
    r = served.run("cred", "retire", CRED, "--undo", expect=2)
    assert "does not work through a server" in r.stderr
    assert served.run("get", CRED).stdout == CANARY + "\n"  # still revealed


def test_a_refused_listing_is_recorded_as_in_database_mode(served: Served) -> None:
    r = served.run("cred", "list", "initech", expect=4)
    assert r.stderr.strip() == "custodian: no access to customer 'initech'"
    served.run("cred", "list", "no-such-customer", expect=4)  # the same answer
    assert served.events("cred-list") == [
        ("ben", "denied", "initech"),
        ("ben", "denied", "no-such-customer"),
    ]
    served.cli.run("log", "verify")


def test_a_credential_added_through_the_server(served: Served) -> None:
    """`cred add`: the server reserves the id its signed event names; the database serves
    the value; a duplicate, a missing system and another customer are refused (the last
    two recorded, as in database mode); a write-only technician adds what they cannot
    read."""
    path = "acme/dc01/svc-backup"
    args = ("cred", "add", path, "--username", "svc", "--url", "https://svc.example.invalid")
    served.run(*args, input=NEW + "\n")
    assert served.cli.run("get", path, user="ben").stdout == NEW + "\n"
    assert served.cli.run("get", path, "--field", "username", user="ben").stdout == "svc\n"
    r = served.run("cred", "add", path, input="x\n", expect=2)
    assert "already exists" in r.stderr
    served.run("cred", "add", "acme/no-system/x", input="x\n", expect=3)
    served.run("cred", "add", "initech/fs01/x", input="x\n", expect=4)
    served.cli.run("tech", "add", "wo", input="technician passphrase\n")
    served.cli.run("grant", "wo", "acme", "--write-only")
    served.run("cred", "add", "acme/sql01/field-entered", user="wo", input=NEW + "\n")
    assert served.run("get", "acme/sql01/field-entered").stdout == NEW + "\n"
    assert served.events("cred-add")[-4:] == [
        ("ben", "ok", path),
        ("ben", "failed", "acme/no-system/x"),
        ("ben", "denied", "initech/fs01/x"),
        ("wo", "ok", "acme/sql01/field-entered"),
    ]
    served.cli.run("log", "verify")


def test_non_secret_fields_through_the_server_are_the_databases(served: Served) -> None:
    for field in ("username", "url", "host"):
        through = served.run("get", CRED, "--field", field)
        assert through.stdout == served.cli.run("get", CRED, "--field", field, user="ben").stdout
    r = served.run("get", CRED, "--field", "notes", expect=3)
    assert r.stderr.strip() == f"custodian: {CRED!r} has no notes"
    served.run("get", LOCKED, "--field", "username", expect=4)
    logged = served.events("reveal-metadata")
    assert [(a, o) for a, o, _ in logged][-2:] == [("ben", "failed"), ("ben", "denied")]
    assert len(logged) == 8  # three read through the server and three directly, two refused
    served.cli.run("log", "verify")


def test_a_new_site_set_up_through_the_server(served: Served) -> None:
    """`system add` then `cred add`: the server builds and checks the system, the client
    signs its event; a file or a network scan of this machine is refused, not sent."""
    served.run("system", "add", "acme/fw02", "--kind", "switch", "--host", "192.0.2.99")
    served.run("cred", "add", "acme/fw02/admin", "--username", "admin", input=NEW + "\n")
    systems = served.cli.run("system", "list", "acme", "--format", "json").json()
    assert {"name": "fw02", "kind": "switch", "host": "192.0.2.99"}.items() <= next(
        s for s in systems if s["name"] == "fw02"
    ).items()
    assert served.run("get", "acme/fw02/admin").stdout == NEW + "\n"
    served.run("system", "add", "acme/fw02", "--kind", "switch", expect=2)  # already exists
    served.run("system", "add", "initech/fw", "--kind", "switch", expect=4)
    r = served.run(
        "system", "add", "acme/fs", "--kind", "linux", "--ca-file", "/etc/hosts", expect=2
    )
    assert "--ca-file" in r.stderr
    assert served.events("system-add")[-2:] == [
        ("ben", "ok", "acme/fw02"),
        ("ben", "denied", "initech/fw"),
    ]
    served.cli.run("log", "verify")


def test_an_auditor_verifies_the_log_through_the_server(served: Served) -> None:
    """The client replays every event from the root its key pins (every hash, every
    signature) and the server records the verification; an event rewritten in the
    server's database is named, exit 6; a technician is refused and recorded."""
    r = served.run("log", "verify", user="dora")
    assert r.stdout.startswith("log verified: ")
    served.run("log", "verify", user="ben", expect=4)
    assert [a for a, _, _ in served.events("log-verify")] == ["dora", "ben"]
    assert [o for _, o, _ in served.events("log-verify")] == ["ok", "denied"]
    if served.cli.db.startswith("postgresql"):  # the writer lifts the append-only guard
        served.cli.sql("DROP TRIGGER IF EXISTS access_event_append_only ON access_event")
    else:
        served.cli.sql("DROP TRIGGER IF EXISTS access_event_no_update")
    served.cli.sql("UPDATE access_event SET reason = 'rewritten' WHERE seq = 5")
    r = served.run("log", "verify", user="dora", expect=6)
    assert "log verification failed at seq 5" in r.stderr

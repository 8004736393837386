"""`cred history`, `cred show`, `cred rename|move|edit` and `system rename` through the
server behave as against the database: the same stdout and exit codes, the same events
(refusals too, signed by the client), and the log still verifies afterwards.

One suite over `route`: through a server, on SQLite and PostgreSQL (database mode's own
behaviour is tests/cli/test_cli_inventory.py's). Where a command only reads, the
server's output is also compared with the database's on the same vault, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.clikit import ADMIN, CRED, LOCKED, SWITCH, Result, Template
from tests.server.conftest import SERVER_ROUTES, Route, open_route


@pytest.fixture(scope="module", params=SERVER_ROUTES)
def route(
    request: pytest.FixtureRequest,
    template_vault: Template,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Route]:
    """Through a server only (conftest.SERVER_ROUTES)."""
    yield from open_route(request, template_vault, tmp_path_factory)


def run(
    route: Route, *args: str, user: str = "ben", expect: int | None = 0, input: str | None = None
) -> Result:
    """`custodian ARGS` as `user` by `route` (through the server, or on the database)."""
    env = route.cli.env(user) if route.server is None else route.server.env(user)
    return route.cli.run(*args, user=user, expect=expect, env=env, input=input)


def on_db(route: Route, *args: str, user: str = "ben", expect: int | None = 0) -> Result:
    return route.cli.run(*args, user=user, expect=expect, env=route.cli.env(user))


def last_event(route: Route) -> tuple[object, ...]:
    rows = route.cli.sql(
        "SELECT actor, action, outcome, target, detail FROM access_event ORDER BY seq DESC LIMIT 1"
    )
    return rows[0]


def verified(route: Route) -> None:
    """The whole log verifies (as the admin, on the database)."""
    assert route.cli.run("log", "verify", user=ADMIN).stdout.startswith("log verified: ")


READS = [
    ("cred", "history", CRED),
    ("cred", "history", CRED, "--format", "json"),
    ("cred", "history", SWITCH),
    ("cred", "show", CRED),
    ("cred", "show", CRED, "--format", "json"),
    ("cred", "show", SWITCH),  # ben's grant to globex expires: shown with its time
    ("cred", "show", SWITCH, "--format", "json"),
]


@pytest.mark.parametrize("args", READS, ids=lambda a: "-".join(a[1:]).replace("/", "_"))
def test_a_read_prints_what_the_database_prints(route: Route, args: tuple[str, ...]) -> None:
    through = run(route, *args)
    assert through.stdout
    assert through.stdout == on_db(route, *args).stdout


def test_history_of_a_version_written_through_the_route(route: Route) -> None:
    path = f"acme/dc01/history-{route.name}"  # its own: the vault is the module's
    route.cli.run("cred", "add", path, "--username", "h", input="first\n")
    run(route, "cred", "set", path, input="second\n")
    versions = run(route, "cred", "history", path, "--format", "json").json()
    assert [(v["version"], v["created_by"]) for v in versions] == [(1, ADMIN), (2, "ben")]
    shown = run(route, "cred", "show", path, "--format", "json").json()[0]
    assert shown["credential"]["version"] == 2
    assert [a["technician"] for a in shown["access"]] == ["ben", ADMIN]


@pytest.mark.parametrize(
    ("command", "user", "path", "code", "outcome"),
    [
        ("history", "ben", LOCKED, 4, "denied"),
        ("show", "ben", LOCKED, 4, "denied"),
        ("show", "ben", "nowhere/dc01/admin", 4, "denied"),  # as for a customer not granted
        ("history", "ben", "acme/dc01/missing", 3, None),
        ("show", "dora", "acme/dc01/missing", 3, None),  # an auditor sees every customer
    ],
    ids=["history-locked", "show-locked", "show-no-customer", "history-missing", "auditor"],
)
def test_a_refused_read_is_logged_as_on_the_database(
    route: Route, command: str, user: str, path: str, code: int, outcome: str | None
) -> None:
    on_db(route, "cred", command, path, user=user, expect=code)
    expected = last_event(route)
    r = run(route, "cred", command, path, user=user, expect=code)
    assert r.stdout == ""
    assert last_event(route) == expected
    assert expected[:2] == (user, f"cred-{command}")
    if outcome is not None:
        assert expected[2] == outcome
    verified(route)


def test_rename_move_and_edit(route: Route) -> None:
    path = f"acme/dc01/edited-{route.name}"
    route.cli.run("cred", "add", path, "--username", "e", input="edited-value\n")
    renamed = f"acme/dc01/renamed-{route.name}"
    route.cli.run("cred", "add", f"{renamed}-2", "--username", "e", input="other\n")
    r = run(route, "cred", "rename", path, f"renamed-{route.name}-2", expect=2)
    assert "exists" in r.stderr and r.stdout == ""
    r = run(route, "cred", "rename", path, f"renamed-{route.name}")
    assert (r.stdout, r.stderr) == ("", f"renamed {path} to {renamed}\n")
    assert last_event(route)[:4] == ("ben", "cred-rename", "ok", renamed)
    moved = f"acme/sql01/renamed-{route.name}"
    assert run(route, "cred", "move", renamed, "sql01").stderr == f"moved {renamed} to {moved}\n"
    assert last_event(route)[:4] == ("ben", "cred-move", "ok", moved)
    r = run(route, "cred", "edit", moved, "--username", "svc", "--tag", "Prod", "--tag", "dc")
    assert r.stderr == f"edited {moved}\n"
    actor, action, outcome, target, detail = last_event(route)
    assert (actor, action, outcome, target) == ("ben", "cred-edit", "ok", moved)
    assert '"username"' in str(detail) and '"tags"' in str(detail)
    assert "svc" not in str(detail)  # which attributes changed, never their values
    shown = on_db(route, "cred", "show", moved, "--format", "json").json()[0]
    assert (shown["credential"]["username"], shown["tags"]) == ("svc", ["dc", "prod"])
    assert run(route, "get", moved).stdout == "edited-value\n"  # the secret followed it
    assert run(route, "cred", "show", moved).stdout == on_db(route, "cred", "show", moved).stdout
    verified(route)


def test_rename_a_system(route: Route) -> None:
    path = f"acme/sys-{route.name}"
    route.cli.run("system", "add", path, "--kind", "linux")
    route.cli.run("cred", "add", f"{path}/root", "--username", "root", input="root-value\n")
    r = run(route, "system", "rename", path, f"host-{route.name}")
    assert r.stderr == f"renamed {path} to acme/host-{route.name}\n"
    assert last_event(route)[:4] == ("ben", "system-rename", "ok", f"acme/host-{route.name}")
    assert run(route, "get", f"acme/host-{route.name}/root").stdout == "root-value\n"
    verified(route)


@pytest.mark.parametrize(
    ("user", "args", "code", "says", "action"),
    [
        ("ben", ("cred", "rename", LOCKED, "x"), 4, "initech", "cred-edit"),
        ("ben", ("cred", "edit", "acme/dc01/missing", "--url", "u"), 3, "missing", "cred-edit"),
        ("ben", ("cred", "move", CRED, "nowhere"), 3, "nowhere", "cred-edit"),
        ("ben", ("system", "rename", "initech/fs01", "fs02"), 4, "initech", "system-edit"),
        ("dora", ("cred", "rename", CRED, "x"), 4, "auditor", "cred-edit"),
        ("ben", ("cred", "rename", CRED, "administrator"), 2, "nothing to change", None),
        ("ben", ("cred", "rename", CRED, "Bad Name!"), 2, "", None),
        ("ben", ("system", "rename", "acme/dc01", "sql01"), 2, "exists", None),
    ],
    ids=[
        "locked",
        "missing",
        "no-system",
        "system-locked",
        "auditor",
        "unchanged",
        "bad-name",
        "system-taken",
    ],
)
def test_a_refused_change_is_the_database_s(
    route: Route,
    user: str,
    args: tuple[str, ...],
    code: int,
    says: str,
    action: str | None,
) -> None:
    before = route.cli.sql("SELECT max(seq) FROM access_event")[0][0]
    r = run(route, *args, user=user, expect=code)
    assert r.stdout == ""
    assert says in r.stderr.lower(), r.stderr
    if action is None:  # a usage error or a clash: no event, as on the database
        assert route.cli.sql("SELECT max(seq) FROM access_event")[0][0] == before
        return
    actor, logged, outcome, target, _ = last_event(route)
    assert (actor, logged, target) == (user, action, args[2])
    assert outcome in ("denied", "failed")
    assert on_db(route, *args, user=user, expect=code).stderr == r.stderr
    verified(route)


def versions_of(route: Route, path: str) -> int:
    system, name = path.split("/")[1:]
    rows = route.cli.sql(
        "SELECT count(*) FROM secret_version v JOIN credential c ON c.id = v.credential_id"
        " JOIN system s ON s.id = c.system_id WHERE s.name = ? AND c.name = ?",
        (system, name),
    )
    return int(rows[0][0])


def test_delete_a_credential(route: Route) -> None:
    path = f"acme/dc01/doomed-{route.name}"
    route.cli.run("cred", "add", path, "--username", "d", input="doomed-1\n")
    route.cli.run("cred", "set", path, input="doomed-2\n")
    assert run(route, "cred", "delete", path, user=ADMIN, expect=2).stdout == ""  # no --yes
    r = run(route, "cred", "delete", path, "--yes", user=ADMIN)
    assert (r.stdout, r.stderr) == (
        "",
        f"deleted {path}: 1 credential(s), 2 version(s) destroyed\n",
    )
    actor, action, outcome, target, detail = last_event(route)
    assert (actor, action, outcome, target) == (ADMIN, "cred-delete", "ok", path)
    assert '"uncred"' in str(detail)  # the key directory forgets it
    assert versions_of(route, path) == 0
    run(route, "get", path, expect=3)  # ben's client catches up with the deletion
    run(route, "cred", "history", path, expect=3)
    verified(route)


def test_delete_a_system(route: Route) -> None:
    path = f"acme/gone-{route.name}"
    route.cli.run("system", "add", path, "--kind", "linux")
    for name in ("a", "b"):
        route.cli.run("cred", "add", f"{path}/{name}", "--username", name, input="v\n")
    r = run(route, "system", "delete", path, "--yes", user=ADMIN)
    assert r.stderr == f"deleted {path}: 2 credential(s), 2 version(s) destroyed\n"
    assert last_event(route)[:4] == (ADMIN, "system-delete", "ok", path)
    assert versions_of(route, f"{path}/a") + versions_of(route, f"{path}/b") == 0
    run(route, "system", "rename", path, "x", expect=3)
    verified(route)


@pytest.mark.parametrize(
    ("user", "path", "code", "event"),
    [
        ("ben", CRED, 4, ("ben", "delete", "denied", None)),  # admins only
        (ADMIN, "acme/dc01/missing", 3, (ADMIN, "cred-delete", "failed", "acme/dc01/missing")),
        (ADMIN, "acme/nowhere", 3, (ADMIN, "system-delete", "failed", "acme/nowhere")),
        (ADMIN, "acme", 2, None),  # malformed
    ],
    ids=["technician", "missing", "no-system", "malformed"],
)
def test_a_refused_deletion_is_the_database_s(
    route: Route, user: str, path: str, code: int, event: tuple[object, ...] | None
) -> None:
    before = route.cli.sql("SELECT max(seq) FROM access_event")[0][0]
    r = run(route, "cred", "delete", path, "--yes", user=user, expect=code)
    assert r.stdout == ""
    if event is None:
        assert route.cli.sql("SELECT max(seq) FROM access_event")[0][0] == before
    else:
        assert last_event(route)[:4] == event
    assert on_db(route, "cred", "delete", path, "--yes", user=user, expect=code).stderr == r.stderr
    assert versions_of(route, CRED) >= 1
    verified(route)

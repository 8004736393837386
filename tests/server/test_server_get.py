"""`get` through the server behaves as `get` against the database: the same stdout, the
same exit codes, and each reveal in the access log, which still verifies.

One suite, parametrized by `route` ("db" or "server") over the `both` vault (SQLite and
PostgreSQL). The tests/cli contract tests are not parametrized themselves: they set up
their vaults with admin commands, which refuse through a server today (exit 2), and a
server per test there would slow every CLI test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.clikit import ADMIN, CANARY, CRED, LOCKED, SWITCH
from tests.server.conftest import Route


def last_event(route: Route) -> tuple[str, str, str, str | None, str | None]:
    rows = route.cli.sql(
        "SELECT actor, action, outcome, target, reason FROM access_event ORDER BY seq DESC LIMIT 1"
    )
    return rows[0]  # type: ignore[return-value]


def assert_logged_and_verified(route: Route, target: str, reason: str | None = None) -> None:
    """The last event is this reveal, and the whole log verifies (as the admin, on the
    database)."""
    assert last_event(route) == ("ben", "reveal", "ok", target, reason)
    route.cli.run("log", "verify", user=ADMIN)


def test_get_prints_the_value_and_logs_it(route: Route) -> None:
    assert route.get(CRED).stdout == CANARY + "\n"
    assert_logged_and_verified(route, CRED)


def test_get_a_field_with_the_reason_its_customer_requires(route: Route) -> None:
    r = route.get(SWITCH, "--field", "enable", "--reason", "TICKET-1")
    assert r.stdout == "enable-pw-1\n"
    assert_logged_and_verified(route, SWITCH + "#enable", "TICKET-1")


def test_get_without_the_required_reason_is_denied(route: Route) -> None:
    before = route.cli.sql("SELECT count(*) FROM access_event WHERE outcome = 'ok'")
    r = route.get(SWITCH, expect=4)
    assert r.stdout == ""
    assert "reason" in r.stderr
    assert route.cli.sql("SELECT count(*) FROM access_event WHERE outcome = 'ok'") == before
    assert route.get(SWITCH, "--reason", "TICKET-2").stdout == "switch-pw-1\n"
    assert_logged_and_verified(route, SWITCH, "TICKET-2")


def test_get_a_version(route: Route) -> None:
    path = f"acme/dc01/versions-{route.name}"  # its own: the vault is the module's
    route.cli.run("cred", "add", path, "--username", "v", input="first-value\n")
    route.cli.run("cred", "set", path, input="second-value\n")  # as ada, on the database
    assert route.get(path, "--version", "1").stdout == "first-value\n"
    assert last_event(route) == ("ben", "reveal", "ok", path, None)
    assert route.get(path).stdout == "second-value\n"
    assert_logged_and_verified(route, path)
    assert route.get(path, "--version", "3", expect=3).stdout == ""


@pytest.mark.parametrize(
    ("user", "args", "code", "says"),
    [
        ("ben", (LOCKED,), 4, "initech"),
        ("ben", ("acme/dc01/missing",), 3, "missing"),
        ("ben", ("nowhere/dc01/admin",), 4, "nowhere"),  # as for a customer not granted
        ("ben", ("acme/dc01",), 2, "malformed credential path"),
        ("ben", (SWITCH, "--field", "nope", "--reason", "T-3"), 3, "nope"),
        ("dora", (CRED,), 4, "acme"),  # an auditor reads the log, never a value
        (ADMIN, (CRED,), 4, "acme"),  # an admin too needs a grant
    ],
    ids=["locked", "missing", "no-customer", "malformed", "no-field", "auditor", "admin"],
)
def test_get_refusals_have_the_same_exit_codes(
    route: Route, user: str, args: tuple[str, ...], code: int, says: str
) -> None:
    r = route.get(*args, user=user, expect=code)
    assert r.stdout == ""
    assert says in r.stderr.lower(), r.stderr


def test_a_denied_reveal_is_logged(route: Route) -> None:
    route.get(LOCKED, expect=4)
    assert last_event(route) == ("ben", "reveal", "denied", LOCKED, None)


def test_a_wrong_passphrase_is_exit_5(route: Route) -> None:
    r = route.get(CRED, passphrase="not ben's passphrase", expect=5)
    assert r.stdout == ""
    assert CANARY not in r.stderr


def test_a_wrong_passphrase_is_logged(route: Route) -> None:
    route.get(CRED, passphrase="not ben's passphrase", expect=5)
    assert last_event(route)[:3] == ("ben", "unlock", "failed")


@pytest.mark.parametrize(
    ("field", "code", "out"),
    [
        ("username", 0, "Administrator\n"),
        ("url", 0, "https://dc01.acme.example.invalid\n"),
        ("host", 0, "192.0.2.10\n"),
        ("notes", 3, ""),
    ],
    ids=["username", "url", "host", "notes"],
)
def test_get_a_non_secret_field(route: Route, field: str, code: int, out: str) -> None:
    r = route.get(CRED, "--field", field, expect=code)
    assert r.stdout == out


BLOB = bytes(range(256)) * 4 + b"\x00\xff tail"  # binary: NUL, invalid UTF-8


def test_get_a_file_field_byte_for_byte(route: Route, tmp_path: Path) -> None:
    path = f"acme/dc01/file-{route.name}"  # its own: the vault is the module's
    src = tmp_path / "cert.p12"
    src.write_bytes(BLOB)
    route.cli.run("cred", "add", path, "--username", "f", input="file-pw\n")
    route.cli.run("cred", "set", path, "--field", "cert", "--file", str(src), user="ben")
    out = tmp_path / "out.p12"
    assert route.get(path, "--field", "cert", "--out", str(out)).stdout == ""
    assert out.read_bytes() == BLOB
    assert out.stat().st_mode & 0o777 == 0o600
    assert "--out" in route.get(path, "--field", "cert", expect=2).stderr

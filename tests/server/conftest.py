"""Fixtures for the server tests (helpers in serverkit.py and proxykit.py).

- `served`: the real server process over the `both` vault (SQLite and PostgreSQL), one
  per test: tests may change and break its database freely.
- `route` (one per module and route): "db" or "server" over a copy of the template
  vault, so one test pins that `get` behaves alike either way. Tests that take it must
  not change what others read (they add their own credentials).
- `sqlite_served` (one per module): a server over a SQLite copy, for tests of the
  protocol itself (login, TLS, a hostile server), which the database kind does not touch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.clikit import Cli, Result, Template
from tests.cli.conftest import both, cli, template_copy, template_vault  # noqa: F401  (fixtures)
from tests.server.serverkit import Served, start_server


@pytest.fixture
def served(both: Cli, tmp_path: Path) -> Iterator[Served]:  # noqa: F811
    server = start_server(both, tmp_path)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Route:
    """How a client reaches the vault: "db" (CUSTODIAN_DB) or "server" (CUSTODIAN_URL)."""

    name: str
    cli: Cli
    server: Served | None

    def get(
        self, *args: str, user: str = "ben", passphrase: str | None = None, expect: int | None = 0
    ) -> Result:
        if self.server is None:
            env = self.cli.env(user, passphrase)
        else:
            env = self.server.env(user, passphrase)
        return self.cli.run("get", *args, user=user, expect=expect, env=env)


# Against the database on PostgreSQL is tests/cli's (test_cli_postgres.py): not again here.
ROUTES = [
    pytest.param(("db", "sqlite"), id="db-sqlite"),
    pytest.param(("server", "sqlite"), id="server-sqlite"),
    pytest.param(("server", "postgres"), id="server-postgres", marks=pytest.mark.postgres),
]


# Through a server only: for suites whose every test already compares the server's answer
# with the database's own (the "db" route would compare the database with itself).
SERVER_ROUTES = ROUTES[1:]


@pytest.fixture(scope="module", params=ROUTES)
def route(
    request: pytest.FixtureRequest,
    template_vault: Template,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Route]:
    yield from open_route(request, template_vault, tmp_path_factory)


def open_route(
    request: pytest.FixtureRequest, template: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Route]:
    """The `route` the request's param names, over a copy of the template vault."""
    name, backend = request.param
    root = tmp_path_factory.mktemp(f"route-{name}-{backend}")
    with template_copy(request, backend, template, root) as copy:
        if name == "db":
            yield Route(name, copy, None)
            return
        server = start_server(copy, root)
        try:
            yield Route(name, copy, server)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def sqlite_served(
    request: pytest.FixtureRequest,
    template_vault: Template,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    with template_copy(request, "sqlite", template_vault, root) as copy:
        server = start_server(copy, root)
        try:
            yield server
        finally:
            server.stop()

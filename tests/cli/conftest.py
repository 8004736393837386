"""Fixtures for the end-to-end CLI tests (helpers in clikit.py)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.cli.clikit import Cli, Template, build_template, populate, through_server
from tests.conftest import BACKENDS, PgServer, _need_pg, pg_url


@pytest.fixture(scope="session")
def template_vault(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The vault `build_template` makes, once per session."""
    return build_template(tmp_path_factory.mktemp("cli-template"))


@pytest.fixture
def cli(template_vault: Template, tmp_path: Path) -> Cli:
    """A private copy of the template vault."""
    for name in ("vault.db", "vault.db-wal"):
        src = template_vault.dir / name
        if src.exists():
            shutil.copyfile(src, tmp_path / name)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    return Cli(str(tmp_path / "vault.db"), runtime)


@pytest.fixture
def routed(cli: Cli, route: str, tmp_path: Path) -> Iterator[Cli]:
    """`cli`, or with `route` "server" the same vault with a server in front of it."""
    if route == "db":
        yield cli
        return
    from tests.server.serverkit import start_server

    server = start_server(cli, tmp_path)
    try:
        yield replace(cli, server=server.url)
    finally:
        server.stop()


ROUTES = ("db", "server")


@pytest.fixture
def route() -> str:
    """How `cli` reaches the vault: "db", or "server" for tests marked `both_routes`."""
    return "db"


# The test runs twice: against the database, and with what works through a server going
# through `custodian serve` over the same vault (`Cli.server`, clikit.THROUGH_SERVER).
both_routes = pytest.mark.parametrize("route", ROUTES)


def routed_cases(cases: list[tuple[Any, ...]], argv: Callable[[Any], list[str]]) -> list[Any]:
    """`cases` for a parametrized test of `routed`, each with its route first: through
    the server too when its command goes through one (a case that would go to the
    database either way runs once)."""
    return [
        pytest.param(route, *case)
        for case in cases
        for route in (ROUTES if through_server(argv(case)) else ("db",))
    ]


@pytest.fixture(params=BACKENDS)
def both(request: pytest.FixtureRequest, template_vault: Template, tmp_path: Path) -> Iterator[Cli]:
    """The template vault on SQLite (a copy, as `cli`) and on PostgreSQL (a clone of a
    database built through the CLI once per session, as `build_template` builds it)."""
    with template_copy(request, request.param, template_vault, tmp_path) as cli:
        yield cli


@contextlib.contextmanager
def template_copy(
    request: pytest.FixtureRequest, backend: str, template_vault: Template, root: Path
) -> Iterator[Cli]:
    """A copy of the template vault on `backend` with its files under `root` (what `both`
    gives one test; fixtures of a wider scope share one)."""
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    if backend == "sqlite":
        for name in ("vault.db", "vault.db-wal"):
            src = template_vault.dir / name
            if src.exists():
                shutil.copyfile(src, root / name)
        yield Cli(str(root / "vault.db"), runtime)
        return
    server: PgServer = request.getfixturevalue("pg_server")
    _need_pg(server)
    builder = root / "build"
    builder.mkdir(mode=0o700)
    template = server.template("cli", lambda url: populate(Cli(url, builder)))
    name = server.clone(template)
    try:
        yield Cli(pg_url(name), runtime)
    finally:
        server.release(name)

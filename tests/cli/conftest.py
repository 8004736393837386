"""Fixtures for the end-to-end CLI tests (helpers in clikit.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli.clikit import Cli, Template, build_template


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

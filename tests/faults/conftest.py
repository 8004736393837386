"""Fault-injection fixtures. `admin_cli`: the real `custodian` command, acting as the
`vault` fixture's admin (passphrase PASS) on the same database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.clikit import Cli, Result
from tests.conftest import ADMIN, PASS, VaultKit


class AdminCli(Cli):
    """`Cli` with the vault fixture's users: every passphrase is PASS."""

    def env(
        self, user: str | None = ADMIN, passphrase: str | None = None, **extra: str
    ) -> dict[str, str]:
        return super().env(user, passphrase or PASS, **extra)

    def run(self, *args: str, user: str | None = ADMIN, **kwargs: Any) -> Result:
        return super().run(*args, user=user, **kwargs)


@pytest.fixture
def admin_cli(vault: VaultKit, tmp_path: Path) -> AdminCli:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    return AdminCli(vault.url, runtime)

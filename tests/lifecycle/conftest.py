"""Fixtures for the lifecycle tests (issue 4). The `vault` fixture (tests/conftest.py)
runs each test on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodian.service.shredding import SHRED_LIST_ENV


@pytest.fixture(autouse=True)
def shred_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Purges mirror their destruction list here, never in the real user data dir."""
    path = tmp_path / "shredded.jsonl"
    monkeypatch.setenv(SHRED_LIST_ENV, str(path))
    return path

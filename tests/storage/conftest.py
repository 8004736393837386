"""The storage contract runs on every store: see `test_contract.py`.

`store` is one parametrized fixture over every implementation (as harlequin's
`all_adapters`): the in-memory store, the SQL store and the Vault store (a real OpenBao
dev server, `tests/vault/baokit.py`); the `vault` kit beside it runs each on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import pytest

from custodian.storage import MemorySecretStore, SecretStore, SqlSecretStore
from tests.vault.baokit import bao, make_store  # noqa: F401

STORES = ["memory", "sql", "vault"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> SecretStore:
    if request.param == "memory":
        return MemorySecretStore()
    if request.param == "sql":
        return SqlSecretStore()
    return make_store(request.getfixturevalue("bao"))

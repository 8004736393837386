"""Fixtures for the Vault backend tests: see `baokit.py`."""

from tests.vault.baokit import bao, bao_factory, vault_store, vkit  # noqa: F401

"""The storage contract runs on every store: see `test_contract.py`."""

from tests.vault.baokit import bao  # noqa: F401

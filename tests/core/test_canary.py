"""A canary secret, run through every path, never shows up where it must not."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from custodian.errors import CustodianError
from custodian.secret import Secret, SecretPayload
from tests.conftest import CANARY, VaultKit

CANARY_OTHER = CANARY + "-field"


def _exercise(vault: VaultKit) -> tuple[list[object], list[BaseException]]:
    """Every operation that touches the canary; returns what came back and what was raised."""
    returned: list[object] = []
    raised: list[BaseException] = []

    def attempt(call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            returned.append(call(*args, **kwargs))
        except CustodianError as exc:
            raised.append(exc)

    path = vault.customer("acme", secret=CANARY, extra={"enable": CANARY_OTHER})
    alice = vault.tech("alice")
    bob = vault.tech("bob")
    vault.admin.grant("alice", "acme")
    admin = vault.admin

    secret = alice.reveal(path)
    assert secret.reveal() == CANARY  # the positive control
    returned.append(secret)
    attempt(alice.reveal, path, field="enable", reason="ticket 1")
    attempt(alice.set_secret, path, SecretPayload({"password": CANARY + "-v2"}))
    attempt(alice.history, path)
    attempt(alice.list_credentials)
    attempt(admin.list_credentials, "acme")
    attempt(admin.show_customer, "acme")
    attempt(admin.events)
    attempt(alice.events)
    attempt(alice.reveal, path, version=1)
    returned.append(SecretPayload({"password": CANARY}))
    # errors
    attempt(bob.reveal, path)
    attempt(alice.reveal, path, field="nosuch")
    attempt(alice.reveal, path, version=99)
    attempt(admin.add_credential, path, SecretPayload({"password": CANARY}))
    attempt(admin.add_credential, "acme/nosuch/x", SecretPayload({"password": CANARY}))
    attempt(admin.add_credential, "nosuch/dc01/x", SecretPayload({"password": CANARY}))
    attempt(bob.set_secret, path, SecretPayload({"password": CANARY}))
    attempt(alice.reveal, "not a path")
    for bad in ({"password": ""}, {"bad name!": CANARY}, {}):
        try:
            SecretPayload(bad)
        except CustodianError as exc:
            raised.append(exc)
    attempt(vault.vault.unlock, "alice", CANARY)  # a canary as a wrong passphrase
    return returned, raised


def _texts(obj: object) -> list[str]:
    out = [repr(obj), str(obj)]
    if isinstance(obj, list | tuple):
        for item in obj:
            out += _texts(item)
    elif hasattr(obj, "to_dict"):
        out.append(repr(obj.to_dict()))  # type: ignore[attr-defined]
    return out


def _leaks(value: object) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return CANARY.encode() in data or CANARY.encode("utf-16-le") in data
    return CANARY in str(value)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "alembic", "custodian"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_the_canary_never_leaks(vault: VaultKit, debug_logs: pytest.LogCaptureFixture) -> None:
    returned, raised = _exercise(vault)
    assert len(raised) >= 9

    # reprs of everything returned; only Secret.reveal() gives the value
    for obj in returned:
        for text in _texts(obj):
            assert CANARY not in text, f"canary in the repr of a {type(obj).__name__}"
    assert f"{Secret(CANARY)}" == f"{Secret(CANARY)!r}" == "Secret('********')"

    # exception messages, reprs and notes
    for exc in raised:
        assert not _leaks(str(exc)) and not _leaks(repr(exc)), type(exc).__name__
        assert not _leaks(getattr(exc, "__notes__", ""))
        cause = exc.__cause__ or exc.__context__
        assert cause is None or not _leaks(str(cause))

    # logging at DEBUG, SQLAlchemy's statements and parameters included
    assert any(r.name.startswith("sqlalchemy.engine") for r in debug_logs.records)
    for record in debug_logs.records:
        assert not _leaks(record.getMessage()), record.name
    assert not _leaks(debug_logs.text)

    # the access log: every column of every row
    events = vault.events()
    assert {"reveal", "cred-add", "cred-set"} <= {e.action for e in events}
    for row in events:
        for value in row:
            assert not _leaks(value), f"canary in access_event row {row.seq}"


def test_the_canary_is_only_stored_sealed(vault: VaultKit) -> None:
    _exercise(vault)
    with vault.vault.db.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
    assert "secret_version" in tables
    for table in tables:
        for row in vault.sql(f'SELECT * FROM "{table}"'):
            for value in row:
                assert not _leaks(value), f"canary in table {table}"
    if vault.backend == "sqlite":
        db = Path(vault.url.removeprefix("sqlite:///"))
        for path in db.parent.glob(db.name + "*"):  # the file, its WAL and shared memory
            assert not _leaks(path.read_bytes()), path.name

"""A database writer against the access log (issue 17, item 6): an emptied log, a missing
head row and a row written past the head are clear integrity errors, never a pass, a
wedge or a traceback. Each attack is plain SQL, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from custodian.errors import IntegrityError
from tests.audit.auditkit import CUSTOMER_PATH, drop_triggers


def test_an_emptied_log_of_an_initialized_vault_fails_verification(log_vault):
    assert log_vault.admin.verify_log(workers=0).ok
    drop_triggers(log_vault)
    log_vault.sql("DELETE FROM access_event")
    log_vault.sql("UPDATE log_head SET seq = 0, head = :g", g=bytes(32))
    result = log_vault.admin.verify_log(workers=0)
    assert not result.ok
    assert result.first_bad == 1
    assert "init" in (result.problem or "")


def test_a_missing_head_row_is_an_integrity_error(log_vault):
    log_vault.sql("DELETE FROM log_head")
    with pytest.raises(IntegrityError, match="no head row"):
        log_vault.admin.verify_log(workers=0)
    with pytest.raises(IntegrityError, match="no head row"):
        log_vault.bob.reveal(CUSTOMER_PATH)


def test_a_row_past_the_head_is_reported_not_a_wedge(log_vault):
    (head,) = log_vault.sql("SELECT seq FROM log_head")[0]
    columns = (
        "at, actor_id, actor, action, outcome, customer_id, target, credential_id, reason,"
        " detail, prev_hash, hash, signature"
    )
    log_vault.sql(
        f"INSERT INTO access_event (seq, {columns}) SELECT :next, {columns}"
        " FROM access_event WHERE seq = :head",
        next=head + 1,
        head=head,
    )
    with pytest.raises(IntegrityError, match="the access log cannot take event"):
        log_vault.bob.reveal(CUSTOMER_PATH)  # refused clearly, and nothing revealed
    result = log_vault.admin.verify_log(workers=0)
    assert not result.ok
    assert result.first_bad == head + 1
    assert "past the log head" in (result.problem or "")

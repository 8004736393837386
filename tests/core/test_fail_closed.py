"""Fail closed: when the access event cannot be written, no secret leaves the service."""

from __future__ import annotations

import pytest

from custodian.errors import CustodianError
from tests.conftest import VaultKit


def _break_the_access_log(vault: VaultKit, only_reveals: bool) -> None:
    """A real database failure: a trigger that aborts INSERTs into access_event."""
    if vault.backend == "sqlite":
        when = "WHEN NEW.action = 'reveal'" if only_reveals else ""
        vault.sql(
            f"CREATE TRIGGER refuse_event BEFORE INSERT ON access_event {when}"
            " BEGIN SELECT RAISE(ABORT, 'access log unavailable'); END"
        )
    else:
        cond = "IF NEW.action = 'reveal' THEN " if only_reveals else "IF true THEN "
        vault.sql(
            "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{cond}RAISE EXCEPTION 'access log unavailable'; END IF; RETURN NEW; END $$"
        )
        vault.sql(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON access_event"
            " FOR EACH ROW EXECUTE FUNCTION refuse_event()"
        )


def _repair(vault: VaultKit) -> None:
    if vault.backend == "sqlite":
        vault.sql("DROP TRIGGER refuse_event")
    else:
        vault.sql("DROP TRIGGER refuse_event ON access_event")
        vault.sql("DROP FUNCTION refuse_event()")


@pytest.mark.parametrize("only_reveals", [True, False], ids=["reveals", "all-events"])
def test_reveal_fails_when_its_event_cannot_be_written(vault: VaultKit, only_reveals: bool) -> None:
    path = vault.customer("acme")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    before = vault.events()
    _break_the_access_log(vault, only_reveals)

    result = None
    with pytest.raises(CustodianError) as info:
        result = alice.reveal(path)
    assert result is None
    assert vault.secret not in str(info.value)

    _repair(vault)
    assert vault.events() == before  # nothing half-written
    assert alice.reveal(path).reveal() == vault.secret  # and it works again
    assert vault.events()[-1].action == "reveal"


def test_a_failed_event_leaves_no_change_behind(vault: VaultKit) -> None:
    """Changes and their events commit together: a change whose event fails is undone."""
    vault.customer("acme")
    _break_the_access_log(vault, only_reveals=False)
    with pytest.raises(CustodianError):
        vault.admin.add_customer("globex", "Globex")
    _repair(vault)
    assert [c.slug for c in vault.admin.list_customers()] == ["acme"]

"""One rule for which events a review keeps, said twice: in SQL (`select_events`, database
mode) and over events in memory (`matches`, a client through a server, over the events it
verified: `VerifiedLog`). Both must keep the same events for every filter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from custodian import EventFilter
from custodian.audit.query import matches
from custodian.errors import IntegrityError
from custodian.service import VerifiedLog
from custodian.service.trust_log import EVENTS_FROM, decoder, fetch
from tests.audit.auditkit import CUSTOMER_PATH


def _filters(first: Any) -> list[dict[str, Any]]:
    return [
        {},
        {"technician": "bob"},
        {"technician": "carol", "actions": ("reveal",)},
        {"credential": CUSTOMER_PATH},
        {"credential": "acme/dc01"},  # a prefix of a path is not the path
        {"customer": "acme"},
        {"actions": ("reveal", "cred-add"), "outcomes": ("ok",)},
        {"outcomes": ("denied",)},
        {"reason": "CAROL 1"},
        {"reason": "%"},  # LIKE's wildcards are literal
        {"reason": "ticket"},
        {"since": first, "until": first + timedelta(seconds=1)},
        {"until": first},
        {"after": 5},
    ]


def test_matches_keeps_what_select_events_keeps(log_vault):
    admin = log_vault.admin
    everything = admin.events()
    first = admin.events(actions=("reveal",))[0].at
    for given in _filters(first):
        in_sql = admin.events(**given)
        in_memory = [e for e in everything if matches(EventFilter(**given), e)]
        assert in_memory == in_sql, given
    assert any(admin.events(**f) for f in _filters(first))


def _rows(vault: Any) -> list[Any]:
    """Every event row as the server sends them (`Served.events_in`)."""
    with vault.db.transaction() as tx:
        head = tx.execute(text("SELECT seq FROM log_head")).scalar_one()
        decode = decoder(tx)
        found = fetch(EVENTS_FROM, tx, {"seq": 1, "head": head})
        return [(r[0], decode(r[1]), *r[2:]) for r in found]


def test_a_verified_log_gives_the_databases_events(log_vault):
    rows = _rows(log_vault.vault)
    log = VerifiedLog()
    kept = log.feed(rows[:5], EventFilter()) + log.feed(rows[3:], EventFilter())  # overlap
    log.anchor((rows[-1][0], bytes(rows[-1][12])))
    assert kept == log_vault.admin.events()[: len(rows)]
    bob = log_vault.bob
    own = VerifiedLog().feed(rows, EventFilter(), own=bob.technician_id)
    assert own == bob.events()[: len(own)] and {e.actor for e in own} == {"bob"}


@pytest.mark.parametrize("lie", ["reason", "dropped", "swapped", "short"])
def test_a_doctored_log_is_refused(log_vault, lie):
    rows = [list(r) for r in _rows(log_vault.vault)]
    anchor = (rows[-1][0], bytes(rows[-1][12]))
    i = len(rows) // 2
    if lie == "reason":
        rows[i][9] = "an innocent reason"
    elif lie == "dropped":
        del rows[i]
    elif lie == "swapped":
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
    else:
        del rows[-1]
    log = VerifiedLog()
    with pytest.raises(IntegrityError):
        log.feed(rows, EventFilter())
        log.anchor(anchor)

"""Reviewing the log: filters, who may read what, the customer report, anomaly alerts,
the reason policy and customer edits; denied and failed attempts are recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custodian import AlertPolicy
from custodian.errors import AccessDenied, AuthenticationFailed, NotFound, UsageError
from tests.audit.auditkit import CUSTOMER_PATH, rows


def test_filters_narrow_the_events(log_vault):
    admin = log_vault.admin
    assert {e.actor for e in admin.events(technician="bob")} >= {"bob"}
    assert all(
        e.actor == "bob" or (e.target or "").startswith("bob@")
        for e in admin.events(technician="bob")
    )
    reveals = admin.events(actions=("reveal",))
    assert len(reveals) == 6 and {e.customer for e in reveals} == {"acme"}
    assert [e.reason for e in admin.events(reason="CAROL 1")] == ["carol 1"]
    assert [e.reason for e in admin.events(reason="%")] == []  # LIKE wildcards are literal
    by_path = [e.action for e in admin.events(credential=CUSTOMER_PATH)]
    assert by_path == ["cred-add"] + ["reveal"] * 6
    assert admin.events(credential="acme/dc01/other") == []
    assert {e.action for e in admin.events(customer="acme")} >= {"customer-add", "reveal"}
    assert admin.events(outcomes=("denied",)) == []
    first_reveal = reveals[0].at
    assert [
        e.seq
        for e in admin.events(
            actions=("reveal",), since=first_reveal, until=first_reveal + timedelta(seconds=1)
        )
    ] == [reveals[0].seq]
    assert [e.seq for e in admin.events(limit=2)] == [e.seq for e in admin.events()][-2:]
    assert [e.seq for e in admin.events(after=reveals[-1].seq)] == [
        e.seq for e in admin.events() if e.seq > reveals[-1].seq
    ]


def test_technicians_read_only_their_own_events(log_vault):
    own = log_vault.bob.events()
    assert own and {e.actor for e in own} == {"bob"}
    assert log_vault.bob.events(technician="carol") == []


def test_report_lists_who_revealed_what_how_often_and_why(log_vault):
    log_vault.admin.edit_customer("acme", reason_pattern=r"T-\d+")
    with pytest.raises(AccessDenied):
        log_vault.bob.reveal(CUSTOMER_PATH, reason="no ticket")
    report = log_vault.admin.report("acme")
    uses = {(u.path, u.technician): u for u in report.credentials}
    bob = uses[(CUSTOMER_PATH, "bob")]
    assert (bob.reveals, bob.denied) == (3, 1)
    assert bob.reasons == ("ticket 0", "ticket 1", "ticket 2")
    assert bob.last == max(
        e.at
        for e in log_vault.admin.events(technician="bob", actions=("reveal",), outcomes=("ok",))
    )
    totals = {t.technician: t for t in report.technicians}
    assert (totals["carol"].reveals, totals["carol"].credentials) == (3, 1)
    assert rows(log_vault)[-1].action == "log-report"
    window = log_vault.admin.report("acme", since=log_vault.clock.now + timedelta(days=1))
    assert window.credentials == () and window.technicians == ()


def test_report_and_alerts_are_for_admins_and_auditors(log_vault):
    for call in (
        lambda: log_vault.bob.report("acme"),
        lambda: log_vault.bob.alerts(),
        lambda: log_vault.bob.verify_log(),
        lambda: log_vault.bob.checkpoint(),
    ):
        with pytest.raises(AccessDenied):
            call()
        last = rows(log_vault)[-1]
        assert (last.actor, last.outcome) == ("bob", "denied")
    with pytest.raises(NotFound):
        log_vault.admin.report("nosuch")


def _reveals(kit, who, n, step=timedelta(seconds=10)):  # type: ignore[no-untyped-def]
    for i in range(n):
        kit.clock.advance(step)
        who.reveal(CUSTOMER_PATH, reason=f"r{i}")


def test_burst_of_reveals_is_flagged_once_per_window(log_vault):
    policy = AlertPolicy(
        burst_count=4, burst_minutes=5, work_days=tuple(range(7)), work_start=0, work_end=24
    )
    since = log_vault.clock.now
    _reveals(log_vault, log_vault.bob, 8)
    alerts = log_vault.admin.alerts(since=since, policy=policy)
    bursts = [a for a in alerts if a.kind == "burst"]
    assert [(a.technician, a.count, a.customer) for a in bursts] == [("bob", 5, "acme")]
    assert log_vault.admin.alerts(since=since, policy=replace_policy(policy, burst_count=8)) == []


def replace_policy(policy, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(policy, **changes)


def test_reveal_outside_the_usual_customers_is_flagged(log_vault):
    kit = log_vault
    kit.customer("globex", grant=("bob",))
    kit.clock.advance(timedelta(days=2))
    since = kit.clock.now
    kit.bob.reveal("globex/dc01/admin", reason="new")
    kit.bob.reveal(CUSTOMER_PATH, reason="usual")
    policy = AlertPolicy(work_days=tuple(range(7)), work_start=0, work_end=24)
    unusual = [
        a for a in kit.admin.alerts(since=since, policy=policy) if a.kind == "unusual-customer"
    ]
    assert [(a.technician, a.customer) for a in unusual] == [("bob", "globex")]
    # 31 days later acme is no longer "usual" either, but globex is
    kit.clock.advance(timedelta(days=31))
    since = kit.clock.now
    kit.bob.reveal("globex/dc01/admin", reason="again")
    assert [
        a for a in kit.admin.alerts(since=since, policy=policy) if a.kind == "unusual-customer"
    ] == []


def test_reveal_outside_working_hours_is_flagged_in_the_configured_zone(log_vault):
    kit = log_vault
    # the fixture's clock starts on Sunday 2026-03-01 09:00 UTC: a weekend
    since = kit.clock.now - timedelta(hours=1)
    weekdays = AlertPolicy(timezone="Europe/Berlin")
    off = [a for a in kit.admin.alerts(since=since, policy=weekdays) if a.kind == "off-hours"]
    assert {a.technician for a in off} == {"bob", "carol"} and len(off) == 6
    assert "Europe/Berlin" in off[0].detail
    every_day = AlertPolicy(
        work_days=tuple(range(7)), work_start=9, work_end=17, timezone="Europe/Berlin"
    )  # 10:00 in Berlin: inside
    assert [
        a for a in kit.admin.alerts(since=since, policy=every_day) if a.kind == "off-hours"
    ] == []
    with pytest.raises(UsageError):
        AlertPolicy.from_mapping({"timezone": "Mars/Olympus"})
    with pytest.raises(UsageError):
        AlertPolicy.from_mapping({"bogus": 1})


def test_repeated_denied_attempts_are_flagged(log_vault):
    kit = log_vault
    kit.customer("initech")  # nobody granted
    since = kit.clock.now
    for _ in range(3):
        kit.clock.advance(timedelta(minutes=1))
        with pytest.raises(AccessDenied):
            kit.carol.reveal("initech/dc01/admin")
    with pytest.raises(AuthenticationFailed):
        kit.vault.unlock("bob", "not the passphrase")
    alerts = kit.admin.alerts(since=since, policy=AlertPolicy(denied_count=3))
    denied = [a for a in alerts if a.kind == "denied-attempts"]
    assert [(a.technician, a.count) for a in denied] == [("carol", 3)]
    denied_rows = [r for r in rows(kit) if r.outcome == "denied" and r.actor == "carol"]
    assert len(denied_rows) == 3 and all(r.target == "initech/dc01/admin" for r in denied_rows)
    failed = rows(kit)[-2]  # the failed unlock, then the log-alerts run
    assert (failed.actor, failed.action, failed.outcome) == ("bob", "unlock", "failed")


def test_customer_edit_changes_the_reason_policy_and_is_recorded(log_vault):
    kit = log_vault
    info = kit.admin.edit_customer("acme", require_reason=True)
    assert info.require_reason and info.reason_pattern is None
    with pytest.raises(AccessDenied, match="requires a reason"):
        kit.bob.reveal(CUSTOMER_PATH)
    kit.admin.edit_customer("acme", reason_pattern=r"INC\d{4}")
    with pytest.raises(AccessDenied, match="pattern"):
        kit.bob.reveal(CUSTOMER_PATH, reason="because")
    assert kit.bob.reveal(CUSTOMER_PATH, reason="INC0042").reveal() == kit.secret
    info = kit.admin.edit_customer("acme", require_reason=False, name="Acme Corp")
    assert (info.require_reason, info.reason_pattern, info.name) == (False, None, "Acme Corp")
    assert kit.bob.reveal(CUSTOMER_PATH).reveal() == kit.secret
    edits = kit.admin.events(actions=("customer-edit",))
    assert len(edits) == 3 and all(e.customer == "acme" for e in edits)
    assert '"require_reason":false' in (edits[-1].detail or "")
    denied = kit.admin.events(actions=("reveal",), outcomes=("denied",))
    assert [e.reason for e in denied] == [None, "because"]
    with pytest.raises(AccessDenied):
        kit.bob.edit_customer("acme", require_reason=False)
    with pytest.raises(UsageError):
        kit.admin.edit_customer("acme", reason_pattern="(")
    assert kit.admin.verify_log(workers=0).ok

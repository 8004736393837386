"""Every tampering case a database-only attacker can try, each caught by `verify_log` at
the right sequence number, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from custodian.audit import append as audit
from custodian.crypto import SigningKey
from custodian.errors import NotFound
from tests.audit.auditkit import (
    CUSTOMER_PATH,
    HASHED,
    drop_triggers,
    edit,
    head,
    insert_row,
    recompute_chain,
    rehash,
    rows,
    seq_of,
    shift,
)


def verify(kit, **kw):  # type: ignore[no-untyped-def]
    return kit.admin.verify_log(workers=0, **kw)


def test_untouched_log_verifies_and_the_run_is_recorded(log_vault):
    result = verify(log_vault)
    assert result.ok and result.first_bad is None and result.warnings == ()
    assert result.checked == result.head_seq == len(rows(log_vault)) - 1
    last = rows(log_vault)[-1]
    assert (last.action, last.outcome, last.actor) == ("log-verify", "ok", "admin")
    assert verify(log_vault).checked == result.checked + 1  # the recorded run verifies too


def test_verify_in_a_process_pool_gives_the_same_answer(log_vault):
    k = seq_of(log_vault, "reveal", "carol", 1)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET reason = 'x' WHERE seq = :s", s=k)
    recompute_chain(log_vault)
    result = log_vault.admin.verify_log(workers=2)
    assert (result.ok, result.first_bad) == (False, k)


def test_edited_field_is_caught_by_its_hash(log_vault):
    k = seq_of(log_vault, "reveal", "bob", 1)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET reason = 'innocent' WHERE seq = :s", s=k)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert "hash" in result.problem
    recorded = rows(log_vault)[-1]
    assert (recorded.action, recorded.outcome) == ("log-verify", "integrity")
    assert json.loads(recorded.detail)["first_bad"] == k


def test_edited_field_with_recomputed_chain_is_caught_by_the_signature(log_vault):
    k = seq_of(log_vault, "reveal", "bob", 2)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET target = 'acme/dc01/other' WHERE seq = :s", s=k)
    recompute_chain(log_vault)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert "signature" in result.problem


def test_deleted_row_is_reported_as_missing(log_vault):
    k = seq_of(log_vault, "reveal", "carol", 0)
    drop_triggers(log_vault)
    log_vault.sql("DELETE FROM access_event WHERE seq = :s", s=k)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert "missing" in result.problem


def test_deleted_row_with_renumbering_and_recomputed_chain_is_caught(log_vault):
    k = seq_of(log_vault, "reveal", "carol", 0)
    drop_triggers(log_vault)
    log_vault.sql("DELETE FROM access_event WHERE seq = :s", s=k)
    shift(log_vault, k + 1, -1)
    recompute_chain(log_vault)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)


def _forged(
    kit,
    seq: int,
    prev: bytes,
    key: SigningKey | None,
    actor: str = "bob",  # type: ignore[no-untyped-def]
    prev_signature: bytes | None = None,
):
    template = next(r for r in rows(kit) if r.action == "reveal" and r.actor == actor)
    row = template._asdict()
    row.update(seq=seq, prev_hash=prev, reason="forged")
    digest = rehash(SimpleNamespace(**row), prev, prev_signature)
    row.update(hash=digest, signature=key.sign(digest) if key else None)
    return row


def test_forged_row_inserted_in_the_middle_is_caught(log_vault):
    k = seq_of(log_vault, "reveal", "carol", 1)
    drop_triggers(log_vault)
    shift(log_vault, k, +1)
    prev = bytes(next(r for r in rows(log_vault) if r.seq == k - 1).hash)
    insert_row(log_vault, _forged(log_vault, k, prev, SigningKey.generate()))
    recompute_chain(log_vault)  # everything after it links again
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert "signature" in result.problem


def test_forged_row_appended_at_the_tail_is_caught(log_vault):
    n, digest = head(log_vault)
    tail_sig = bytes(rows(log_vault)[-1].signature)
    insert_row(
        log_vault, _forged(log_vault, n + 1, digest, SigningKey.generate(), prev_signature=tail_sig)
    )
    log_vault.sql(
        "UPDATE log_head SET seq = :s, head = :h", s=n + 1, h=bytes(rows(log_vault)[-1].hash)
    )
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, n + 1)


def test_unsigned_forged_reveal_is_caught(log_vault):
    n, digest = head(log_vault)
    tail_sig = bytes(rows(log_vault)[-1].signature)
    insert_row(log_vault, _forged(log_vault, n + 1, digest, None, prev_signature=tail_sig))
    log_vault.sql(
        "UPDATE log_head SET seq = :s, head = :h", s=n + 1, h=bytes(rows(log_vault)[-1].hash)
    )
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, n + 1)
    assert "unsigned" in result.problem


def test_swapped_rows_are_caught_at_the_first(log_vault):
    a = seq_of(log_vault, "reveal", "bob", 0)
    b = seq_of(log_vault, "reveal", "carol", 2)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET seq = -1 WHERE seq = :a", a=a)
    log_vault.sql("UPDATE access_event SET seq = :a WHERE seq = :b", a=a, b=b)
    log_vault.sql("UPDATE access_event SET seq = :b WHERE seq = -1", b=b)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, a)


def test_swapped_rows_with_recomputed_chain_are_caught_at_the_first(log_vault):
    a = seq_of(log_vault, "reveal", "bob", 0)
    b = seq_of(log_vault, "reveal", "carol", 2)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET seq = -1 WHERE seq = :a", a=a)
    log_vault.sql("UPDATE access_event SET seq = :a WHERE seq = :b", a=a, b=b)
    log_vault.sql("UPDATE access_event SET seq = :b WHERE seq = -1", b=b)
    recompute_chain(log_vault)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, a)


def test_truncated_tail_is_caught_by_the_log_head(log_vault):
    n, _ = head(log_vault)
    drop_triggers(log_vault)
    log_vault.sql("DELETE FROM access_event WHERE seq > :s", s=n - 3)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, n - 2)
    assert "head" in result.problem


def test_truncated_tail_with_rewritten_head_is_caught_by_a_pin_or_a_checkpoint(
    log_vault, tmp_path, monkeypatch
):
    """Cutting the tail and moving the head back leaves a valid (shorter) log. A client
    that verified the cut events refuses it (its pinned head); a client that never saw
    them needs a checkpoint kept elsewhere, which catches it too."""
    line = log_vault.admin.checkpoint().line
    n, _ = head(log_vault)
    drop_triggers(log_vault)
    log_vault.sql("DELETE FROM access_event WHERE seq > :s", s=n - 4)
    cut = rows(log_vault)[-1]
    log_vault.sql("UPDATE log_head SET seq = :s, head = :h", s=cut.seq, h=bytes(cut.hash))
    pinned = verify(log_vault)
    assert not pinned.ok and "went back" in (pinned.problem or "")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "a-new-machine"))
    log_vault.admin = log_vault.vault.resume("admin", log_vault.admin.export())
    assert verify(log_vault).ok  # this client never saw the cut events
    # the verify run appended one event at n - 3 (legitimately signed): the checkpoint
    # names event n - 1, which now holds other content or is missing
    result = verify(log_vault, checkpoint_text=line)
    assert not result.ok and result.first_bad is not None
    assert result.first_bad <= n - 1
    assert "checkpoint" in result.problem


def test_checkpoint_catches_truncation_before_its_seq(log_vault):
    cp = log_vault.admin.checkpoint()
    drop_triggers(log_vault)
    log_vault.sql("DELETE FROM access_event WHERE seq > :s", s=cp.seq - 2)
    cut = rows(log_vault)[-1]
    log_vault.sql("UPDATE log_head SET seq = :s, head = :h", s=cut.seq, h=bytes(cut.hash))
    result = verify(log_vault, checkpoint_text=cp.line)
    assert (result.ok, result.first_bad) == (False, cp.seq - 1)


def test_checkpoint_on_an_untouched_log_verifies(log_vault):
    first = log_vault.admin.checkpoint().line
    log_vault.clock.advance()
    log_vault.bob.reveal("acme/dc01/admin", reason="later")
    second = log_vault.admin.checkpoint().line
    result = verify(log_vault, checkpoint_text=f"From: ops\n{first}\n\n{second}\n")
    assert result.ok and result.checkpoints == 2


def test_checkpoint_detects_a_rewrite_before_it(log_vault):
    line = log_vault.admin.checkpoint().line
    k = seq_of(log_vault, "reveal", "carol", 0)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET reason = 'x' WHERE seq = :s", s=k)
    recompute_chain(log_vault, resign={})
    result = verify(log_vault, checkpoint_text=line)
    assert (result.ok, result.first_bad) == (False, k)


def test_signature_replaced_with_another_technicians_is_caught(log_vault):
    k = seq_of(log_vault, "reveal", "bob", 1)
    other = next(r for r in rows(log_vault) if r.actor == "carol" and r.action == "reveal")
    drop_triggers(log_vault)
    log_vault.sql(
        "UPDATE access_event SET signature = :sig WHERE seq = :s", sig=bytes(other.signature), s=k
    )
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert "signature" in result.problem


def test_event_resigned_by_another_technician_is_caught(log_vault):
    """Carol holds her own key: she can sign, but not as bob."""
    k = seq_of(log_vault, "reveal", "bob", 1)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET reason = 'not me' WHERE seq = :s", s=k)
    recompute_chain(log_vault, resign={k: log_vault.carol._signer})
    assert verify(log_vault).first_bad == k


def test_swapping_the_table_key_does_not_let_an_attacker_resign(log_vault):
    """The attacker replaces bob's signing key in the technician table with their own
    and re-signs an edited event: the key bound in the log still decides."""
    k = seq_of(log_vault, "reveal", "bob", 1)
    mine = SigningKey.generate()
    drop_triggers(log_vault)
    log_vault.sql(
        "UPDATE technician SET signing_public_key = :p WHERE username = 'bob'",
        p=mine.public_bytes(),
    )
    log_vault.sql("UPDATE access_event SET reason = 'rewritten' WHERE seq = :s", s=k)
    recompute_chain(log_vault, resign={k: mine})
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert any("bob" in w for w in result.warnings)


def test_unsigned_failed_unlock_is_allowed_but_other_unsigned_events_are_not(log_vault):
    import pytest

    from custodian.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        log_vault.vault.unlock("bob", "wrong passphrase!")
    failed = rows(log_vault)[-1]
    assert (failed.action, failed.outcome, failed.signature) == ("unlock", "failed", None)
    assert ("unlock", "failed") in audit.UNSIGNED_ACTIONS
    assert verify(log_vault).ok
    k = seq_of(log_vault, "reveal", "carol", 0)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET signature = NULL WHERE seq = :s", s=k)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)


# --- incremental verification, anchored in a checkpoint ------------------------------------


def test_incremental_verify_trusts_signatures_up_to_the_checkpoint_only(log_vault):
    line = log_vault.admin.checkpoint().line
    log_vault.clock.advance()
    log_vault.bob.reveal("acme/dc01/admin", reason="after the checkpoint")
    result = verify(log_vault, checkpoint_text=line, incremental=True)
    assert result.ok and result.trusted_through == int(line.split(" seq=")[1].split()[0])
    # a forged tail after the checkpoint is still caught
    n, digest = head(log_vault)
    tail_sig = bytes(rows(log_vault)[-1].signature)
    insert_row(
        log_vault, _forged(log_vault, n + 1, digest, SigningKey.generate(), prev_signature=tail_sig)
    )
    log_vault.sql(
        "UPDATE log_head SET seq = :s, head = :h", s=n + 1, h=bytes(rows(log_vault)[-1].hash)
    )
    assert verify(log_vault, checkpoint_text=line, incremental=True).first_bad == n + 1


def test_incremental_verify_still_locates_a_rewrite_before_the_checkpoint(log_vault):
    line = log_vault.admin.checkpoint().line
    k = seq_of(log_vault, "reveal", "carol", 1)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET reason = 'x' WHERE seq = :s", s=k)
    recompute_chain(log_vault)
    result = verify(log_vault, checkpoint_text=line, incremental=True)
    assert (result.ok, result.first_bad, result.trusted_through) == (False, k, 0)


def test_checkpoint_is_refused_when_the_log_does_not_verify(log_vault):
    import pytest

    from custodian.errors import IntegrityError

    k = seq_of(log_vault, "reveal", "bob", 0)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET reason = 'x' WHERE seq = :s", s=k)
    with pytest.raises(IntegrityError, match=f"seq {k}"):
        log_vault.admin.checkpoint()


def test_incremental_needs_a_checkpoint_by_an_admin_or_auditor(log_vault):
    auditor = log_vault.vault.resume("admin", log_vault.admin.export())
    line = auditor.checkpoint().line
    forged = line.replace("signer=admin", "signer=bob")  # breaks its signature
    import pytest

    from custodian.errors import UsageError

    with pytest.raises(UsageError):
        verify(log_vault, checkpoint_text=forged, incremental=True)
    with pytest.raises(UsageError):
        verify(log_vault, incremental=True)


# --- every hashed column -----------------------------------------------------------------

# One edit per column the hash covers (docs/audit-format.md), made with plain SQL on one of
# bob's reveals in the middle of the log (`at` through the table's own type): the new value
# from the old one.
EDITS = {
    "at": lambda r: r.at + timedelta(seconds=1),
    "actor_id": lambda r: r.actor_id + 1,
    "actor": lambda r: "carol",
    "action": lambda r: "copy",
    "outcome": lambda r: "denied",
    "customer_id": lambda r: r.customer_id + 1,
    "target": lambda r: "acme/dc01/other",
    "credential_id": lambda r: r.credential_id + 1,
    "reason": lambda r: "ticket 99",
    "detail": lambda r: '{"version":2}',
}


def test_every_hashed_column_but_seq_has_an_edit() -> None:
    assert set(EDITS) | {"seq"} == set(HASHED)


@pytest.mark.parametrize("column", sorted(EDITS))
def test_an_edit_to_any_hashed_column_is_caught_by_that_events_hash(log_vault, column):
    k = seq_of(log_vault, "reveal", "bob", 1)
    before = next(r for r in rows(log_vault) if r.seq == k)
    drop_triggers(log_vault)
    value = EDITS[column](before)
    if column == "at":
        edit(log_vault, k, at=value)
    else:
        log_vault.sql(f"UPDATE access_event SET {column} = :v WHERE seq = :s", v=value, s=k)
    after = next(r for r in rows(log_vault) if r.seq == k)
    assert getattr(after, column) != getattr(before, column)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert result.problem == "the hash does not match the event's contents"


def test_a_failed_reveal_turned_into_ok_is_caught(log_vault):
    with pytest.raises(NotFound):
        log_vault.bob.reveal("acme/dc01/nosuch", reason="probing")
    k = rows(log_vault)[-1].seq
    assert (rows(log_vault)[-1].action, rows(log_vault)[-1].outcome) == ("reveal", "failed")
    log_vault.carol.reveal(CUSTOMER_PATH, reason="after the probe")  # k is not the tail
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET outcome = 'ok' WHERE seq = :s", s=k)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert result.problem == "the hash does not match the event's contents"


def test_an_edited_seq_is_caught(log_vault):
    """seq is hashed too, and also pinned by the chain: an event moved elsewhere leaves a
    gap where it was (the documented example pins seq inside the hash itself)."""
    k = seq_of(log_vault, "reveal", "bob", 1)
    drop_triggers(log_vault)
    log_vault.sql("UPDATE access_event SET seq = :t WHERE seq = :s", s=k, t=10_000)
    result = verify(log_vault)
    assert (result.ok, result.first_bad) == (False, k)
    assert "missing" in result.problem

"""Log format v2: each hash covers the previous signature, `log verify` checks each
actor's newest signature, every append refuses to sign over an event forged in its
actor's name, large logs are scanned in ranges on a process pool, and format-v1 logs
still verify."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from custodian.audit import append as audit
from custodian.audit import verify as log_verify
from custodian.audit.append import EventDraft, append
from custodian.crypto import SigningKey
from custodian.errors import IntegrityError
from tests.audit.auditkit import (
    CUSTOMER_PATH,
    GENESIS,
    HASHED,
    canonical,
    chain_hash,
    chain_hash_v1,
    drop_triggers,
    head,
    insert_row,
    rehash,
    rows,
    seq_of,
)


def _verify(kit: Any, **kw: Any) -> Any:
    return kit.admin.verify_log(**kw)


def _forge_at_tail(kit: Any, actor: str = "bob") -> int:
    """An attacker's event in `actor`'s name at the tail, chained correctly (they can
    compute hashes) but signed with a key that is not the actor's; the head follows."""
    n, digest = head(kit)
    last = rows(kit)[-1]
    template = next(r for r in rows(kit) if r.action == "reveal" and r.actor == actor)
    row = template._asdict()
    row.update(seq=n + 1, prev_hash=digest, reason="forged")
    new_hash = rehash(SimpleNamespace(**row), digest, bytes(last.signature))
    row.update(hash=new_hash, signature=SigningKey.generate().sign(new_hash))
    insert_row(kit, row)
    kit.sql("UPDATE log_head SET seq = :s, head = :h", s=n + 1, h=new_hash)
    return n + 1


def test_an_actor_refuses_to_sign_over_an_event_forged_in_their_name(log_vault: Any) -> None:
    forged = _forge_at_tail(log_vault, "bob")
    with pytest.raises(IntegrityError) as info:
        log_vault.bob.reveal(CUSTOMER_PATH, reason="ticket 9")
    assert re.search(rf"(seq|event) {forged}\b", str(info.value))
    assert head(log_vault)[0] == forged  # nothing appended, nothing revealed
    result = _verify(log_vault, workers=0)
    assert (result.ok, result.first_bad) == (False, forged)


def test_a_forgery_others_signed_over_is_still_the_actors_newest(log_vault: Any) -> None:
    forged = _forge_at_tail(log_vault, "bob")
    with pytest.raises(IntegrityError, match=f"event {forged}"):
        log_vault.carol.reveal(CUSTOMER_PATH, reason="carol 9")  # her client refuses it
    signer = log_vault.carol._actor.signer  # a client that does not check signs over it
    with log_vault.vault.db.transaction() as tx:
        append(tx, EventDraft("reveal", "ok", "carol", None), log_vault.clock(), signer)
    result = _verify(log_vault, workers=0)
    assert (result.ok, result.first_bad) == (False, forged)
    assert "signature" in (result.problem or "")
    assert result.every_signature  # a failure is always re-checked signature by signature


def test_a_replaced_signature_breaks_the_next_hash(log_vault: Any) -> None:
    """Not the actor's newest, so the fast pass finds it through the chain; the re-check
    with every signature names the event itself."""
    k = seq_of(log_vault, "reveal", "bob", 0)
    drop_triggers(log_vault)
    log_vault.sql(
        "UPDATE access_event SET signature = :sig WHERE seq = :s",
        sig=SigningKey.generate().sign(b"x"),
        s=k,
    )
    result = _verify(log_vault, workers=0)
    assert (result.ok, result.first_bad) == (False, k)
    assert result.every_signature


@pytest.mark.parametrize("tamper", ["edit", "delete", "signature", "truncate"])
def test_ranges_on_a_pool_report_what_one_pass_reports(
    log_vault: Any, monkeypatch: pytest.MonkeyPatch, tamper: str
) -> None:
    k = seq_of(log_vault, "reveal", "carol", 1)
    drop_triggers(log_vault)
    if tamper == "edit":
        log_vault.sql("UPDATE access_event SET reason = 'x' WHERE seq = :s", s=k)
    elif tamper == "delete":
        log_vault.sql("DELETE FROM access_event WHERE seq = :s", s=k)
    elif tamper == "signature":
        log_vault.sql(
            "UPDATE access_event SET signature = :sig WHERE seq = :s",
            sig=bytes(rows(log_vault)[0].signature),
            s=k,
        )
    else:
        log_vault.sql("DELETE FROM access_event WHERE seq > :s", s=k)

    def run(workers: int) -> Any:  # not recorded: both runs see the same log
        vault = log_vault.vault
        return log_verify.verify_log(vault.db.engine, vault_id=vault.vault_id(), workers=workers)

    whole = run(0)
    monkeypatch.setattr(log_verify, "SCAN_SPAN", 3)  # many ranges, boundaries everywhere
    ranged = run(2)
    assert not whole.ok
    assert (ranged.ok, ranged.first_bad, ranged.problem) == (False, whole.first_bad, whole.problem)


def test_an_untouched_log_verifies_in_ranges_on_a_pool(
    log_vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_verify, "SCAN_SPAN", 2)
    result = _verify(log_vault, workers=2)
    assert result.ok and result.checked == result.head_seq


def _rewrite(kit: Any, v1: Any) -> None:
    """Every event re-hashed and re-signed by its own actor: in format v1 where `v1(seq)`
    (as a vault written before v2 holds them), in v2 elsewhere."""
    signers = {"admin": kit.admin._signer, "bob": kit.bob._signer, "carol": kit.carol._signer}
    drop_triggers(kit)
    prev, prev_sig = GENESIS, None
    for row in rows(kit):
        fields = canonical(row)
        v2 = not v1(row.seq)
        digest = chain_hash(prev, prev_sig, fields) if v2 else chain_hash_v1(prev, fields)
        sig = signers[row.actor].sign(digest) if row.signature is not None else None
        kit.sql(
            "UPDATE access_event SET prev_hash = :p, hash = :h, signature = :g WHERE seq = :s",
            p=prev,
            h=digest,
            g=sig,
            s=row.seq,
        )
        prev, prev_sig = digest, sig
    kit.sql("UPDATE log_head SET head = :h", h=prev)


def test_a_log_begun_in_format_v1_verifies_and_grows_in_v2(log_vault: Any) -> None:
    n, _ = head(log_vault)
    _rewrite(log_vault, lambda seq: seq <= n - 2)
    # A vault that old has no key directory yet: its members' bundles pin no root.
    log_vault.admin = log_vault.vault.resume("admin", log_vault.admin.export()[:128])
    assert _verify(log_vault, workers=0).ok  # and the verification itself is appended
    result = _verify(log_vault, workers=0)
    assert result.ok and result.checked > n


def test_a_v1_event_after_v2_began_is_refused(log_vault: Any) -> None:
    _rewrite(log_vault, lambda seq: seq != 2)  # v1, then v2 at seq 2, then v1 again
    result = _verify(log_vault, workers=0)
    assert (result.ok, result.first_bad) == (False, 3)
    assert "v1" in (result.problem or "")


DOC = Path(__file__).parents[2] / "docs" / "audit-format.md"


def _documented_example() -> tuple[dict[str, Any], str, str]:
    """docs/audit-format.md, "A worked example": (the event, its canonical text, its hash)."""
    section = DOC.read_text(encoding="utf-8").split("### A worked example", 1)[1]
    section = section.split("\n#", 1)[0]
    (event_json,) = re.findall(r"```json\n(.*?)\n```", section, re.S)
    canonical_text = re.search(r"^canonical: (.*)$", section, re.M)
    hash_hex = re.search(r"^hash: ([0-9a-f]{64})$", section, re.M)
    assert canonical_text and hash_hex, "the worked example lost its canonical or hash line"
    return json.loads(event_json), canonical_text.group(1), hash_hex.group(1)


def test_the_documented_example_hashes_alike_in_the_code_and_from_the_doc() -> None:
    event, canonical_text, hash_hex = _documented_example()
    fields = {name: event[name] for name in HASHED}
    fields["at"] = datetime.fromisoformat(event["at"])
    prev, prev_sig = bytes.fromhex(event["prev_hash"]), bytes.fromhex(event["prev_signature"])
    assert (len(prev), len(prev_sig)) == (32, 64)

    independent = canonical(SimpleNamespace(**fields))
    assert independent.decode("utf-8") == canonical_text
    assert chain_hash(prev, prev_sig, independent).hex() == hash_hex

    code = audit.canonical_values(*(fields[name] for name in HASHED))
    assert code == independent
    assert audit.chain_hash(prev, prev_sig, code).hex() == hash_hex

"""The key directory survives its local state file unchanged (service/trust_state.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from custodian.service import directory as d


def test_a_directory_round_trips_through_its_json_form() -> None:
    at = datetime(2026, 12, 6, tzinfo=UTC)
    state = d.Directory()
    root = [
        d.vault_change("0b1d7c7e-6c55-4c36-9f1e-1e3a1f3c9a10", b"recovery", (65536, 3, 4)),
        d.tech_change(1, "ada", "admin", True, b"ada-key", b"\x01" * 32),
        d.org_change(1, b"org-key"),
    ]
    for change in root:
        d.apply(state, change, None, at, root=True)
    for change in (
        d.tech_change(2, "ben", "technician", True, b"ben-key", b"\x02" * 32),
        d.ckey_change(7, 1, b"c7v1"),
        d.ckey_change(7, 2, b"c7v2"),
        d.grant_change(2, 7, None),
        d.grant_change(3, 7, at, write_only=True),
        d.cred_change(7, 40, 3),
    ):
        d.apply(state, change, 1, at, root=False)
    again = d.Directory.from_json(d.Directory.to_json(state))
    assert again == state
    assert again.live_grant(2, 7, at) and not again.live_grant(3, 7, at)
    assert again.newest_ckey == {7: 2} and again.creds == {40: (7, 3, 3)}

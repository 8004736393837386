"""A handover is an `export` event only once its file is written (issue 19)."""

from __future__ import annotations

import pytest

from custodian.errors import UsageError
from custodian.service import inputs

KDBX_PASS = "handover passphrase 42"


def test_a_handover_that_cannot_be_written_commits_no_export_event(vault, tmp_path, monkeypatch):
    # A value no write path accepts today, as a vault written before the check may hold.
    with monkeypatch.context() as m:
        m.setattr(inputs, "check_payload", lambda payload, limit: payload)
        vault.customer("acme", extra={"note": "before\x01after"})
    vault.admin.grant("admin", "acme")
    target = tmp_path / "out" / "acme.kdbx"
    target.parent.mkdir()
    with pytest.raises(UsageError, match="control character"):
        vault.admin.hand_over("acme", target, KDBX_PASS)
    assert list(target.parent.iterdir()) == []
    exports = [e for e in vault.admin.events() if e.action == "export"]
    assert [e.outcome for e in exports] == ["failed"]
    assert "before" not in str([e.to_dict() for e in exports])


def test_a_written_handover_is_one_export_event(vault, tmp_path):
    vault.customer("acme")
    vault.admin.grant("admin", "acme")
    target = tmp_path / "acme.kdbx"
    vault.admin.hand_over("acme", target, KDBX_PASS)
    assert target.stat().st_mode & 0o777 == 0o600
    exports = [e for e in vault.admin.events() if e.action == "export"]
    assert [e.outcome for e in exports] == ["ok"]

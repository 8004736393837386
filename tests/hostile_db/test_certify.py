"""An existing vault upgrades (issue 17): its members' bundles pin no root until an admin
certifies the key directory; until then clients refuse to act; afterwards each member
pins the certified root at their next unlock and the attacks are refused as in a new
vault."""

from __future__ import annotations

import pytest

from custodian.crypto import KdfParams, KeyPair, PassphraseLock
from custodian.errors import IntegrityError, UsageError
from custodian.secret import SecretPayload
from custodian.service.enrolment import technician_lock_context, unpack_private
from tests.conftest import ADMIN, PASS


def _as_before_the_directory(vault, name: str, bundle: bytes) -> None:
    """Re-lock `name`'s keys the way vaults before issue 17 did: no pinned root."""
    key, signer, _ = unpack_private(bundle)
    (tid,) = vault.sql("SELECT id FROM technician WHERE username = :n", n=name)[0]
    blob = PassphraseLock(KdfParams.floor()).lock(
        key.private_bytes() + signer.private_bytes(), PASS, technician_lock_context(tid, name)
    )
    vault.sql("UPDATE technician SET locked_private = :b WHERE id = :i", b=blob, i=tid)


def test_an_older_vault_is_refused_until_certified_then_pinned(vault):
    path = vault.customer("acme")
    bob = vault.tech("bob")
    vault.admin.grant("bob", "acme")
    _as_before_the_directory(vault, ADMIN, vault.admin.export())
    _as_before_the_directory(vault, "bob", bob.export())

    admin = vault.vault.unlock(ADMIN, PASS)
    assert admin.whoami().fingerprint is None
    with pytest.raises(UsageError, match="db certify"):
        admin.set_secret(path, SecretPayload({"password": "before certification"}))
    members = {m.username: m for m in admin.preview_certification()}
    assert set(members) == {ADMIN, "bob"} and len(members["bob"].key) == 16
    with pytest.raises(UsageError, match="db certify"):
        vault.vault.unlock("bob", PASS).reveal(path)

    fingerprint = admin.certify_directory()
    with pytest.raises(UsageError, match="already certified"):
        admin.certify_directory()

    admin = vault.vault.unlock(ADMIN, PASS)  # pins the certified root (trust on first use)
    bob = vault.vault.unlock("bob", PASS)
    assert admin.whoami().fingerprint == bob.whoami().fingerprint == fingerprint
    admin.set_secret(path, SecretPayload({"password": "after certification"}))
    assert bob.reveal(path).reveal() == "after certification"
    _, _, pin = unpack_private(bob.export())
    assert pin is not None and pin.fingerprint() == fingerprint

    evil = KeyPair.generate()
    vault.sql("UPDATE customer_key SET public_key = :k", k=evil.public_key.to_bytes())
    with pytest.raises(IntegrityError):
        admin.set_secret(path, SecretPayload({"password": "to the attacker"}))

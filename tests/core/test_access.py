"""Who can read what: grants enforced by the service and, independently, by the keys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custodian.crypto import Context, KeyPair, open_sealed
from custodian.db.models import Role
from custodian.errors import AccessDenied, IntegrityError, UsageError
from custodian.secret import SecretPayload
from custodian.service import ActorSession
from custodian.service.enrolment import unpack_private
from custodian.service.keys import wrap_context
from tests.conftest import VaultKit


def _own_key(session: ActorSession) -> KeyPair:
    """The private key a technician holds (what they could copy out of their session)."""
    key, _, _ = unpack_private(session.export())
    return key


def _customer_id(vault: VaultKit, slug: str) -> int:
    return int(vault.sql("SELECT id FROM customer WHERE slug = :s", s=slug)[0][0])


def _wraps(vault: VaultKit, customer_id: int | None) -> list:  # type: ignore[type-arg]
    where = "customer_id IS NULL" if customer_id is None else "customer_id = :c"
    return vault.sql(
        "SELECT customer_id, key_version, recipient_kind, recipient_id, wrapped"
        f" FROM key_wrap WHERE {where}",
        c=customer_id,
    )


def _try_open_wrap(row, key: KeyPair) -> bytes:  # type: ignore[no-untyped-def]
    customer_id, version, kind, recipient, blob = row
    return open_sealed(bytes(blob), key, wrap_context(customer_id, version, kind, recipient))


def _ciphertexts(vault: VaultKit, customer_id: int) -> list:  # type: ignore[type-arg]
    return vault.sql(
        "SELECT sv.credential_id, sv.version, sv.key_version, sv.ciphertext"
        " FROM secret_version sv JOIN credential c ON c.id = sv.credential_id"
        " WHERE c.customer_id = :c ORDER BY sv.version",
        c=customer_id,
    )


def _secret_context(customer_id: int, row) -> Context:  # type: ignore[no-untyped-def]
    credential_id, version, key_version, _ = row
    return Context.of(
        "secret",
        customer=customer_id,
        credential=credential_id,
        version=version,
        key_version=key_version,
    )


def _denied_events(vault: VaultKit, actor: str) -> list:  # type: ignore[type-arg]
    return [e for e in vault.events() if e.actor == actor and e.outcome == "denied"]


# --- the service refuses ---------------------------------------------------------------


def test_a_technician_without_a_grant_is_denied_and_it_is_recorded(vault: VaultKit) -> None:
    path = vault.customer("acme")
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied) as info:
        bob.reveal(path, reason="ticket 42")
    assert info.value.exit_code == 4
    assert vault.secret not in str(info.value)
    (event,) = _denied_events(vault, "bob")
    assert event.action == "reveal"
    assert event.target == path
    assert event.reason == "ticket 42"


def test_a_technician_gets_the_same_refusal_for_a_missing_customer(vault: VaultKit) -> None:
    vault.customer("acme")
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied) as existing:
        bob.reveal("acme/dc01/admin")
    with pytest.raises(AccessDenied) as missing:
        bob.reveal("nosuch/dc01/admin")
    assert str(existing.value).replace("acme", "X") == str(missing.value).replace("nosuch", "X")


def test_creating_a_customer_grants_nobody(vault: VaultKit) -> None:
    vault.tech("bob")
    vault.customer("acme")
    cid = _customer_id(vault, "acme")
    assert vault.sql('SELECT * FROM "grant" WHERE customer_id = :c', c=cid) == []
    kinds = {row[2] for row in _wraps(vault, cid)}
    assert kinds == {"org"}
    assert vault.admin.show_customer("acme").grants == ()


def test_an_admin_adds_a_credential_they_cannot_read(vault: VaultKit) -> None:
    path = vault.customer("acme")  # added by the admin, who holds no grant
    with pytest.raises(AccessDenied):
        vault.admin.reveal(path)
    assert [e.action for e in _denied_events(vault, "admin")] == ["reveal"]


def test_an_admin_needs_a_grant_to_reveal_and_granting_themselves_is_recorded(
    vault: VaultKit,
) -> None:
    path = vault.customer("acme")
    vault.admin.grant("admin", "acme")
    assert vault.admin.reveal(path).reveal() == vault.secret
    actions = [(e.action, e.outcome, e.target) for e in vault.events()[-2:]]
    assert actions == [("grant", "ok", "admin@acme"), ("reveal", "ok", path)]


def test_a_second_admin_needs_a_grant_too(vault: VaultKit) -> None:
    path = vault.customer("acme", grant=("admin",))
    dana = vault.tech("dana", role="admin")
    with pytest.raises(AccessDenied):
        dana.reveal(path)


def test_an_auditor_cannot_reveal_without_a_grant(vault: VaultKit) -> None:
    path = vault.customer("acme")
    carol = vault.tech("carol", role="auditor")
    assert [c.slug for c in carol.list_customers()] == ["acme"]  # metadata, yes
    with pytest.raises(AccessDenied):
        carol.reveal(path)


def test_only_admins_grant(vault: VaultKit) -> None:
    vault.customer("acme")
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied):
        bob.grant("bob", "acme")
    assert _denied_events(vault, "bob")[-1].action == "grant"


# --- the cryptography refuses, independently -------------------------------------------


def test_without_a_grant_the_rows_cannot_be_opened_with_ones_own_key(vault: VaultKit) -> None:
    path = vault.customer("acme")
    vault.tech("alice")
    vault.admin.grant("alice", "acme")
    bob = vault.tech("bob")
    with pytest.raises(AccessDenied):
        bob.reveal(path)
    cid = _customer_id(vault, "acme")
    bob_key = _own_key(bob)

    wraps = _wraps(vault, cid)
    assert not [w for w in wraps if w[2] == "technician" and w[3] == bob.technician_id]
    assert {w[2] for w in wraps} == {"org", "technician"}  # the org's and alice's
    for row in wraps + _wraps(vault, None):  # plus the org key's own wraps
        with pytest.raises(IntegrityError):
            _try_open_wrap(row, bob_key)
        # nor by claiming to be its recipient
        customer_id, version, _, _, blob = row
        with pytest.raises(IntegrityError):
            open_sealed(
                bytes(blob),
                bob_key,
                wrap_context(customer_id, version, "technician", bob.technician_id),
            )
    for row in _ciphertexts(vault, cid):
        with pytest.raises(IntegrityError):
            open_sealed(bytes(row[3]), bob_key, _secret_context(cid, row))


def test_with_a_grant_the_rows_open_with_ones_own_key(vault: VaultKit) -> None:
    """The positive control of the test above: the same reads succeed for alice."""
    path = vault.customer("acme")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    cid = _customer_id(vault, "acme")
    (mine,) = [
        w for w in _wraps(vault, cid) if w[2] == "technician" and w[3] == alice.technician_id
    ]
    customer_key = KeyPair(_try_open_wrap(mine, _own_key(alice)))
    (row,) = _ciphertexts(vault, cid)
    plain = open_sealed(bytes(row[3]), customer_key, _secret_context(cid, row))
    assert SecretPayload.from_bytes(plain)["password"].reveal() == vault.secret
    assert alice.reveal(path).reveal() == vault.secret


# --- grants change ---------------------------------------------------------------------


def test_revoke_removes_access_for_the_next_call(vault: VaultKit) -> None:
    path = vault.customer("acme")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme")
    assert alice.reveal(path).reveal() == vault.secret
    vault.admin.revoke("alice", "acme")
    with pytest.raises(AccessDenied):
        alice.reveal(path)
    assert [c.slug for c in alice.list_customers()] == []
    cid = _customer_id(vault, "acme")
    mine = [w for w in _wraps(vault, cid) if w[2] == "technician" and w[3] == alice.technician_id]
    assert mine == []


def test_grant_expiry_is_honoured(vault: VaultKit) -> None:
    path = vault.customer("acme")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme", until=vault.clock() + timedelta(hours=1))
    vault.clock.advance(timedelta(minutes=59))
    assert alice.reveal(path).reveal() == vault.secret
    vault.clock.advance(timedelta(minutes=1))
    with pytest.raises(AccessDenied):
        alice.reveal(path)
    assert alice.list_credentials() == []
    assert _denied_events(vault, "alice")[-1].target == path


@pytest.mark.parametrize("role", ["technician", "admin", "auditor"])
def test_every_role_is_refused_at_its_own_grant_expiry_before_any_sweep(
    vault: VaultKit, role: str
) -> None:
    """An admin or an auditor sees every customer, but reads a secret only on a live
    grant of their own: the reveal path refuses at the expiry instant, before any admin
    action has swept the lapsed grant away, and records the refusal."""
    path = vault.customer("acme")
    alice = vault.tech("alice", role=role)
    vault.admin.grant("alice", "acme", until=vault.clock() + timedelta(hours=1))
    vault.clock.advance(timedelta(minutes=59, seconds=59))
    assert alice.reveal(path, reason="before").reveal() == vault.secret
    vault.clock.advance(timedelta(seconds=1))  # now == expires_at: lapsed
    with pytest.raises(AccessDenied) as info:
        alice.reveal(path, reason="after")
    assert vault.secret not in str(info.value)
    # nothing swept: the grant row is still there and no grant-lapse event was written
    assert [a for (a,) in vault.sql("SELECT action FROM access_event")].count("grant-lapse") == 0
    assert len(vault.sql('SELECT id FROM "grant"')) == 1
    last = vault.events()[-1]
    assert (last.actor, last.action, last.outcome) == ("alice", "reveal", "denied")
    assert (last.target, last.reason) == (path, "after")
    assert [e.outcome for e in vault.events() if e.actor == "alice" and e.action == "reveal"] == [
        "ok",
        "denied",
    ]


def test_a_grant_cannot_expire_in_the_past(vault: VaultKit) -> None:
    vault.customer("acme")
    vault.tech("alice")
    with pytest.raises(UsageError):
        vault.admin.grant("alice", "acme", until=vault.clock() - timedelta(seconds=1))


def test_regranting_after_expiry_restores_access(vault: VaultKit) -> None:
    path = vault.customer("acme")
    alice = vault.tech("alice")
    vault.admin.grant("alice", "acme", until=vault.clock() + timedelta(hours=1))
    vault.clock.advance(timedelta(hours=2))
    with pytest.raises(AccessDenied):
        alice.reveal(path)
    vault.admin.grant("alice", "acme")
    assert alice.reveal(path).reveal() == vault.secret


def test_revoke_rotates_the_customer_key(vault: VaultKit) -> None:
    path = vault.customer("acme")
    alice = vault.tech("alice")
    bob = vault.tech("bob")
    vault.admin.grant("alice", "acme")
    vault.admin.grant("bob", "acme")
    cid = _customer_id(vault, "acme")
    # what alice could have kept while granted: her key pair and customer key 1
    (wrap1,) = [
        w for w in _wraps(vault, cid) if w[2] == "technician" and w[3] == alice.technician_id
    ]
    alice_key = _own_key(alice)
    customer_key_1 = KeyPair(_try_open_wrap(wrap1, alice_key))

    vault.admin.revoke("alice", "acme")
    assert vault.admin.show_customer("acme").customer.key_version == 2
    vault.admin.set_secret(path, SecretPayload({"password": "after-revoke"}))
    assert [(v.version, v.key_version) for v in vault.admin.history(path)] == [(1, 1), (2, 2)]

    v1, v2 = _ciphertexts(vault, cid)
    assert open_sealed(bytes(v1[3]), customer_key_1, _secret_context(cid, v1))  # old: yes
    with pytest.raises(IntegrityError):
        open_sealed(bytes(v2[3]), customer_key_1, _secret_context(cid, v2))
    with pytest.raises(IntegrityError):
        open_sealed(bytes(v2[3]), alice_key, _secret_context(cid, v2))
    for row in _wraps(vault, cid):
        assert not (row[2] == "technician" and row[3] == alice.technician_id)
        with pytest.raises(IntegrityError):
            _try_open_wrap(row, alice_key)
    # the remaining grantee reads both versions
    assert bob.reveal(path).reveal() == "after-revoke"
    assert bob.reveal(path, version=1).reveal() == vault.secret


def test_a_technician_added_after_rotation_reads_every_version(vault: VaultKit) -> None:
    path = vault.customer("acme", grant=("admin",))
    vault.admin.revoke("admin", "acme")
    vault.admin.set_secret(path, SecretPayload({"password": "v2"}))
    erin = vault.tech("erin", role=Role.TECHNICIAN.value)
    vault.admin.grant("erin", "acme")
    assert erin.reveal(path, version=1).reveal() == vault.secret
    assert erin.reveal(path).reveal() == "v2"

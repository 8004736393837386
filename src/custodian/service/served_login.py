"""Proving the passphrase to a server before it hands out the locked bundle.

A member's bundle is locked under their passphrase (Argon2id, then AES-256-GCM). Handing
it to anyone who names the account would let them guess the passphrase offline, at
Argon2id's cost per guess and nobody counting. So the server keeps the passphrase's
verifier, the public half of the *login key* the same Argon2id run derives
(`crypto.PassphraseKey.login_key`), and hands out the lock's header (salt, parameters:
nothing to test a guess against) with the challenge. The client derives the key once,
signs the challenge with the login key, and gets the bundle only for a valid signature;
a wrong passphrase is a failed login the server counts and throttles itself.

An account locked before the verifier existed has none (`login_key` is NULL): the server
hands its bundle out as before, and the client, once unlocked and logged in, registers
the verifier, signed with the member's own key (`register_login_key`); from then on the
proof is required. A database-mode unlock sets it too (`Custodian.unlock`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from ..crypto import PassphraseKey, verify_signature
from ..crypto.passphrase import HEADER_SIZE
from ..db.models import Technician
from ..errors import AuthenticationFailed, UsageError
from .enrolment import technician_lock_context

if TYPE_CHECKING:
    from .served import Account, Login, Served

BUNDLE_TAG = b"custodian-server-bundle-v1\x00"
VERIFIER_TAG = b"custodian-server-verifier-v1\x00"
_t = Technician.__table__  # type: ignore[attr-defined]


def bundle_message(username: str, challenge: bytes) -> bytes:
    """What the login key signs to get the bundle (never a message a member's own
    signing key signs: another tag). No vault id: the client does not know its vault
    before it opens the bundle, and the login key is already one lock's alone (its salt
    and context are in the derivation), so a proof is worth nothing anywhere else."""
    return BUNDLE_TAG + username.encode() + b"\x00" + challenge


def verifier_message(vault_id: str, username: str, login_key: bytes) -> bytes:
    """What a member's signing key signs to register their passphrase's verifier."""
    return VERIFIER_TAG + vault_id.encode() + b"\x00" + username.encode() + b"\x00" + login_key


def lock_header(account: Account) -> bytes | None:
    """The header of the account's lock, for the client to derive its key from; None
    for an account without a verifier (it gets the bundle without a proof)."""
    if account.locked is None or account.login_key is None:
        return None
    return account.locked[:HEADER_SIZE]


def check_proof(account: Account, challenge: bytes, proof: bytes | None) -> None:
    """A bundle goes only to a client that proves the passphrase (`AuthenticationFailed`
    otherwise); an account without a verifier needs no proof yet."""
    if account.login_key is None:
        return
    if proof is None:
        raise AuthenticationFailed("authentication failed: no proof of the passphrase")
    message = bundle_message(account.username, challenge)
    if not verify_signature(account.login_key, proof, message):
        raise AuthenticationFailed("authentication failed: wrong passphrase")


def passphrase_proof(
    technician_id: int,
    username: str,
    header: bytes,
    passphrase: str,
    challenge: bytes,
) -> tuple[PassphraseKey, bytes]:
    """The client's side: the key the passphrase derives for the account's lock, and the
    login key's signature of the challenge."""
    key = PassphraseKey.derive(header, passphrase)
    context = technician_lock_context(technician_id, username)
    return key, key.login_key(context).sign(bundle_message(username, challenge))


def login_public(key: PassphraseKey, technician_id: int, username: str) -> bytes:
    """The verifier a member registers (`register_login_key`)."""
    return key.login_key(technician_lock_context(technician_id, username)).public_bytes()


def register_login_key(
    served: Served, login: Login, vault_id: str, login_key: bytes, signature: bytes
) -> bool:
    """Keep the verifier a logged-in member sends, signed with their own key, for an
    account that has none; True if it was kept. An account's verifier is replaced only
    when its bundle is locked again (a passphrase change or reset)."""
    if len(login_key) != 32:
        raise UsageError("a login key is 32 bytes")
    with served.vault.db.core_transaction() as tx:
        member = served.logged_in(tx, login)
        message = verifier_message(vault_id, member.username, login_key)
        if not verify_signature(member.signing_key, signature, message):
            raise AuthenticationFailed("the verifier is not signed by this member")
        if member.login_key is not None:
            return False
        unset = (_t.c.id == member.id) & _t.c.login_key.is_(None)
        done = tx.execute(update(_t).where(unset).values(login_key=login_key))
        return bool(done.rowcount)

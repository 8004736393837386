"""A member's side of a served vault: their keys and their trust, with no I/O.

`custodian.remote` carries the requests; everything it acts on is decided here, by the
same rules a database-mode client applies (`trust.py`, `reveal.check_version`,
`keys.unwrap` then `Trust.check_customer_key`), on what the server sent. A server that
lies (another key, an older version, a log that went back, events dropped or reordered)
is refused like a database that lies: `IntegrityError`, exit 6.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .. import totp
from ..audit.append import EventDraft, SigningHead, event_digest, remember_signed
from ..clock import utcnow
from ..crypto import KeyPair, PassphraseKey, PublicKey, open_sealed, seal
from ..db.models import RecipientKind, Role
from ..errors import AccessDenied, AuthenticationFailed, IntegrityError, WrongPassphrase
from ..paths import CredentialPath
from ..records import LogVerification
from ..secret import Secret, SecretPayload
from ..storage import SecretRef
from . import inputs, keys, payloads
from .enrolment import pack_private, technician_lock_context, unpack_private
from .reveal import RevealTarget, check_version, reveal_event
from .served import CLOCK_SKEW, Probe, Refusal, RevealRequest
from .served_write import WriteRequest, WriteTarget, write_event
from .trust import Trust

AUTH_TAG = b"custodian-server-auth-v1\x00"
SERVED = "custodian serve"  # the location of every served vault's local state


def auth_message(vault_id: str, username: str, challenge: bytes) -> bytes:
    """What a member signs to log in: the server's challenge, bound to the vault and the
    account (a signature for one server or account is worth nothing at another)."""
    return AUTH_TAG + vault_id.encode() + b"\x00" + username.encode() + b"\x00" + challenge


class Member:
    """An unlocked member of a served vault. Holds their private keys; never prints them."""

    @classmethod
    def unlock(cls, technician_id: int, username: str, locked: bytes, passphrase: str) -> Member:
        """Open the member's passphrase-locked bundle, here (the passphrase goes nowhere)."""
        return cls.opened(technician_id, username, locked, PassphraseKey.derive(locked, passphrase))

    @classmethod
    def opened(cls, technician_id: int, username: str, locked: bytes, key: PassphraseKey) -> Member:
        """Open the bundle with the key the passphrase derived for its lock (the one that
        proved the passphrase to the server: `served_login.passphrase_proof`)."""
        try:
            raw = key.open(locked, technician_lock_context(technician_id, username))
        except WrongPassphrase:
            raise AuthenticationFailed(f"authentication failed for {username!r}") from None
        return cls(technician_id, username, raw)

    def __init__(self, technician_id: int, username: str, bundle: bytes) -> None:
        """A member from their opened bundle (`unlock`, or a session cache: `export`)."""
        self.key, self.signer, pin = unpack_private(bundle)
        if pin is None:
            raise AuthenticationFailed(
                "your key pins no vault root yet: unlock once against the database, or ask an"
                " admin to run `custodian db certify`"
            )
        self.technician_id, self.username = technician_id, username
        # One local state per vault, whichever address serves it: a stale instance of the
        # vault at another address is a log that went back.
        self.trust = Trust(
            pin, self.key.private_bytes() + self.signer.private_bytes(), SERVED, technician_id
        )
        self._customer_keys: dict[tuple[int, int], KeyPair] = {}
        self._signed: tuple[int, bytes, bytes] | None = None

    def __repr__(self) -> str:
        return f"Member(username={self.username!r})"

    def export(self) -> bytes:
        """The private-key bundle, for a session cache that encrypts it."""
        return pack_private(self.key, self.signer, self.trust.pin)

    @property
    def vault_id(self) -> str:
        return self.trust.require_pin().vault_id

    def sign_login(self, vault_id: str, challenge: bytes) -> bytes:
        if vault_id != self.vault_id:
            raise IntegrityError(
                "the server serves another vault than the one your key pins: refusing to log in"
            )
        return self.signer.sign(auth_message(vault_id, self.username, challenge))

    def verify_account(self) -> None:
        """After the first catch-up: this member's key must be the key directory's (an
        admin reset their passphrase, or the server names another account)."""
        self.trust.check_technician_key(self.technician_id, self.key.public_key.to_bytes())

    @property
    def role(self) -> Role:
        """This member's role as the key directory says (after a catch-up)."""
        role = self.trust.role_of(self.technician_id)
        if role is None:
            raise AuthenticationFailed(f"the account {self.username!r} is disabled")
        return Role(role)

    def catch_up(self, events: list[Any], head: tuple[int, bytes] | None) -> None:
        """Verify and apply the log the server sent (from `Trust.start()`)."""
        self.trust.discard()
        self.trust.catch_up(events, head, _as_is)

    def sign_reveal(
        self,
        request: RevealRequest,
        target: RevealTarget,
        head: SigningHead,
        at: datetime,
        *,
        metadata: bool = False,
    ) -> bytes:
        """Check what the server found against the verified log, then sign the reveal's
        event after `head` (which must be the head this client verified). `metadata`: the
        server reads a non-secret field (`get --field username`), which it holds in clear:
        nothing of it to verify but the customer and the credential."""
        self._check_head(head)
        self._check_time(at)
        cp, reason, path = request.checked()
        if metadata and not request.metadata:
            raise IntegrityError("the server answers a secret field as a non-secret one")
        self._check_target(cp, target, None if metadata else request.version, metadata)
        field = request.field if metadata else None
        draft = reveal_event(
            self.username, self.technician_id, target, path, reason, field, request.action
        )
        digest = event_digest(draft, at, head)
        signature = self.signer.sign(digest)
        self._signed = (head.seq + 1, digest, signature)
        return signature

    def sign_event(self, draft: EventDraft, head: SigningHead, at: datetime) -> bytes:
        """Sign an event whose content the server holds in clear (`system add`): only the
        head it follows and its time are this client's to verify."""
        self._check_head(head)
        self._check_time(at)
        digest = event_digest(draft, at, head)
        signature = self.signer.sign(digest)
        self._signed = (head.seq + 1, digest, signature)
        return signature

    def verify_log(
        self, pages: Iterable[list[Any]], head: Callable[[], tuple[int, bytes]]
    ) -> LogVerification:
        """Replay the whole log from the root this member's key pins, afresh (nothing of
        the local state is trusted), one event at a time so that the first bad one is
        named: every hash link, every signature by the key the directory gives its actor,
        every key-directory change. `head()`: the log head the server stated last."""
        started = time.perf_counter()
        trust = Trust(self.trust.pin, b"", "", self.technician_id, keep=False)
        checked, previous, seq = 0, None, 0
        try:
            for page in pages:
                for row in page:
                    seq = row[0]
                    if previous is not None and seq <= previous[0]:
                        continue  # a page starts with the last event of the one before
                    trust.catch_up([row] if previous is None else [previous, row], None, _as_is)
                    previous, checked = row, checked + 1
            stated = head()
            if trust.head is None or trust.head[:2] != stated:
                seq = stated[0]
                raise IntegrityError("the log head does not match the last event")
        except IntegrityError as exc:
            return _verification(False, checked, trust, seq, str(exc), started)
        return _verification(True, checked, trust, None, None, started)

    def appended(self) -> None:
        """The server appended the event this member signed last: catching up need not
        hash it again (`trust_log.replay`'s own-event path; `log verify` checks it)."""
        if self._signed is not None:
            remember_signed(self.signer.public_bytes(), *self._signed)
            self._signed = None

    def sign_refusal(
        self, probe: Probe, refusal: Refusal, head: SigningHead, at: datetime
    ) -> bytes:
        """Sign the access event of a refused request (the server records it, as a
        database-mode client records its own refusals); `probe` is what this client
        asked, from its own request."""
        self._check_head(head)
        self._check_time(at)
        draft = refusal.event(self.username, self.technician_id, probe)
        return self.signer.sign(event_digest(draft, at, head))

    def seal_write(
        self,
        request: WriteRequest,
        payload: SecretPayload,
        *,
        keep_other_fields: bool,
        target: WriteTarget,
        head: SigningHead,
        at: datetime,
    ) -> tuple[int, list[str], bytes, bytes]:
        """Check what the server found for a write against the verified log, seal the
        payload to the directory's customer key and sign the write's event. Returns the
        new version, its fields, the sealed payload and the signature."""
        self._check_head(head)
        self._check_time(at)
        path = request.path
        cp = CredentialPath.parse(path)
        if target.slug != cp.customer:
            raise IntegrityError("the server answered for another customer than asked")
        logged = self.trust.current_version(target.credential_id, seen=target.current_version)
        if target.current_version != logged:
            raise IntegrityError(
                f"{path!r} is at version {target.current_version} on the server but"
                f" {logged} in the access log: the database was changed"
            )
        held = self.trust.view().creds.get(target.credential_id)
        if held is not None and held[0] != target.customer_id:
            raise IntegrityError("the credential is another customer's in the key directory")
        if request.action == "cred-add" and held is not None:
            raise IntegrityError("the server adds the credential as one the log already holds")
        if held is not None:
            self.trust.check_path(target.credential_id, str(cp))
        newest = self.trust.newest_customer_key(target.customer_id, seen=target.key_version)
        if target.key_version != newest:
            raise IntegrityError("the server names a customer key that is not the newest")
        self.trust.check_customer_key(target.customer_id, newest, target.public_key)
        missing = set(target.current_fields) - set(payload)
        if keep_other_fields and missing:
            payload = self._kept(path, target, missing).merged(payload)
        payload = inputs.check_payload(payload, target.field_limit)
        version = self.trust.next_version(target.credential_id)
        ref = SecretRef(target.customer_id, target.slug, target.credential_id, version, newest)
        sealed = seal(payload.to_bytes(), PublicKey(target.public_key), ref.context())
        fields = sorted(payload)
        draft = write_event(request, self.username, self.technician_id, target, version, fields)
        digest = event_digest(draft, at, head)
        signature = self.signer.sign(digest)
        self._signed = (head.seq + 1, digest, signature)
        return version, fields, sealed, signature

    def _kept(self, path: str, target: WriteTarget, missing: set[str]) -> SecretPayload:
        """The fields of the current version a write keeps (the member must read it)."""
        if target.current is None:
            raise AccessDenied(
                f"keeping the fields {', '.join(sorted(missing))} of {path!r} needs a"
                " grant to read them; give every field, or replace them (--replace)"
            )
        key_version, sealed, wrapped = target.current
        current = RevealTarget(
            target.customer_id,
            target.slug,
            target.credential_id,
            target.current_version,
            key_version,
            None,
            wrapped,
        )
        check_version(self.trust, target.credential_id, target.current_version, path, current=True)
        key = self._customer_key(current)
        ref = SecretRef(
            target.customer_id,
            target.slug,
            target.credential_id,
            target.current_version,
            key_version,
        )
        old = payloads.decode(open_sealed(sealed, key, ref.context()))
        return SecretPayload({k: v for k, v in old.items() if k in missing})

    def open(self, target: RevealTarget, sealed: bytes, field: str, at: datetime) -> Secret:
        """The field from the sealed payload the server returned for `target`."""
        key = self._customer_key(target)
        ref = SecretRef(
            target.customer_id,
            target.slug,
            target.credential_id,
            target.version,
            target.key_version,
            target.kv_version,
        )
        payload = payloads.decode(open_sealed(sealed, key, ref.context()))
        return totp.derive(field, payload[totp.stored_field(field)], at)

    @staticmethod
    def _check_time(at: datetime) -> None:
        """An event's time, as the server names it, must be this machine's too (within
        the skew the server allows): a client signs no back- or forward-dated event."""
        if abs(at - utcnow()) > CLOCK_SKEW:
            raise IntegrityError(
                f"the server dates the event {at.isoformat()}, far from this machine's clock"
            )

    def _check_head(self, head: SigningHead) -> None:
        if self.trust.head is None or (head.seq, head.hash, head.signature) != self.trust.head:
            raise IntegrityError("the server's log head is not the one its events lead to")

    def _check_target(
        self, cp: CredentialPath, target: RevealTarget, version: int | None, metadata: bool = False
    ) -> None:
        if target.slug != cp.customer:
            raise IntegrityError("the server answered for another customer than asked")
        held = self.trust.view().creds.get(target.credential_id)
        if held is None or held[0] != target.customer_id:
            raise IntegrityError(
                f"credential #{target.credential_id} is not the customer's in the key directory"
            )
        self.trust.check_path(target.credential_id, str(cp))
        if metadata:
            return
        check_version(
            self.trust, target.credential_id, target.version, str(cp), current=not version
        )
        if target.key_version > self.trust.newest_customer_key(target.customer_id):
            raise IntegrityError("the server names a customer key the key directory lacks")

    def _customer_key(self, target: RevealTarget) -> KeyPair:
        slot = (target.customer_id, target.key_version)
        ckey = self._customer_keys.get(slot)
        if ckey is None:
            if target.wrapped is None:
                raise IntegrityError("the server sent no key wrap")
            ckey = keys.unwrap(
                target.wrapped,
                target.customer_id,
                target.key_version,
                RecipientKind.TECHNICIAN,
                self.technician_id,
                self.key,
            )
            self.trust.check_customer_key(
                target.customer_id, target.key_version, ckey.public_key.to_bytes()
            )
            self._customer_keys[slot] = ckey
        return ckey


def _as_is(at: datetime) -> datetime:
    return at


def _verification(
    ok: bool, checked: int, trust: Trust, bad: int | None, problem: str | None, started: float
) -> LogVerification:
    head = trust.head
    return LogVerification(
        ok,
        checked,
        head[0] if head else 0,
        head[1].hex() if head else "",
        bad,
        problem,
        0,
        (),
        time.perf_counter() - started,
        every_signature=True,
    )

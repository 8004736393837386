"""Sessions through a server: log in with the member's own key, then act.

The passphrase never leaves this process: the server hands out the member's
passphrase-locked bundle, which only the passphrase opens (`service.Member`), and
accepts a login signed with the key inside it. Everything the server answers is
verified by `Member` against the log since the root the bundle pins.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from .. import Role, wire
from ..crypto import PassphraseKey
from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    Conflict,
    CustodianError,
    IntegrityError,
    NotFound,
)
from ..records import CredentialInfo, CustomerInfo, Identity
from ..secret import PRIMARY_FIELD, Secret
from ..service import (
    Member,
    Probe,
    RevealRequest,
    SigningHead,
    VerifiedLog,
    list_probe,
    login_public,
    passphrase_proof,
    verifier_message,
)
from . import credentials, review, verify, writes
from .transport import Transport
from .writes import PREPARE_TRIES


class RemoteVault:
    """A vault behind `custodian serve` at `url`."""

    def __init__(self, url: str, *, ca_file: str | None = None) -> None:
        self.transport = Transport(url, ca_file=ca_file)
        self.url = self.transport.url

    def __repr__(self) -> str:
        return f"RemoteVault({self.url!r})"

    def close(self) -> None:
        self.transport.close()

    def unlock(
        self, username: str, passphrase: str, *, starts_session: bool = False
    ) -> RemoteSession:
        """Open `username`'s keys with their passphrase, here, and log in with them: the
        passphrase derives the lock's key once; its login key proves the passphrase to
        the server, which then hands out the bundle that key opens (served_login.py).

        `starts_session` is accepted as `Custodian.unlock` accepts it (the TUI's unlock
        screen, `custodian unlock`), but records nothing: through a server a session
        starts with its login, which the server throttles and writes to its request log;
        what the member then does is in the access log, signed by them."""
        del starts_session
        asked = self.transport.call("POST", "/login/challenge", body={"user": username})
        if asked.get("lock") is None:
            return self._unlock_unverified(username, passphrase)
        technician_id = wire.int_of(asked.get("technician_id"), "account")
        challenge = wire.bytes_of(asked.get("challenge"), "challenge")
        key, proof = passphrase_proof(
            technician_id,
            username,
            wire.bytes_of(asked.get("lock"), "lock"),
            passphrase,
            challenge,
        )
        body = {"user": username, "challenge": challenge.hex(), "proof": proof.hex()}
        found = self.transport.call("POST", "/login/key", body=body)
        if found.get("technician_id") != technician_id:
            raise IntegrityError("the server handed out another account's keys")
        locked = wire.bytes_of(found.get("locked"), "key bundle")
        session = RemoteSession(self.transport, Member.opened(technician_id, username, locked, key))
        session.login()
        return session

    def _unlock_unverified(self, username: str, passphrase: str) -> RemoteSession:
        """An account locked before the server kept a verifier: the bundle comes without
        a proof; once unlocked, the client registers the verifier (and the server then
        asks for the proof)."""
        found = self.transport.call("POST", "/login/key", body={"user": username})
        technician_id = wire.int_of(found.get("technician_id"), "account")
        locked = wire.bytes_of(found.get("locked"), "key bundle")
        try:
            key = PassphraseKey.derive(locked, passphrase)
            member = Member.opened(technician_id, username, locked, key)
        except AuthenticationFailed:  # counted and logged by the server, as on a database
            with contextlib.suppress(CustodianError):
                self.transport.call("POST", "/login/failed", body={"user": username})
            raise
        session = RemoteSession(self.transport, member)
        session.login()
        public = login_public(key, technician_id, username)
        vault_id = member.trust.require_pin().vault_id
        signature = member.signer.sign(verifier_message(vault_id, username, public))
        with contextlib.suppress(CustodianError):  # the next login registers it, then
            session.call(
                "POST",
                "/login/verifier",
                body={"login_key": public.hex(), "signature": signature.hex()},
            )
        return session

    def resume(self, username: str, bundle: bytes) -> RemoteSession:
        """A session from a cached bundle (`RemoteSession.export`); logs in again."""
        if len(bundle) < 8:
            raise AuthenticationFailed("the cached session is malformed: unlock again")
        member = Member(int.from_bytes(bundle[:8], "big"), username, bundle[8:])
        session = RemoteSession(self.transport, member)
        session.login()
        return session


class RemoteSession:
    """An unlocked member acting through the server (what `ActorSession` is on a database)."""

    review_log: VerifiedLog | None = None  # the log checked by the last review (review.py)

    def __init__(self, transport: Transport, member: Member) -> None:
        self._transport, self.member = transport, member
        self._token: str | None = None
        self.username, self.technician_id = member.username, member.technician_id

    def __repr__(self) -> str:
        return f"RemoteSession(username={self.username!r})"

    def export(self) -> bytes:
        """The member's id and private-key bundle, for a session cache that encrypts it."""
        return self.technician_id.to_bytes(8, "big") + self.member.export()

    def login(self) -> None:
        m = self.member
        asked = self._transport.call("POST", "/login/challenge", body={"user": m.username})
        challenge = wire.bytes_of(asked.get("challenge"), "challenge")
        signature = m.sign_login(str(asked.get("vault_id")), challenge)
        answer = self._transport.call(
            "POST",
            "/login",
            body={"user": m.username, "challenge": challenge.hex(), "signature": signature.hex()},
        )
        token = answer.get("token")
        if not isinstance(token, str):
            raise IntegrityError("the server's login answer holds no token")
        self._token = token
        self.sync()
        self.member.verify_account()

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return self._transport.call(method, path, token=self._token, **kwargs)
        except AuthenticationFailed:  # the token expired: log in once more
            self.login()
            return self._transport.call(method, path, token=self._token, **kwargs)

    @property
    def role(self) -> Role:
        return self.member.role

    def whoami(self) -> Identity:
        """This member as the key directory has them (caught up first), and their root."""
        self.sync()
        head = self.member.trust.head
        return Identity(
            self.username,
            self.role.value,
            self.member.trust.require_pin().fingerprint(),
            head[0] if head else 0,
        )

    def sync(self) -> None:
        """Catch up with the server's log, verifying every event (`Trust`)."""
        while True:
            start = self.member.trust.start()
            answer = self.call("GET", "/log", params={"from": start})
            events = [wire.event_in(e) for e in wire.list_of(answer.get("events"))]
            head = answer.get("head")
            if not isinstance(head, dict):
                raise IntegrityError("the server's log answer holds no head")
            head_seq = wire.int_of(head.get("seq"), "log head")
            last = events[-1][0] if events else start
            if last <= start < head_seq:
                raise IntegrityError("the server's log page holds nothing after this client's head")
            if last >= head_seq:
                self.member.catch_up(
                    events, (head_seq, wire.bytes_of(head.get("hash"), "log head"))
                )
                return
            self.member.catch_up(events, None)  # a page: more follow

    def caught_up(self, prepared: dict[str, Any]) -> tuple[SigningHead, datetime]:
        """A prepare's answer: verify the log it carries up to the head to sign after
        (`Member.catch_up`); that head and the event's time."""
        head = wire.head_in(prepared.get("head"))
        events = [wire.event_in(e) for e in wire.list_of(prepared.get("events"))]
        self.member.catch_up(events, (head.seq, head.hash))
        return head, wire.time_of(prepared.get("at"))

    def reveal(
        self,
        path: str,
        *,
        field: str = PRIMARY_FIELD,
        reason: str | None = None,
        version: int | None = None,
        action: str = "reveal",
    ) -> Secret:
        """One field of one credential: the server appends the event this client signs,
        then returns the sealed version, which only this member's keys open. `action`:
        "reveal", or "copy" (the TUI's copy, an access event of its own)."""
        request = RevealRequest(path, field, reason, version, action)
        asked = {"path": path, "field": field, "reason": reason, "version": version}
        if action != "reveal":
            asked["action"] = action
        for _ in range(PREPARE_TRIES):
            m = self.member
            prepared = self.call("POST", "/reveal/prepare", body={**asked, "from": m.trust.start()})
            try:
                head, at = self.caught_up(prepared)
                if "refused" in prepared:
                    self.record_refusal("/reveal/refused", asked, request.probe(), prepared)
                    continue
                target = wire.target_in(prepared.get("target"))
                metadata = prepared.get("metadata") is True
                signature = m.sign_reveal(request, target, head, at, metadata=metadata)
            except BaseException:  # refused to sign: the slot is free for others at once
                self.release(prepared.get("lease"))
                raise
            try:
                sealed = self.call(
                    "POST",
                    "/reveal",
                    body={
                        **asked,
                        "lease": prepared.get("lease"),
                        "at": at.isoformat(),
                        "head": wire.head_out(head),
                        "signature": signature.hex(),
                    },
                )
            except Conflict:
                continue  # another event came first: sign after it
            if wire.target_in(sealed.get("target")) != target:
                raise IntegrityError("the server returned another version than it prepared")
            m.appended()
            if metadata:
                value = sealed.get("value")
                if not isinstance(value, str):
                    raise IntegrityError("the server sent no value for a non-secret field")
                return Secret(value)
            return m.open(target, wire.bytes_of(sealed.get("sealed"), "payload"), field, at)
        raise Conflict("the access log kept moving on: try again")

    # --- the verification (verify.py), reviews (review.py) and writes (writes.py) -----

    verify_log = verify.verify_log

    events = review.events
    iter_events = review.iter_events
    last_seq = review.last_seq
    report = review.report
    alerts = review.alerts

    set_secret = writes.set_secret
    add_credential = writes.add_credential
    add_system = writes.add_system

    history = credentials.history
    show_credential = credentials.show_credential
    edit = credentials.edit
    delete = credentials.delete

    def list_customers(self) -> list[CustomerInfo]:
        answer = self.call("GET", "/customers")
        return [wire.customer_in(c) for c in wire.list_of(answer.get("customers"))]

    def list_credentials(
        self, slug: str | None = None, *, retired: str = "hide"
    ) -> list[CredentialInfo]:
        """Credentials this member may see (metadata only), or one customer's: page after
        page (`next`), each a JSON answer of at most `PAGE_SIZE`. Retired ones only as
        `retired` asks (RETIRED_FILTERS; the server's default leaves them out)."""
        found: list[CredentialInfo] = []
        after: str | None = None
        tries = 0
        while True:
            start = self.member.trust.start()
            body = {"customer": slug, "from": start, "after": after}
            if retired != "hide":
                body["retired"] = retired
            answer = self.call("POST", "/credentials", body=body)
            if "refused" in answer:
                tries += 1
                if slug is None or tries > PREPARE_TRIES:
                    raise Conflict("the access log kept moving on: try again")
                self._sign_list_refusal(slug, answer)
                continue  # the log moved on first: ask again
            found += [wire.credential_in(c) for c in wire.list_of(answer.get("credentials"))]
            after = answer.get("next")
            if after is None:
                return found
            if not isinstance(after, str) or not found or after != found[-1].path:
                raise IntegrityError("the server sent a malformed page of credentials")

    def _sign_list_refusal(self, slug: str, answer: dict[str, Any]) -> None:
        try:
            self.caught_up(answer)
            self.record_refusal(
                "/credentials/refused", {"customer": slug}, list_probe(slug), answer
            )
        except BaseException:
            self.release(answer.get("lease"))
            raise

    def record_refusal(
        self, endpoint: str, asked: dict[str, Any], probe: Probe, prepared: dict[str, Any]
    ) -> None:
        """The server refused (the log since this client's head was caught up with): sign
        the refusal's access event and have the server record it, then raise the refusal.
        Returns only when the log moved on first: the caller asks again."""
        refusal = wire.refusal_in(prepared.get("refused"))
        head, at = wire.head_in(prepared.get("head")), wire.time_of(prepared.get("at"))
        signature = self.member.sign_refusal(probe, refusal, head, at)
        body = {
            **asked,
            "lease": prepared.get("lease"),
            "at": at.isoformat(),
            "head": wire.head_out(head),
            "signature": signature.hex(),
        }
        try:
            self.call("POST", endpoint, body=body)
        except Conflict:
            return
        except (AccessDenied, NotFound):
            pass  # the server answers with the refusal it recorded
        raise refusal.error

    def release(self, lease: object) -> None:
        if isinstance(lease, str):
            with contextlib.suppress(CustodianError):
                self.call("POST", "/lease/release", body={"lease": lease})

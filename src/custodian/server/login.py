"""Logging in: the locked key bundle, a challenge, a token for a signed challenge
(docs/server.md, "Logging in without sending the passphrase")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import wire
from ..crypto import decoy_header
from ..errors import AuthenticationFailed, CustodianError
from ..service import auth_message, check_proof, lock_header, register_login_key
from .base import Routes
from .http import addr, call, text, who


class LoginRoutes(Routes):
    async def login_key(self, request: Request) -> Response:
        """The member's passphrase-locked key bundle (their client opens it), for a proof
        of the passphrase: the challenge signed with the login key it derives
        (service/served_login.py). A wrong proof is a failed login, counted here."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            try:
                account = self.served.find_member(username)
                if account.locked is None:
                    raise AuthenticationFailed("authentication failed")
                if account.login_key is not None:
                    challenge = wire.bytes_of(body.get("challenge"), "challenge")
                    self.tokens.check_challenge(username, challenge)
                    proof = body.get("proof")
                    proven = wire.bytes_of(proof, "proof") if proof is not None else None
                    check_proof(account, challenge, proven)
            except CustodianError as exc:
                self._failed(request, username, exc)
                raise AuthenticationFailed("authentication failed") from None
            return {"technician_id": account.id, "locked": account.locked.hex()}

        return await call(request, run)

    async def login_challenge(self, request: Request) -> Response:
        """A challenge, and the header of the account's lock to prove the passphrase
        from; an unknown account gets a header and an id derived from the name (the
        same every time), so that the answer names no account."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            answer = {"challenge": self.tokens.challenge(username).hex(), "vault_id": self.vault_id}
            try:
                account = self.served.find_member(username)
            except AuthenticationFailed:
                seed = self.tokens.decoy(username)
                decoy = decoy_header(self.served.vault.vault_kdf(), seed)
                decoy_id = 1 + int.from_bytes(seed[28:30]) % 1000
                return {**answer, "technician_id": decoy_id, "lock": decoy.hex()}
            header = lock_header(account)
            if header is None:  # no verifier yet: the bundle goes out without a proof
                return answer
            return {**answer, "technician_id": account.id, "lock": header.hex()}

        return await call(request, run)

    async def login_verifier(self, request: Request) -> Response:
        """A logged-in member's passphrase verifier, kept if the account has none."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            login = self.login_of(request)
            kept = register_login_key(
                self.served,
                login,
                self.vault_id,
                wire.bytes_of(body.get("login_key"), "login key"),
                wire.bytes_of(body.get("signature"), "signature"),
            )
            return {"kept": kept}

        return await call(request, run)

    async def login(self, request: Request) -> Response:
        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            try:
                challenge = wire.bytes_of(body.get("challenge"), "challenge")
                signature = wire.bytes_of(body.get("signature"), "signature")
                self.tokens.check_challenge(username, challenge)
                account = self.served.find_member(username)
                message = auth_message(self.vault_id, username, challenge)
                if not self.served.verify_login(account, message, signature):
                    raise AuthenticationFailed("authentication failed")
            except CustodianError as exc:
                self._failed(request, username, exc)
                raise AuthenticationFailed("authentication failed") from None
            self.throttle.succeeded(who(request, username))
            token, ttl = self.tokens.issue(account.id, account.signing_key)
            return {"token": token, "expires_in": ttl, "technician_id": account.id}

        return await call(request, run)

    async def login_failed(self, request: Request) -> Response:
        """A client's report that the passphrase did not open the bundle: counted for the
        address and the account, and logged as a failed unlock (an honest client's, as a
        database-mode client counts its own attempts)."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            username = text(body, "user")
            self._throttled(request, username)
            self._failed(request, username, AuthenticationFailed("wrong passphrase"))
            return {}

        return await call(request, run)

    def _throttled(self, request: Request, username: str) -> None:
        wait = max(self.throttle.wait(who(request, username)), self.throttle.wait(addr(request)))
        if wait > 0:
            raise AuthenticationFailed(f"too many failed logins: try again in {wait:.0f} s")

    def _failed(self, request: Request, username: str, exc: CustodianError) -> None:
        self.throttle.failed(who(request, username))
        self.throttle.failed(addr(request))
        found = self.served.member_id(username)
        self.served.record_failed_login(username, found, f"server login: {exc}"[:200])

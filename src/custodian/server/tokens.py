"""Login challenges and session tokens, kept by nobody: each is MACed with the server's
secret, so any instance that holds the same secret (`--secret-file`) accepts them.

    challenge  = issued (8) | random (16) | HMAC(secret, "challenge" | ... | username)
    token      = member id (8) | key tag (8) | expires (8) | HMAC(secret, "token" | ...)

The key tag (`service.key_tag`) is the first 8 bytes of SHA-256 of the member's Ed25519
key: a token ends when the member's keys are replaced. Comparisons are constant-time
(`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass

from ..errors import AuthenticationFailed
from ..service import key_tag

CHALLENGE_TTL = 60  # seconds a login challenge may be answered in
TOKEN_TTL = 15 * 60  # seconds a session token lasts; the client logs in again after
_HEAD = struct.Struct(">QQQ")


@dataclass(frozen=True)
class Session:
    member: int
    key_tag: bytes
    expires: int


class Tokens:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the server secret must be at least 32 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "Tokens(...)"

    def _mac(self, kind: bytes, *parts: bytes) -> bytes:
        return hmac.new(self._secret, kind + b"\x00" + b"\x00".join(parts), hashlib.sha256).digest()

    def challenge(self, username: str) -> bytes:
        head = struct.pack(">Q", int(time.time())) + os.urandom(16)
        return head + self._mac(b"challenge", head, username.encode())

    def check_challenge(self, username: str, challenge: bytes) -> None:
        if len(challenge) != 56:
            raise AuthenticationFailed("authentication failed: a malformed challenge")
        head, mac = challenge[:24], challenge[24:]
        if not hmac.compare_digest(mac, self._mac(b"challenge", head, username.encode())):
            raise AuthenticationFailed("authentication failed: not this server's challenge")
        (issued,) = struct.unpack(">Q", head[:8])
        if not 0 <= time.time() - issued <= CHALLENGE_TTL:
            raise AuthenticationFailed("authentication failed: the challenge expired")

    def decoy(self, username: str) -> bytes:
        """32 bytes this server always derives for `username` (a lock header and an id
        for an account that does not exist: the same answer every time)."""
        return self._mac(b"decoy", username.encode())

    def issue(self, member: int, signing_key: bytes) -> tuple[str, int]:
        """A token for `member`, and how many seconds it lasts."""
        head = _HEAD.pack(member, 0, int(time.time()) + TOKEN_TTL)
        head = head[:8] + key_tag(signing_key) + head[16:]
        token = head + self._mac(b"token", head)
        return base64.urlsafe_b64encode(token).decode().rstrip("="), TOKEN_TTL

    def check(self, token: str) -> Session:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise AuthenticationFailed("the session token is malformed: log in again") from None
        if len(raw) != 56 or not hmac.compare_digest(raw[24:], self._mac(b"token", raw[:24])):
            raise AuthenticationFailed("the session token is not valid: log in again")
        member, _, expires = _HEAD.unpack(raw[:24])
        if expires < time.time():
            raise AuthenticationFailed("the session token expired: log in again")
        return Session(member, raw[8:16], expires)

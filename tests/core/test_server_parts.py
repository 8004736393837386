"""The server's small parts on their own: tokens, the login throttle, the signing slot,
the wire format and the server address rule (the whole server: tests/server)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from custodian import wire
from custodian.errors import (
    AccessDenied,
    AuthenticationFailed,
    IntegrityError,
    NotFound,
    RateLimited,
)
from custodian.location import server_url
from custodian.server.slot import SigningSlot
from custodian.server.throttle import FREE_FAILURES, RateLimit, Throttle
from custodian.server.tokens import Tokens
from custodian.service import key_tag

SECRET = b"s" * 32
KEY = b"k" * 32


def test_a_token_names_its_member_and_key_and_nothing_else_passes() -> None:
    tokens = Tokens(SECRET)
    token, ttl = tokens.issue(7, KEY)
    session = tokens.check(token)
    assert (session.member, session.key_tag) == (7, key_tag(KEY))
    assert ttl > 0
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[7] ^= 1  # another member id under the same MAC
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(AuthenticationFailed, match="not valid"):
        tokens.check(forged)
    with pytest.raises(AuthenticationFailed, match="not valid"):
        Tokens(b"t" * 32).check(token)  # another server's secret
    with pytest.raises(AuthenticationFailed, match=r"malformed|not valid"):
        tokens.check("!!!")


def test_a_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = Tokens(SECRET)
    token, ttl = tokens.issue(1, KEY)
    later = time.time() + ttl + 1
    monkeypatch.setattr("custodian.server.tokens.time.time", lambda: later)
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.check(token)


def test_a_challenge_is_bound_to_its_user_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = Tokens(SECRET)
    challenge = tokens.challenge("ben")
    tokens.check_challenge("ben", challenge)
    with pytest.raises(AuthenticationFailed):
        tokens.check_challenge("ada", challenge)
    with pytest.raises(AuthenticationFailed):
        tokens.check_challenge("ben", challenge[:-1] + bytes([challenge[-1] ^ 1]))
    later = time.time() + 61
    monkeypatch.setattr("custodian.server.tokens.time.time", lambda: later)
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.check_challenge("ben", challenge)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Tokens(b"short")


def test_failed_logins_wait_longer_and_longer_then_a_success_clears_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("custodian.server.throttle.time.monotonic", lambda: now[0])
    throttle = Throttle()
    for _ in range(FREE_FAILURES):
        assert throttle.wait("ip") == 0
        throttle.failed("ip")
    assert throttle.wait("ip") == pytest.approx(1.0)
    throttle.failed("ip")
    assert throttle.wait("ip") == pytest.approx(2.0)
    assert throttle.wait("other") == 0
    now[0] += 2.0
    assert throttle.wait("ip") == 0
    throttle.succeeded("ip")
    throttle.failed("ip")
    assert throttle.wait("ip") == 0


def test_the_signing_slot_has_one_holder_until_it_is_released_or_its_lease_ends() -> None:
    slot = SigningSlot(lease=0.2)
    first = slot.acquire()
    assert first is not None and slot.holds(first)
    assert slot.acquire(wait=0.05) is None  # taken
    slot.release("not-the-lease")
    assert slot.holds(first)
    slot.release(first)
    second = slot.acquire(wait=0.05)
    assert second is not None and second != first and not slot.holds(first)
    third = slot.acquire(wait=1.0)  # the second never commits: its lease ends
    assert third is not None and not slot.holds(second)


def _event(seq: int = 2) -> tuple[object, ...]:
    at = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC)
    return (
        seq,
        at,
        1,
        "ada",
        "grant",
        "ok",
        3,
        "ben@acme",
        None,
        None,
        '{"a":1}',
        b"p",
        b"h",
        b"s",
    )


def test_an_event_travels_unchanged() -> None:
    row = _event()
    assert wire.event_in(wire.event_out(row)) == row


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: e[:-1],  # a column missing
        lambda e: [*e[:1], "yesterday", *e[2:]],  # not a time
        lambda e: [*e[:1], "2026-12-06T12:00:00", *e[2:]],  # a time without its offset
        lambda e: [*e[:11], "zz", *e[12:]],  # not hex
        lambda e: [*e[:2], [1], *e[3:]],  # a list where a value goes
        lambda e: ["2", *e[1:]],  # a sequence as text
    ],
)
def test_a_malformed_event_is_an_integrity_failure(damage: object) -> None:
    sent = wire.event_out(_event())
    with pytest.raises(IntegrityError):
        wire.event_in(damage(sent))  # type: ignore[operator]


def test_errors_travel_as_their_class_and_message() -> None:
    body = wire.error_body(AccessDenied("no access to customer 'initech'"))
    assert wire.status_of(AccessDenied("x")) == 403
    error = wire.error_from(body, 403)
    assert type(error) is AccessDenied and str(error) == "no access to customer 'initech'"
    assert type(wire.error_from({"error": {"type": "NotFound", "message": "m"}}, 404)) is NotFound
    assert type(wire.error_from({"error": {"type": "SystemExit", "message": "m"}}, 500)) is (
        IntegrityError
    )
    assert type(wire.error_from("<html>", 502)) is IntegrityError


def test_a_refusal_must_be_a_refusal() -> None:
    body = {**wire.error_body(AuthenticationFailed("x")), "customer_id": 1}
    with pytest.raises(IntegrityError):
        wire.refusal_in(body)
    refusal = wire.refusal_in({**wire.error_body(NotFound("gone")), "customer_id": 4})
    assert type(refusal.error) is NotFound and refusal.fields["customer_id"] == 4


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://vault.msp.example", True),
        ("https://vault.msp.example:8443/", True),
        ("http://127.0.0.1:8443", True),
        ("http://[::1]:8443", True),
        ("http://localhost:8443", True),
        ("http://vault.msp.example", False),
        ("http://192.0.2.1:8443", False),
        ("ftp://vault.msp.example", False),
        ("vault.msp.example", False),
    ],
)
def test_plain_http_goes_to_this_machine_only(url: str, ok: bool) -> None:
    if ok:
        assert server_url(url) == url.rstrip("/")
    else:
        with pytest.raises(ValueError):
            server_url(url)


def test_a_member_who_sends_too_much_is_slowed_down(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [50.0]
    monkeypatch.setattr("custodian.server.throttle.time.monotonic", lambda: now[0])
    limit = RateLimit(rate=10.0, burst=3.0)
    assert [limit.allow(1) for _ in range(4)] == [True, True, True, False]
    assert limit.allow(2)  # another member has their own bucket
    now[0] += 0.1  # one request's worth refilled
    assert limit.allow(1) and not limit.allow(1)
    assert wire.status_of(RateLimited("x")) == 429
    assert type(wire.error_from(wire.error_body(RateLimited("slow")), 429)) is RateLimited

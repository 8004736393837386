"""The server's API spoken raw: logins and their throttle, bearer tokens, request limits,
errors as JSON, and the OpenAPI document against the routes the app serves."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from custodian.server.app import create_app
from custodian.server.http import MAX_BODY
from custodian.server.throttle import FREE_FAILURES
from custodian.server.tokens import Tokens
from custodian.service import Custodian, Member, Served
from tests.cli.clikit import ADMIN, TECH_PASS, Cli
from tests.server.serverkit import Served as Server
from tests.server.serverkit import challenge, http_client, login, start_server, unlock_member


@pytest.fixture(scope="module")
def http(sqlite_served: Server) -> Iterator[httpx.Client]:
    with http_client(sqlite_served.url) as client:
        yield client


@pytest.fixture(scope="module")
def ben(http: httpx.Client) -> Member:
    return unlock_member(http, "ben", TECH_PASS)


def assert_error(answer: httpx.Response, status: int, kind: str, says: str) -> None:
    """A documented error: JSON {"error": {"type", "exit", "message"}}."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["type"] == kind
    assert isinstance(error["exit"], int)
    assert says in error["message"], error


def test_a_member_logs_in_with_a_signed_challenge(http: httpx.Client, ben: Member) -> None:
    answer = login(http, ben)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    log = http.get("/v1/log", params={"from": 1}, headers={"authorization": f"Bearer {token}"})
    assert log.status_code == 200 and log.json()["events"]


def test_a_failed_login_is_logged_as_a_failed_unlock(
    sqlite_served: Server, http: httpx.Client, ben: Member
) -> None:
    assert_error(login(http, ben, sign_another=True), 401, "AuthenticationFailed", "failed")
    (last,) = sqlite_served.cli.sql(
        "SELECT actor, action, outcome, signature FROM access_event ORDER BY seq DESC LIMIT 1"
    )
    assert last == ("ben", "unlock", "failed", None)
    sqlite_served.cli.run("log", "verify", user=ADMIN)  # an unsigned failed unlock is allowed


def failed_logins(http: httpx.Client, user: str, count: int) -> None:
    """`count` logins with a bad signature that the server checks and counts (an attempt
    it refuses as throttled is not counted: wait and try again)."""
    failed = 0
    while failed < count:
        asked = http.post("/v1/login/challenge", json={"user": user})
        if asked.status_code == 401 and "too many" in asked.text:
            time.sleep(0.2)
            continue
        body = {"user": user, "challenge": asked.json()["challenge"], "signature": "00" * 64}
        assert_error(http.post("/v1/login", json=body), 401, "AuthenticationFailed", "failed")
        failed += 1


def test_failed_logins_from_one_address_are_throttled(cli: Cli, tmp_path: Path) -> None:
    """After FREE_FAILURES failures each one more doubles the wait (1 s, 2 s, 4 s): two
    more make the window wide enough for a busy machine."""
    server = start_server(cli, tmp_path)  # its own: the throttle is per process
    try:
        with http_client(server.url) as http:
            ben = unlock_member(http, "ben", TECH_PASS)
            nonce, vault_id = challenge(http, "ben")  # asked for before the failures
            failed_logins(http, "ben", FREE_FAILURES + 2)
            signature = ben.sign_login(vault_id, nonce).hex()
            right = {"user": "ben", "challenge": nonce.hex(), "signature": signature}
            refused = http.post("/v1/login", json=right)  # a good signature waits too
            assert_error(refused, 401, "AuthenticationFailed", "too many failed logins")
            dora = http.post("/v1/login/challenge", json={"user": "dora"})  # same address
            assert_error(dora, 401, "AuthenticationFailed", "too many failed logins")
        events = cli.sql(
            "SELECT count(*) FROM access_event WHERE action = 'unlock' AND outcome = 'failed'"
        )
        assert events == [(FREE_FAILURES + 2,)]  # each counted failure is in the log
    finally:
        server.stop()


def forged_tokens(ben_token: str, ben: tuple[int, bytes]) -> dict[str, str]:
    last = ben_token[-1]
    return {
        "altered": ben_token[:-1] + ("A" if last != "A" else "B"),
        "other-member": Tokens(os.urandom(32)).issue(*ben)[0],  # another server's secret
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["altered", "other-member", "garbage"])
def test_a_forged_or_altered_token_is_refused(
    sqlite_served: Server, http: httpx.Client, ben: Member, kind: str
) -> None:
    token = login(http, ben).json()["token"]
    ((ben_id, key),) = sqlite_served.cli.sql(
        "SELECT id, signing_public_key FROM technician WHERE username = 'ben'"
    )
    forged = forged_tokens(token, (ben_id, bytes(key)))[kind]
    answer = http.get("/v1/log", params={"from": 1}, headers={"authorization": f"Bearer {forged}"})
    assert_error(answer, 401, "AuthenticationFailed", "session token")
    assert http.get("/v1/log", params={"from": 1}).status_code == 401  # no token at all


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_64_kib_is_refused_with_a_json_error(http: httpx.Client, chunked: bool) -> None:
    raw = b'{"user": "' + b"x" * MAX_BODY + b'"}'
    content = iter([raw[:1000], raw[1000:]]) if chunked else raw
    answer = http.post("/v1/login/challenge", content=content)
    assert 400 <= answer.status_code < 500
    assert_error(answer, answer.status_code, "UsageError", "at most 65536 bytes")
    assert http.get("/health").json() == {"status": "ok"}


def test_a_body_over_64_kib_is_413_as_the_document_says(http: httpx.Client) -> None:
    answer = http.post("/v1/login/challenge", content=b"{" + b" " * (MAX_BODY + 1) + b"}")
    assert answer.status_code == 413


def test_unknown_endpoints_and_methods_answer_json(http: httpx.Client) -> None:
    assert_error(http.get("/v1/nothing-here"), 404, "UsageError", "no such endpoint")
    assert_error(http.get("/v1/login"), 405, "UsageError", "GET is not allowed")


def test_the_openapi_document_lists_every_route_the_app_serves(
    sqlite_served: Server, http: httpx.Client
) -> None:
    vault = Custodian.open(sqlite_served.cli.db)
    try:
        app = create_app(Served(vault), Tokens(bytes(32)))
    finally:
        vault.close()
    routes = {
        (route.path, method.lower())
        for route in app.routes
        for method in getattr(route, "methods", ()) or ()
        if method != "HEAD"  # Starlette adds it to every GET
    }
    doc = http.get("/v1/openapi.json").json()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    # The document does not list itself (as FastAPI's does not); everything else is in it.
    assert documented == routes - {("/v1/openapi.json", "get")}
    assert len(routes) >= 10


def test_no_documented_success_is_an_error(http: httpx.Client) -> None:
    doc = http.get("/v1/openapi.json").json()
    error = "#/components/schemas/Error"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            success = op["responses"]["200"].get("content", {}).get("application/json", {})
            assert success.get("schema", {}).get("$ref") != error, (method, path)


MALFORMED = [
    ("/v1/reveal/prepare", {"path": "acme/dc01", "from": 1}),
    ("/v1/reveal/prepare", {"path": "acme/dc01/administrator", "from": -1}),
    ("/v1/reveal/prepare", {"path": "acme/dc01/administrator", "from": "one"}),
    ("/v1/reveal/prepare", {"path": "acme/dc01/administrator", "from": 1, "version": "2"}),
    ("/v1/reveal/prepare", {"path": "acme/dc01/administrator", "from": 1, "version": True}),
    ("/v1/reveal/prepare", {"path": "acme/dc01/administrator", "from": 1, "version": 0}),
    ("/v1/reveal/prepare", {"path": "acme/dc01/administrator", "from": 1, "field": 5}),
    ("/v1/reveal/prepare", {"path": ["acme"], "from": 1}),
    ("/v1/reveal", {"path": "acme/dc01/administrator", "lease": "not-a-lease"}),
    ("/v1/reveal", {"path": "acme/dc01/administrator", "lease": 7}),
    ("/v1/lease/release", {"lease": None}),
    ("/v1/credentials", {"from": 1, "retired": "yes"}),
    ("/v1/credentials", {"from": 1, "retired": ["only"]}),
]


@pytest.mark.parametrize(("path", "body"), MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_a_malformed_request_is_a_4xx_json_error(
    http: httpx.Client, ben: Member, path: str, body: dict[str, object]
) -> None:
    token = login(http, ben).json()["token"]
    answer = http.post(path, json=body, headers={"authorization": f"Bearer {token}"})
    assert 400 <= answer.status_code < 500, answer.text
    assert set(answer.json()["error"]) == {"type", "exit", "message"}


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(http: httpx.Client, raw: bytes) -> None:
    assert_error(http.post("/v1/login/challenge", content=raw), 400, "UsageError", "JSON")
